"""Intake: one window for every way a report arrives (typed, a CSV / JSON Lines file, e-mail); each lands in the
queue as new, with its suggestions computed and stored."""

from __future__ import annotations

import streamlit as st

from app_pages.background import follow
from app_pages.common import REFUSALS, current_user, md, ready_workspace, refuse
from app_pages.i18n import t
from kb import JobRecord
from pipeline import jobs
from pipeline.desk import intake
from pipeline.text import ReportError

# The upload jobs this browser session asked for, followed until the worker has filed them; and the files refused
# before any job was asked for.
UPLOADS, REFUSED = "intake_upload_jobs", "intake_upload_refused"

st.title(t("intake_title"))
ws = ready_workspace()
user = current_user()


def show_filed(ids: list[int]) -> None:
    for case_id in ids:
        st.page_link("app_pages/case.py", label=t("open_case", id=case_id), query_params={"id": case_id})


def show_upload(job: JobRecord) -> None:
    """What the worker filed of one uploaded file, and what it left out and why."""
    result = job.result or {}
    name = md(job.args["name"])
    added, messages = result.get("added", []), result.get("messages", [])
    present = result.get("already_present", 0)
    st.success(t("upload_done", name=name, added=len(added), messages=len(messages), present=present))
    for problem in jobs.result_phrases(job, "problems"):
        st.warning(md(t(problem)))
    for note in jobs.result_phrases(job, "notes"):
        st.info(md(t(note)))
    show_filed(added + messages)


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
        # The worker files them (a file of thousands of rows takes minutes): this page follows it. What is refused
        # at once (empty, too big, not a kind intake reads) is said beside the outcomes, until the next upload.
        st.session_state[UPLOADS], st.session_state[REFUSED] = [], []
        for file in files:
            try:
                st.session_state[UPLOADS].append(jobs.enqueue_upload(ws, file.name, file.getvalue(), actor=user))
            except (intake.IntakeError, *REFUSALS) as exc:
                st.session_state[REFUSED].append(exc.phrase)
    for phrase in st.session_state.get(REFUSED, []):
        st.error(t("upload_refused", error=md(t(phrase))))
    follow(UPLOADS, show_upload)
