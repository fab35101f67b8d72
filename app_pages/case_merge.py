"""The case page's merge section: a case merged into another says so and links there; cases merged into this one
are named; "Merge into…" offers the possible duplicates the desk finds first, or any case number."""

from __future__ import annotations

import streamlit as st

from app_pages.common import act, md
from app_pages.i18n import t
from kb.vocab import RESOLVED_STATUSES
from pipeline import Workspace
from pipeline.access import Account
from pipeline.desk import merge
from pipeline.desk.casework import CaseFile
from pipeline.triage.suggest import Triage


def show(ws: Workspace, case: CaseFile, user: Account, seen: int, triaged: Triage | None) -> None:
    incident = case.incident
    merged = ws.kb.merge_of(incident.id)
    if merged is not None:
        st.info(
            t("desk_merged_into", id=merged.original_id, by=md(merged.merged_by), at=merged.merged_at),
            icon=":material/call_merge:",
        )
        # A button, not a link to this same page: the case number box keeps its own value over a link's.
        st.button(t("open_case", id=merged.original_id), key=f"desk_merged_open_{incident.id}",
                  on_click=lambda: st.session_state.update(case_id=merged.original_id))  # fmt: skip
        return
    here = ws.kb.merged_into(incident.id)
    if here:
        st.caption(t("desk_merged_here", ids=", ".join(f"#{m.duplicate_id}" for m in here)))
    if incident.status in RESOLVED_STATUSES or not merge.may_merge(incident, user):
        return
    possible = [d.incident.id for d in triaged.duplicates] if triaged else []
    offered = merge.candidates(ws, incident, possible)
    titles = {c.id: c.title for c in ws.kb.incidents(offered)}
    with st.expander(t("desk_merge_into"), icon=":material/call_merge:", expanded=bool(offered)):
        st.caption(t("desk_merge_help", id=incident.id))
        choice = st.radio(
            t("desk_merge_offered"),
            [*offered, None],
            format_func=lambda i: t("desk_merge_other") if i is None else f"#{i} · {md(titles.get(i, ''))}",
            key=f"desk_merge_choice_{incident.id}",
        )
        other = st.number_input(
            t("case_number"), min_value=1, step=1, value=None, key=f"desk_merge_other_{incident.id}",
            disabled=choice is not None,
        )  # fmt: skip
        into = choice if choice is not None else other
        if st.button(t("desk_merge"), key=f"desk_merge_submit_{incident.id}", disabled=into is None, type="primary"):
            act(merge.merge, ws, incident.id, int(into), version=seen)
