"""Intake: one window for every way a report arrives (typed, a CSV / JSON Lines file, e-mail); each lands in the
queue as new, with its suggestions computed and stored."""

from __future__ import annotations

import streamlit as st

from app_pages.common import REFUSALS, current_user, md, progress_bar, ready_workspace, refuse
from app_pages.i18n import t
from pipeline.desk import intake
from pipeline.text import ReportError

st.title(t("intake_title"))
ws = ready_workspace()
user = current_user()


def show_filed(ids: list[int]) -> None:
    for case_id in ids:
        st.page_link("app_pages/case.py", label=t("open_case", id=case_id), query_params={"id": case_id})


typed, uploaded = st.tabs([t("new_report"), t("upload_files")])
with typed, st.form("intake_form", clear_on_submit=True):
    title = st.text_input(t("subject"), key="intake_title", max_chars=300)
    body = st.text_area(t("report"), key="intake_body", height=160, max_chars=ws.settings.max_report_chars)
    left, right = st.columns(2)
    email = left.text_input(t("requester_email"), key="intake_email", placeholder="taro.yamada@example.co.jp")
    name = right.text_input(t("requester_name"), key="intake_name")
    if st.form_submit_button(t("file_report"), type="primary", key="intake_submit"):
        try:
            with st.spinner(t("filing")):
                case_id = intake.submit(
                    ws, actor=user, title=title, body=body, requester_email=email, requester_name=name
                )
        except (ReportError, *REFUSALS) as exc:
            refuse(exc)
        else:
            st.success(t("filed_as", id=case_id))
            show_filed([case_id])

with uploaded:
    st.caption(t("upload_help", mb=f"{ws.settings.max_upload_bytes / 1e6:.0f}"))
    files = st.file_uploader(
        t("files"),
        type=[s.lstrip(".") for s in intake.TABLE_SUFFIXES + intake.MAIL_SUFFIXES],
        accept_multiple_files=True,
        key="intake_files",
    )
    if st.button(t("file_uploads"), type="primary", key="intake_upload", disabled=not files):
        for file in files:
            try:
                report = intake.upload(ws, file.name, file.getvalue(), actor=user, progress=progress_bar)
            except intake.IntakeError as exc:
                st.error(t("upload_refused", error=md(t(exc.phrase))))
                continue
            st.success(
                t(
                    "upload_done",
                    name=md(file.name),
                    added=len(report.added),
                    messages=len(report.messages),
                    present=report.already_present,
                )
            )
            for problem in report.problems:
                st.warning(md(t(problem)))
            for note in report.notes:
                st.info(md(t(note)))
            show_filed(report.added + report.messages)
