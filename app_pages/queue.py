"""The queue: every open case, who has it, how urgent and how old, its next SLA deadline, possible duplicates
flagged; claim from here, or select several and claim, assign, move or close them at once."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import REFUSALS, current_user, deadline_text, md, refuse, workspace
from app_pages.i18n import language, t
from kb.vocab import PRIORITIES, RESOLVED_STATUSES
from pipeline.desk import bulk, casework
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
            "version": e.case.version,
        }
        for e in entries
    ],
    columns=["id", "title", "status", "owner", "priority", "deadline", "category", "requester", "age",
             "duplicate_of", "sla", "version"],
)  # fmt: skip
# The versions the table showed before the click being handled now: a bulk action is checked against these, so a
# case changed since it was drawn is refused alone.
shown = dict(zip(table["id"].astype(int), table["version"].astype(int), strict=True))
seen_versions = st.session_state.get("queue_seen", shown)
st.session_state["queue_seen"] = shown
outcome = st.session_state.pop("queue_outcome", None)
if outcome is not None:
    (st.warning if outcome.refused else st.success)(t(outcome.phrase), icon=":material/done_all:")
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
    selection_mode="multi-row",
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


def bulk_actions(ids: list[int]) -> None:
    """Claim, assign, move or close the selected cases; the outcome names each case refused and why."""
    action_column, to_column, go_column = st.columns([2, 2, 1], vertical_alignment="bottom")
    action = action_column.segmented_control(
        t("desk_bulk_action", n=len(ids)), bulk.ACTIONS, format_func=lambda a: t(f"desk_bulk_{a}"), key="queue_bulk"
    )
    to = None
    if action == "assign":
        to = to_column.selectbox(t("desk_bulk_to"), bulk.assignees(ws), index=None, placeholder=t("choose"),
                                 key="queue_bulk_assignee")  # fmt: skip
    elif action == "move":
        to = to_column.selectbox(t("move_to"), open_statuses, format_func=lambda s: ws.workflow.label(s, language()),
                                 index=None, placeholder=t("choose"), key="queue_bulk_status")  # fmt: skip
    ready = action is not None and (action in ("claim", "close") or to is not None)
    if go_column.button(t("desk_bulk_apply", n=len(ids)), key="queue_bulk_apply", disabled=not ready):
        seen = {i: seen_versions.get(i, shown[i]) for i in ids}
        try:
            st.session_state["queue_outcome"] = bulk.run(ws, action, seen, actor=user, to=to)
        except REFUSALS as exc:
            refuse(exc)
        else:
            st.rerun()


if len(rows) > 1:
    bulk_actions([int(table.iloc[r]["id"]) for r in rows])
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
