"""The queue: every open case, who has it, how urgent and how old, its next SLA deadline, possible duplicates
flagged; claim from here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import REFUSALS, current_user, deadline_text, md, refuse, workspace
from app_pages.i18n import language, t
from kb.vocab import PRIORITIES, RESOLVED_STATUSES
from pipeline.desk import casework
from pipeline.desk.queue import SORTS, VIEWS, queue
from pipeline.desk.sla import STATES
from words import duration

st.title(t("queue_title"))
ws = workspace()
user = current_user()

view_column, sort_column = st.columns([3, 1])
view = view_column.segmented_control(
    t("view"), VIEWS, format_func=lambda v: t(f"view_{v}"), default="all", required=True, key="queue_view"
)
sort = sort_column.selectbox(
    t("sort_by"), SORTS, format_func=lambda s: t(f"sort_{s}"), placeholder=t("choose"), key="queue_sort"
)
left, middle, right, sla_column = st.columns(4)
open_statuses = [s for s in ws.workflow.statuses if s not in RESOLVED_STATUSES]
statuses = left.multiselect(
    t("status"),
    open_statuses,
    format_func=lambda s: ws.workflow.label(s, language()),
    placeholder=t("choose"),
    key="queue_statuses",
)
priorities = middle.multiselect(t("priority"), PRIORITIES, placeholder=t("choose"), key="queue_priorities")
categories = right.multiselect(t("category"), ws.kb.categories(), placeholder=t("choose"), key="queue_categories")
sla = sla_column.multiselect(
    t("sla"), STATES, format_func=lambda s: t(f"sla_state_{s}"), placeholder=t("choose"), key="queue_sla"
)
entries = queue(
    ws, view=view, user=user.name, statuses=statuses, priorities=priorities, categories=categories, sla=sla, sort=sort
)
table = pd.DataFrame(
    [
        {
            "id": e.case.id,
            "title": e.case.title,
            "status": ws.workflow.label(e.case.status, language()),
            "owner": e.case.assignee or "",
            "priority": e.case.priority or "",
            "deadline": deadline_text(e.deadline),
            "category": e.case.category or "",
            "requester": e.case.requester_name or "",
            "age": duration(e.age, language()),
            "duplicate_of": f"#{e.case.duplicate_of}" if e.case.duplicate_of else "",
            "sla": e.deadline.state if e.deadline else "",
        }
        for e in entries
    ],
    columns=["id", "title", "status", "owner", "priority", "deadline", "category", "requester", "age",
             "duplicate_of", "sla"],
)  # fmt: skip
states = table["sla"].value_counts()
st.caption(
    t("open_cases_shown", n=len(table))
    + " · "
    + t("sla_summary", breached=states.get("breached", 0), warning=states.get("warning", 0))
)
if table.empty:
    st.info(t("queue_empty"))
    st.stop()

shade = {
    "breached": "background-color: rgba(255, 75, 75, 0.2)",
    "warning": "background-color: rgba(255, 164, 33, 0.25)",
}
selection = st.dataframe(
    table.style.apply(lambda row: [shade.get(row["sla"], "") if c == "deadline" else "" for c in row.index], axis=1),
    hide_index=True,
    # The SLA clock next to the priority it follows; its state, clock and time left are in the words.
    column_order=[
        "id",
        "title",
        "status",
        "owner",
        "priority",
        "deadline",
        "category",
        "requester",
        "age",
        "duplicate_of",
    ],
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="queue_table",
    column_config={
        "id": st.column_config.NumberColumn("#", format="%d", width="small"),
        "title": st.column_config.TextColumn(t("title"), width="large"),
        "status": t("status"),
        "owner": t("owner"),
        "priority": t("priority"),
        "category": t("category"),
        "requester": t("requester"),
        "age": t("age"),
        "deadline": st.column_config.TextColumn(t("sla"), help=t("sla_help")),
        "duplicate_of": st.column_config.TextColumn(t("duplicate_of"), help=t("duplicate_help")),
    },
)
rows = selection.selection.rows
if not rows:
    st.caption(t("select_a_row"))
    st.stop()

picked = table.iloc[rows[0]]
case_id = int(picked["id"])
st.markdown(f"**#{case_id}** · {md(picked['title'])}")
open_column, claim_column = st.columns([1, 1])
open_column.page_link("app_pages/case.py", label=t("open_case", id=case_id), query_params={"id": case_id})
record = ws.kb.incident(case_id)
if record.assignee and not casework.claimable(ws, record, user):
    claim_column.caption(t("held_by", holder=md(record.assignee)))
elif record.assignee != user.name and claim_column.button(t("claim"), key="queue_claim", type="primary"):
    try:  # atomic: if someone claimed it since the table was drawn, this says who
        casework.claim(ws, case_id, actor=user)
    except REFUSALS as exc:
        refuse(exc)
    else:
        st.switch_page("app_pages/case.py", query_params={"id": case_id})
