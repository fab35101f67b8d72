"""The Streamlit entry point: page setup, navigation and the shared sidebar. Run with `make run`."""

from __future__ import annotations

import streamlit as st

from app_pages.common import sidebar, workspace
from app_pages.i18n import t
from pipeline.desk import people

st.set_page_config(page_title="incident-kb", page_icon=":material/support_agent:", layout="wide")
sidebar()  # first: it sets the language the page titles below are in
review = [
    st.Page("app_pages/trends.py", title=t("nav_trends"), icon=":material/trending_up:"),
    st.Page("app_pages/quality.py", title=t("nav_quality"), icon=":material/fact_check:"),
    st.Page("app_pages/thresholds.py", title=t("nav_thresholds"), icon=":material/tune:"),
    st.Page("app_pages/models.py", title=t("nav_models"), icon=":material/model_training:"),
    st.Page("app_pages/escalations.py", title=t("nav_escalations"), icon=":material/escalator_warning:"),
    st.Page("app_pages/health.py", title=t("nav_health"), icon=":material/health_and_safety:"),
]
page = st.navigation(
    {
        t("nav_desk"): [
            st.Page("app_pages/queue.py", title=t("nav_queue"), icon=":material/inbox:", default=True),
            st.Page("app_pages/intake.py", title=t("nav_intake"), icon=":material/move_to_inbox:"),
            st.Page("app_pages/case.py", title=t("nav_case"), icon=":material/description:"),
            st.Page("app_pages/requester.py", title=t("nav_requester"), icon=":material/person:"),
        ],
        t("nav_knowledge"): [
            st.Page("app_pages/triage.py", title=t("nav_triage"), icon=":material/assignment_turned_in:"),
            st.Page("app_pages/search.py", title=t("nav_search"), icon=":material/search:"),
        ],
        t("nav_setup"): [
            st.Page("app_pages/templates.py", title=t("nav_templates"), icon=":material/quickreply:"),
            st.Page("app_pages/team.py", title=t("nav_team"), icon=":material/group:"),
        ],
        # Only leads and admins see the review (the pages check again: a link can be shared).
        **({t("nav_review"): review} if people.may_review(workspace(), st.session_state.get("user")) else {}),
    },
    expanded=True,  # every page in sight: a lead should not have to find "View more"
)
page.run()
