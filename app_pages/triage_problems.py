"""Triage's known errors: where a report is like a case linked to a known error, that problem's workaround, above
the similar cases (from the cases triage found; no second search)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import md
from app_pages.i18n import t
from pipeline import Workspace
from pipeline.knowledge import problems
from pipeline.triage.suggest import Triage


def show(ws: Workspace, result: Triage) -> None:
    for match in problems.known_errors_for(ws, [*result.similar, *result.duplicates]):
        problem = match.problem
        heading = t(
            "problems_known_error_match",
            id=problem.id,
            title=md(problem.title),
            case=match.case.id,
            similarity=f"{match.similarity:.2f}",
        )
        with st.container(border=True, key=f"triage_known_error_{problem.id}"):
            st.markdown(f":material/build: {heading}")
            st.markdown(md(t("problems_workaround_is", workaround=problem.workaround)))
            st.page_link(
                "app_pages/problems.py", label=t("problems_open", id=problem.id), query_params={"id": problem.id}
            )
