"""Triage: paste a report; get category, priority and escalation level with confidence and reasons, the escalation
checklist, and the similar resolved incidents behind the suggestions."""

from __future__ import annotations

import streamlit as st

from app_pages.common import case_card, duplicate_banners, md, progress_bar, ready_workspace
from kb.vocab import ESCALATION_LABELS
from pipeline import ReportError, Suggestion, SuggestionModelUnavailable, Triage
from pipeline.settings import CRITERIA
from pipeline.suggest import with_ticks

CRITERION_KEY = "criterion_{}"

st.session_state.setdefault("triage_text", None)
st.session_state.setdefault("triage_result", None)

st.title("Triage")
st.caption(
    "Paste what the requester wrote, in Japanese or English: the assistant suggests category, priority and "
    "escalation level where it is sure enough, says so where it is not, and shows the past cases behind it."
)

ws = ready_workspace()
if ws.kb.count_resolved() == 0:
    st.warning("The knowledge base has no resolved incidents yet: run `incident-kb demo` or `incident-kb import FILE`.")
    st.stop()

with st.form("triage_form"):
    report = st.text_area(
        "Report",
        key="triage_report",
        height=160,
        max_chars=ws.settings.max_report_chars,
        placeholder="例: 今朝からVPNに接続できません。エラー809が出ます。 / e.g. Outlook keeps asking for my password.",
    )
    k = st.slider("Similar cases to show", 1, 30, ws.settings.search_top_k, key="triage_k")
    submitted = st.form_submit_button("Suggest", type="primary", key="triage_submit")

if submitted:
    st.session_state["triage_text"] = report
    st.session_state["triage_result"] = None
    for key in CRITERIA:
        st.session_state.pop(CRITERION_KEY.format(key), None)  # a new report starts from the proposals

text = st.session_state["triage_text"]
if text is None:
    st.stop()

# Suggestions are computed once per submitted report; ticking a criterion only recomputes the level.
result: Triage | None = st.session_state.get("triage_result")
if result is None:
    try:
        with st.spinner("Thinking…"):
            result = st.session_state["triage_result"] = ws.triage(text, k=k)
    except ReportError as exc:
        st.warning(str(exc))
        st.stop()
    except SuggestionModelUnavailable as exc:
        st.warning(f"No suggestions: {exc}.")
        if st.button("Train the suggestion models now", key="triage_train"):
            record = ws.train(actor="app", progress=progress_bar)
            st.success(f"Model version {record.id} trained on {record.n_train:,} cases and made active.")
            st.rerun()
        st.stop()
if all(CRITERION_KEY.format(key) in st.session_state for key in CRITERIA):
    result = with_ticks(result, {key for key in CRITERIA if st.session_state[CRITERION_KEY.format(key)]})


def label(s: Suggestion, value: str) -> str:
    return ESCALATION_LABELS.get(value, value) if s.target == "escalation_level" else value


def show(s: Suggestion | None, title: str) -> None:
    """One suggestion as a card: the value (or 'not sure' with the candidates), how sure, and why on demand."""
    with st.container(border=True, key=f"suggestion_{title.lower().replace(' ', '_')}"):
        st.markdown(f"**{title}**")
        if s is None:
            st.caption("No model for this yet (too few labelled cases).")
            return
        if s.abstained:
            st.markdown("### Not sure")
            st.caption(" · ".join(f"{md(label(s, value))} {p:.0%}" for value, p in s.candidates))
        else:
            st.markdown(f"### {md(label(s, s.value))}")
            if s.source == "model":
                st.progress(s.confidence, text=f"{s.confidence:.0%} confident")
            else:
                st.caption(f"set by the {md(s.source)} rule")
        st.caption(md(s.reason))
        with st.expander("Why?"):
            if s.terms:
                st.markdown("Words that weighed most: " + ", ".join(f"`{term}`" for term, _ in s.terms))
            if s.supporters:
                st.markdown("Similar past cases with this label:")
                for sup in s.supporters[:5]:
                    st.page_link(
                        "app_pages/case.py",
                        label=f"#{sup.incident_id} · similarity {sup.similarity:.2f} · {sup.label}",
                        query_params={"id": sup.incident_id},
                    )
            st.caption(
                "Candidates: "
                + ", ".join(f"{md(label(s, value))} {p:.0%}" for value, p in s.candidates)
                + (f" · suggested on its own from {s.threshold:.0%}" if s.threshold < float("inf") else "")
            )


columns = st.columns(3)
with columns[0]:
    show(result.category, "Category")
with columns[1]:
    show(result.priority, "Priority")
    if result.impact is not None and result.urgency is not None:
        impact = result.impact.value or f"not sure ({result.impact.best}?)"
        urgency = result.urgency.value or f"not sure ({result.urgency.best}?)"
        st.caption(f"Impact {md(impact)} · urgency {md(urgency)}")
with columns[2]:
    show(result.escalation, "Escalation level")

st.subheader("Escalation checklist")
st.caption("The four criteria of the escalation guide. The assistant ticks what it finds; tick or untick as you judge.")
for criterion in result.criteria:
    key = CRITERION_KEY.format(criterion.key)
    st.checkbox(
        f"{criterion.label} → at least {ESCALATION_LABELS[criterion.raises_to]}",
        value=criterion.ticked,
        key=key,
        help=criterion.reason or None,
    )
    if criterion.proposed:
        st.caption(f"Proposed by the assistant: {md(criterion.reason)}")
for note in result.notes:
    st.caption(md(note))
if result.model_version is not None:
    st.caption(f"Suggestion model version {result.model_version}")

duplicate_banners(result.duplicates)

st.subheader("Similar resolved cases")
if not result.similar:
    st.info("No resolved incident is similar enough to show.")
for case in result.similar:
    case_card(case)
