"""The team: who works in the tool and with which role (agent, lead, admin). Admins change it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import REFUSALS, act, refuse, workspace
from app_pages.i18n import t
from kb.vocab import ROLES
from pipeline.desk import people

st.title(t("team_title"))
ws = workspace()
everyone = ws.kb.users(active_only=False)
user = st.session_state.get("user")
admins = {u.name for u in everyone if u.role == "admin" and u.active}
st.dataframe(
    pd.DataFrame(
        [{t("name"): u.name, t("role"): t("role_" + u.role), t("active"): u.active} for u in everyone],
        columns=[t("name"), t("role"), t("active")],
    ),
    hide_index=True,
    width="stretch",
)
# Until someone is an admin, anyone may add the first people; afterwards only admins change the team.
if admins and user not in admins:
    st.info(t("admins_only"))
    st.stop()

with st.form("team_form", clear_on_submit=True):
    name, role = st.columns([3, 1])
    new_name = name.text_input(t("name"), key="team_name")
    new_role = role.selectbox(
        t("role"), ROLES, format_func=lambda r: t("role_" + r), placeholder=t("choose"), key="team_role"
    )
    if st.form_submit_button(t("add_user"), key="team_add"):
        if user:
            act(people.add_user, ws, new_name, new_role)
        else:  # nobody to record it under yet: the first people are added by "setup"
            try:
                people.add_user(ws, new_name, new_role, user="setup")
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.rerun()

by_name = {u.name: u for u in everyone}
who = st.selectbox(t("change_user"), list(by_name), index=None, placeholder=t("choose"), key="team_pick")
if who is not None:
    member = by_name[who]
    role_column, active_column, save_column = st.columns([2, 1, 1], vertical_alignment="bottom")
    role = role_column.selectbox(
        t("role"),
        ROLES,
        index=ROLES.index(member.role),
        format_func=lambda r: t("role_" + r),
        placeholder=t("choose"),
        key="team_new_role",
    )
    active = active_column.checkbox(t("active"), value=member.active, key="team_active")
    if save_column.button(t("save"), key="team_save"):
        act(people.set_user, ws, member.id, role=role, active=active)
