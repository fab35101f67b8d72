"""Similar cases: paste a report, see the most similar resolved incidents and how they were resolved."""

from __future__ import annotations

import streamlit as st

from app_pages.common import md, ready_workspace
from kb.vocab import ESCALATION_LABELS
from pipeline import ReportError

st.session_state.setdefault("similar_results", None)

st.title("Similar cases")
st.caption("Paste what the requester wrote, in Japanese or English: the closest resolved incidents come first.")

ws = ready_workspace()
if ws.kb.count_resolved() == 0:
    st.warning("The knowledge base has no resolved incidents yet: run `incident-kb demo` or `incident-kb import FILE`.")
    st.stop()

with st.form("similar_form"):
    report = st.text_area(
        "Report",
        key="similar_report",
        height=160,
        max_chars=ws.settings.max_report_chars,
        placeholder="例: 今朝からVPNに接続できません。エラー809が出ます。 / e.g. Outlook keeps asking for my password.",
    )
    k = st.slider("How many cases", 1, 30, ws.settings.search_top_k, key="similar_k")
    submitted = st.form_submit_button("Find similar cases", type="primary", key="similar_submit")

if submitted:
    try:
        st.session_state["similar_results"] = ws.similar_cases(report, k=k)
    except ReportError as exc:
        st.session_state["similar_results"] = None
        st.warning(str(exc))

results = st.session_state["similar_results"]
if results is not None:
    if not results:
        st.info("No resolved incident is similar enough to show.")
    for case in results:
        incident = case.incident
        with st.container(border=True, key=f"similar_case_{incident.id}"):
            head, score = st.columns([5, 1])
            head.markdown(f"**#{incident.id}** · {md(incident.title)}")
            score.progress(max(case.similarity, 0.0), text=f"similarity {case.similarity:.2f}")
            level = ESCALATION_LABELS.get(incident.escalation_level or "", incident.escalation_level or "—")
            st.caption(
                " · ".join(
                    md(part)
                    for part in (
                        incident.category or "no category",
                        incident.priority or "no priority",
                        f"escalation: {level}",
                        "日本語" if incident.language == "ja" else "English",
                        f"resolved {incident.resolved_at:%Y-%m-%d}" if incident.resolved_at else incident.status,
                    )
                )
            )
            st.markdown("**Resolution**")
            st.text(incident.resolution or "(no resolution recorded)")
            if incident.root_cause:
                st.markdown("**Root cause**")
                st.text(incident.root_cause)
            with st.expander("Original report"):
                st.text(incident.body or incident.title)
            st.page_link("app_pages/case.py", label=f"Open case #{incident.id}", query_params={"id": incident.id})
