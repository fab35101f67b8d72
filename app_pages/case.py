"""One case: the incident as reported, its labels, how it was resolved, the requester and the full history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import md, workspace
from kb import IncidentNotFound
from kb.vocab import ESCALATION_LABELS

st.title("Case")
ws = workspace()
default = st.query_params.get("id", "")
case_id = st.number_input(
    "Case number", min_value=1, step=1, value=int(default) if default.isdigit() else None, key="case_id"
)
if case_id is None:
    st.info("Enter a case number, or open a case from the similar cases.")
    st.stop()
st.query_params["id"] = str(case_id)
try:
    case = ws.case(int(case_id))
except IncidentNotFound as exc:
    st.warning(str(exc))
    st.stop()

incident = case.incident
st.subheader(f"#{incident.id} · {md(incident.title)}")
columns = st.columns(5)
for column, (label, value) in zip(
    columns,
    (
        ("Status", incident.status),
        ("Category", incident.category or "—"),
        ("Priority", incident.priority or "—"),
        ("Escalation", ESCALATION_LABELS.get(incident.escalation_level or "", "—")),
        ("Assignee", incident.assignee or "unassigned"),
    ),
    strict=True,
):
    column.caption(label)
    column.text(value)

report, resolution = st.columns(2)
with report:
    st.markdown("**Report**")
    st.text(incident.body or incident.title)
    st.caption(
        f"Opened {incident.created_at:%Y-%m-%d %H:%M} UTC · {'日本語' if incident.language == 'ja' else 'English'}"
    )
with resolution:
    st.markdown("**Resolution**")
    st.text(incident.resolution or "(not resolved yet)")
    if incident.root_cause:
        st.markdown("**Root cause**")
        st.text(incident.root_cause)
if case.requester:
    st.markdown("**Requester**")
    st.text(
        f"{case.requester.name} ({case.requester.department or 'no department'}): {', '.join(case.requester.emails)}"
    )

st.markdown("**History**")
st.dataframe(
    pd.DataFrame(
        [
            {
                "when (UTC)": e.at,
                "who": e.actor,
                "what": e.action,
                "field": e.field,
                "from": e.old_value,
                "to": e.new_value,
            }
            for e in case.history
        ]
    ),
    hide_index=True,
    width="stretch",
)
