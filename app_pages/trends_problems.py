"""The trends page's way from a recurring cluster to a problem record: a button that makes one of the cluster's
cases (and opens it), or, where its cases are linked to a problem already, a link to that problem."""

from __future__ import annotations

import streamlit as st

from app_pages.common import REFUSALS, current_user, md, refuse
from app_pages.i18n import t
from pipeline import Workspace
from pipeline.knowledge import problems


def offer(ws: Workspace, number: int, label: str, case_ids: list[int]) -> None:
    existing = problems.problem_for_cases(ws, case_ids)
    if existing is not None:
        st.page_link(
            "app_pages/problems.py",
            label=t("problems_cluster_has", id=existing.id, title=md(existing.title)),
            query_params={"id": existing.id},
            icon=":material/bug_report:",
        )
    elif st.button(t("problems_from_cluster"), key=f"trends_make_problem_{number}", icon=":material/bug_report:"):
        try:
            made = problems.from_cluster(ws, label, case_ids, actor=current_user())
        except REFUSALS as exc:
            refuse(exc)
        else:
            st.switch_page("app_pages/problems.py", query_params={"id": str(made.id)})
