"""Sign in: the only page a browser reaches before it has. With a name (or e-mail) and password, or through the
company's single sign-on where it is set up; on the demo it says which accounts to try and their password."""

from __future__ import annotations

import streamlit as st

from app_pages.common import ACCOUNT, REFUSALS, SESSION_TOKEN, SSO_REFUSED, md, refuse, sso_configured, workspace
from app_pages.i18n import t
from pipeline import access
from pipeline.demo import demo_password

ws = workspace()
st.title(t("sign_in_title"))
if refused := st.session_state.pop(SSO_REFUSED, None):
    st.error(md(t(refused)), icon=":material/block:")
    if st.button(t("sign_out_sso"), key="sso_logout"):
        st.logout()
if not ws.kb.users(active_only=False):
    st.info(t("no_accounts_yet"), icon=":material/person_add:")
    st.stop()

with st.form("sign_in_form"):
    login = st.text_input(t("sign_in_login"), key="sign_in_login", autocomplete="username", max_chars=320)
    password = st.text_input(
        t("password"), type="password", key="sign_in_password", autocomplete="current-password", max_chars=1024
    )
    if st.form_submit_button(t("sign_in"), type="primary", key="sign_in_submit"):
        try:
            session = access.sign_in(ws.kb, ws.settings, login, password)
        except REFUSALS as exc:  # wrong, locked, or the database busy
            refuse(exc)
        else:
            st.session_state[SESSION_TOKEN] = session.token
            st.session_state[ACCOUNT] = session.account
            st.rerun()
if sso_configured():
    st.button(t("sign_in_sso"), key="sign_in_sso", on_click=st.login, icon=":material/badge:")

if password := demo_password(ws.kb, ws.settings):
    with st.container(border=True):
        st.markdown(t("demo_accounts", password=password))  # a constant of ours, shown as code
        st.dataframe(
            [{t("name"): u.name, t("role"): t("role_" + u.role), t("email"): u.email} for u in ws.kb.users()],
            hide_index=True,
        )
