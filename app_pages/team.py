"""The team: who signs in, with which role (agent, lead, admin). Everyone sees it; admins change it (the pipeline
refuses anyone else): add an account, set its role or e-mail, disable it, reset its password."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import act, current_user, workspace
from app_pages.i18n import t
from kb.vocab import ROLES
from pipeline import access

st.title(t("team_title"))
ws = workspace()
everyone = ws.kb.users(active_only=False)
st.dataframe(
    pd.DataFrame(
        [
            {
                t("name"): u.name,
                t("role"): t("role_" + u.role),
                t("email"): u.email or "",
                t("active"): u.active,
                t("locked"): access.locked(u),
                t("last_sign_in"): u.last_sign_in_at,
            }
            for u in everyone
        ],
    ),
    hide_index=True,
    width="stretch",
    column_config={t("last_sign_in"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
)
if current_user().role not in access.ADMINS:
    st.info(t("admins_only"))
    st.stop()


def role_label(role: str) -> str:
    return t("role_" + role)


with st.form("team_form", clear_on_submit=True):
    st.subheader(t("add_user"))
    name, email, role, password = st.columns([2, 2, 1, 2])
    new_name = name.text_input(t("name"), key="team_name")
    new_email = email.text_input(t("email"), key="team_email")
    new_role = role.selectbox(t("role"), ROLES, format_func=role_label, key="team_role")
    new_password = password.text_input(t("first_password"), type="password", key="team_password")
    if st.form_submit_button(t("add_user"), key="team_add"):
        act(access.add_account, ws.kb, new_name, new_role, email=new_email, password=new_password or None)

by_name = {u.name: u for u in everyone}
who = st.selectbox(t("change_user"), list(by_name), index=None, placeholder=t("choose"), key="team_pick")
if who is not None:
    member = by_name[who]
    role_column, email_column, active_column, save_column = st.columns([2, 3, 1, 1], vertical_alignment="bottom")
    role = role_column.selectbox(
        t("role"), ROLES, index=ROLES.index(member.role), format_func=role_label, key="team_new_role"
    )
    email = email_column.text_input(t("email"), value=member.email or "", key="team_new_email")
    active = active_column.checkbox(t("active"), value=member.active, key="team_active")
    if save_column.button(t("save"), key="team_save"):
        act(access.update_account, ws.kb, member.id, role=role, email=email, active=active)
    with st.form("team_reset", clear_on_submit=True):
        reset = st.text_input(t("new_password"), type="password", key="team_reset_password")
        if st.form_submit_button(t("reset_password"), key="team_reset_submit"):
            act(access.reset_password, ws.kb, member.id, reset)
