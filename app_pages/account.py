"""Your account: who you are signed in as, and changing your own password."""

from __future__ import annotations

import streamlit as st

from app_pages import notice_choices
from app_pages.common import REFUSALS, SESSION_TOKEN, current_user, md, refuse, workspace
from app_pages.i18n import t
from pipeline import access

ws = workspace()
account = current_user()
st.title(t("account_title"))
st.markdown(f"**{md(account.name)}** · {t('role_' + account.role)} · {md(account.email or '—')}")

with st.form("password_form", clear_on_submit=True):
    st.subheader(t("change_password"))
    current = st.text_input(t("current_password"), type="password", key="password_current")
    new = st.text_input(t("new_password"), type="password", key="password_new")
    again = st.text_input(t("new_password_again"), type="password", key="password_again")
    if st.form_submit_button(t("change_password"), key="password_submit"):
        if new != again:
            st.error(t("passwords_differ"))
        else:
            try:
                session = access.change_password(ws.kb, ws.settings, current, new, actor=account)
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.session_state[SESSION_TOKEN] = session.token  # the other sessions ended; this one goes on
                st.success(t("password_changed"))

notice_choices.show(ws, account)
