"""Following long work handed to the background worker (``pipeline.jobs``) from a page: while it runs, its
progress, read from the job's record every second; once it has ended, its outcome, or why it failed and a button
to run it again. The page's own script never runs the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app_pages.common import REFUSALS, current_user, md, refuse, remembered, workspace
from app_pages.i18n import t
from kb import JobRecord
from pipeline import jobs
from pipeline.review import worker_reports

# How often a page looks at its jobs while the worker is at them.
POLL_SECONDS = 1.0


def follow(key: str, show: Callable[[JobRecord], None]) -> None:
    """The jobs this browser session asked for under ``key`` (their ids in ``st.session_state[key]``): progress
    while any runs, then each one's outcome, shown by ``show`` when it is done."""
    ids = st.session_state.get(key, [])
    now = [workspace().kb.job(i) for i in ids]
    if not all(job.finished for job in now):
        _running(ids)
        return
    for job in now:
        _ended(job, show)


def from_worker(name: str, scope: dict, as_of: Any) -> Any:
    """The review's report ``name`` over ``scope`` for the data as ``as_of`` describes it, computed by the worker
    (``worker_reports.ask_report``), or None while there is none yet. While a newer one is computed, its progress
    above the last one; if that failed, why and a button to run it again."""
    asked = worker_reports.ask_report(workspace(), name, scope, as_of, actor=current_user())
    if asked.working is not None and asked.working.status == "failed":
        _ended(asked.working, lambda job: None)
    elif asked.working is not None:
        _running([asked.working.id])
    if asked.shown is None:
        return None
    if not asked.current:
        st.caption(t("report_as_of", at=f"{asked.shown.finished_at:%Y-%m-%d %H:%M} UTC"))
    return remembered(f"report_{name}", asked.shown.id, lambda: worker_reports.report_of(workspace(), asked.shown.id))


@st.fragment(run_every=POLL_SECONDS)
def _running(ids: list[int]) -> None:
    """Redrawn on its own every second; once every job has ended, the whole page shows their outcomes."""
    now = [workspace().kb.job(i) for i in ids]
    if all(job.finished for job in now):
        st.rerun(scope="app")
    for job in now:
        what = t(jobs.describe(job))
        step = jobs.step_phrase(job)
        if job.status == "queued":
            st.info(t("job_queued", task=md(what)))
        elif step is None or not job.total:
            st.info(t("job_running", task=md(what)))
        else:
            shown = t("progress_of", step=t(step), done=f"{job.done:,}", total=f"{job.total:,}")
            st.progress(min(job.done / job.total, 1.0), text=md(f"{what} · {shown}"))


def _ended(job: JobRecord, show: Callable[[JobRecord], None]) -> None:
    if job.status == "done":
        show(job)
        return
    st.error(t("job_failed", task=md(t(jobs.describe(job))), error=md(t(jobs.error_phrase(job)))))
    if st.button(t("run_again"), key=f"run_again_{job.id}"):
        try:
            jobs.run_again(workspace(), job.id, actor=current_user())
        except (*REFUSALS, jobs.JobError) as exc:
            refuse(exc)
        else:
            st.rerun()
