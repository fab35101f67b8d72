"""The reply Templates page's section for admins: how each notice reads, in English and Japanese."""

from __future__ import annotations

import streamlit as st

from app_pages.common import REFUSALS, act, refuse
from app_pages.i18n import LANGUAGES, t
from pipeline import Workspace
from pipeline.access import Account
from pipeline.channels import notice_texts


def show(ws: Workspace, user: Account) -> None:
    if user.role != "admin":
        return
    st.subheader(t("out_wordings_heading"))
    st.caption(t("out_wordings_help", names=", ".join(f"${{{p}}}" for p in notice_texts.PLACEHOLDERS)))
    kind_column, language_column = st.columns(2)
    kind = kind_column.selectbox(
        t("out_notice"), notice_texts.KINDS, format_func=lambda k: t(f"out_kind_{k}"), key="wording_kind"
    )
    language = language_column.selectbox(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="wording_lang")
    now = notice_texts.wordings(ws)[kind, language]
    with st.form("wording_form"):
        subject = st.text_input(t("subject"), value=now.subject, key=f"wording_subject_{kind}_{language}")
        body = st.text_area(t("message"), value=now.body, height=200, key=f"wording_body_{kind}_{language}")
        if st.form_submit_button(t("out_save_wording"), key="wording_save"):
            try:
                notice_texts.save_wording(ws, kind, language, subject=subject, body=body, actor=user)
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.success(t("out_wording_saved"))
    if now.edited_by is not None and st.button(t("out_reset_wording"), key="wording_reset"):
        act(notice_texts.reset_wording, ws, kind, language)
