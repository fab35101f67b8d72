"""The trends page's way from a recurring cluster to a problem record: a button that makes one of the cluster's
cases (and opens it), or, where its cases are linked to a problem already, a link to that problem."""

from __future__ import annotations

import pandas as pd
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


def open_problems(ws: Workspace) -> None:
    """The problems still open (and known errors), the oldest first, with how many cases each gathers: the review's
    look at where root causes wait."""
    rows = problems.listing(ws, ("open", "known_error"), sort="age")
    st.markdown(f"#### {t('problems_review_heading')}")
    if not rows:
        st.info(t("problems_review_none"))
        return
    st.caption(t("problems_review_help"))
    frame = pd.DataFrame(
        {
            "title": [f"#{r.problem.id} {r.problem.title}" for r in rows],
            "age": [r.age.days for r in rows],
            "linked": [r.linked for r in rows],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "title": st.column_config.TextColumn(t("problems_title"), width="large"),
            "age": st.column_config.NumberColumn(t("problems_age_days"), format="%d"),
            "linked": st.column_config.ProgressColumn(
                t("problems_linked"), format="%d", min_value=0, max_value=max(r.linked for r in rows) or 1
            ),
        },
    )
    st.page_link("app_pages/problems.py", label=t("problems_review_open_page"), icon=":material/bug_report:")
