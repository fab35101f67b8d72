"""The case page's problem record: the problem the case is linked to (its workaround, if it is a known error, where
the agent sees it first), a link to it, and unlink; or a problem to link the case to, by its number."""

from __future__ import annotations

import streamlit as st

from app_pages.common import act, md
from app_pages.i18n import t
from kb import IncidentRecord
from pipeline import Workspace
from pipeline.knowledge import problems


def show(ws: Workspace, incident: IncidentRecord) -> None:
    problem = problems.of_case(ws, incident.id)
    if problem is None:
        # A form: a number typed and the button pressed at once arrive together.
        with st.expander(t("problems_case_none")), st.form("case_problem_form", border=False):
            problem_id = st.number_input(t("problems_number"), min_value=1, step=1, value=None, key="case_problem_id")
            if st.form_submit_button(t("problems_link"), key="case_problem_link") and problem_id is not None:
                act(problems.link, ws, int(problem_id), incident.id)
        return
    status = t(f"problems_status_{problem.status}")
    line = t("problems_case_linked", id=problem.id, title=md(problem.title), status=status)
    if problem.status == "known_error":
        st.info(f"{line}  \n" + md(t("problems_workaround_is", workaround=problem.workaround)), icon=":material/build:")
    else:
        st.caption(line)
    link, unlink = st.columns([3, 1], vertical_alignment="center")
    link.page_link("app_pages/problems.py", label=t("problems_open", id=problem.id), query_params={"id": problem.id})
    if unlink.button(t("problems_unlink"), key="case_problem_unlink"):
        act(problems.unlink, ws, problem.id, incident.id)
