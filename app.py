"""The Streamlit entry point: page setup, sign-in, navigation by role and the shared sidebar. Run with `make run`."""

from __future__ import annotations

import streamlit as st

from app_pages.common import (
    errors_with_a_reference,
    go_to_destination,
    not_open_to_you,
    remember_destination,
    sidebar,
    signed_in,
)
from app_pages.i18n import t
from pipeline import access

st.set_page_config(page_title="incident-kb", page_icon=":material/support_agent:", layout="wide")
account = signed_in()
sidebar()  # after sign-in, before the pages: it sets the language the page titles below are in
sections = {
    t("nav_desk"): [
        st.Page("app_pages/queue.py", title=t("nav_queue"), icon=":material/inbox:", default=True),
        st.Page("app_pages/intake.py", title=t("nav_intake"), icon=":material/move_to_inbox:"),
        st.Page("app_pages/case.py", title=t("nav_case"), icon=":material/description:"),
        st.Page("app_pages/requester.py", title=t("nav_requester"), icon=":material/person:"),
    ],
    t("nav_knowledge"): [
        st.Page("app_pages/triage.py", title=t("nav_triage"), icon=":material/assignment_turned_in:"),
        st.Page("app_pages/search.py", title=t("nav_search"), icon=":material/search:"),
        st.Page("app_pages/articles.py", title=t("nav_articles"), icon=":material/menu_book:"),
        st.Page("app_pages/problems.py", title=t("problems_nav"), icon=":material/bug_report:"),
        st.Page("app_pages/drills.py", title=t("drills_nav"), icon=":material/school:"),
    ],
    t("nav_setup"): [
        st.Page("app_pages/templates.py", title=t("nav_templates"), icon=":material/quickreply:"),
        st.Page("app_pages/team.py", title=t("nav_team"), icon=":material/group:"),
        st.Page("app_pages/unfiled_mail.py", title=t("nav_unfiled_mail"), icon=":material/unsubscribe:"),
        st.Page("app_pages/account.py", title=t("nav_account"), icon=":material/key:"),
    ],
    t("nav_review"): [
        st.Page("app_pages/trends.py", title=t("nav_trends"), icon=":material/trending_up:"),
        st.Page("app_pages/quality.py", title=t("nav_quality"), icon=":material/fact_check:"),
        st.Page("app_pages/thresholds.py", title=t("nav_thresholds"), icon=":material/tune:"),
        st.Page("app_pages/models.py", title=t("nav_models"), icon=":material/model_training:"),
        st.Page("app_pages/escalations.py", title=t("nav_escalations"), icon=":material/escalator_warning:"),
        st.Page("app_pages/health.py", title=t("nav_health"), icon=":material/health_and_safety:"),
        st.Page("app_pages/satisfaction.py", title=t("desk_nav_satisfaction"), icon=":material/thumbs_up_down:"),
    ],
}
if account is None:  # the sign-in page is all a browser reaches before signing in, whatever address it asked for
    remember_destination()
    others = [p for pages in sections.values() for p in pages if p.url_path]  # the default page's is ""
    page = st.navigation(
        [st.Page("app_pages/sign_in.py", title=t("nav_sign_in"), icon=":material/login:", default=True)]
        + [st.Page("app_pages/sign_in.py", title=p.title, url_path=p.url_path, visibility="hidden") for p in others]
    )
else:
    # Only leads and admins see the review; its pages check again, and the pipeline checks what they change. For
    # anyone else a review page's address answers with a refusal, not Streamlit's "page not found".
    closed = [] if access.may_review(account) else sections.pop(t("nav_review"))
    if account.role not in access.ADMINS:  # the mail that could not be filed is for admins (the pipeline checks)
        setup = sections[t("nav_setup")]
        closed = [*closed, *(p for p in setup if p.url_path == "unfiled_mail")]
        sections[t("nav_setup")] = [p for p in setup if p.url_path != "unfiled_mail"]
    hidden = [st.Page(not_open_to_you, title=p.title, url_path=p.url_path, visibility="hidden") for p in closed]
    # Every page in sight: a lead should not have to find "View more".
    page = st.navigation({**sections, "": hidden} if hidden else sections, expanded=True)
    go_to_destination([p for pages in sections.values() for p in pages] + hidden)
with errors_with_a_reference():
    page.run()
