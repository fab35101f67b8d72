"""The account page's part on notices: which the signed-in person gets by e-mail and in the chat."""

from __future__ import annotations

import streamlit as st

from app_pages.common import REFUSALS, md, refuse
from app_pages.i18n import t
from pipeline import Workspace
from pipeline.access import Account
from pipeline.channels import notice_texts


def show(ws: Workspace, account: Account) -> None:
    if account.id is None:
        return
    st.subheader(t("out_notices_heading"))
    st.caption(md(t("out_notices_help", email=account.email or "—")))
    now = notice_texts.choices(ws, account.id)
    with st.form("notice_choices_form"):
        wanted = {}
        for kind in notice_texts.AGENT_KINDS:
            name, email, chat = st.columns([3, 1, 1])
            name.text(t(f"out_kind_{kind}"))
            for column, channel in ((email, "email"), (chat, "chat")):
                wanted[kind, channel] = column.checkbox(
                    t(f"out_channel_{channel}"), value=now[kind, channel], key=f"notice_{kind}_{channel}"
                )
        if st.form_submit_button(t("out_save_choices"), key="notice_choices_save"):
            try:
                notice_texts.choose(ws, account.id, wanted, actor=account)
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.success(t("out_choices_saved"))
