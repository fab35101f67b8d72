"""A review's report as a page asks for it: computed by the background worker (``pipeline.jobs``, a "report"
job; what each report is: ``computed``), never in the page's own script, and shared by every lead who looks.

A report is asked for over a scope (what the lead chose: a period, two versions) as of the versions of what it
reads (corpus, model, thresholds). The last one done over the scope is shown; a new one is asked for when that one
is out of date and older than ``report_refresh_minutes`` and none is on its way, so a busy desk, where the data
changes every minute, keeps the worker at most one report per scope per refresh, however many leads look.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from kb import JobRecord
from pipeline import jobs
from pipeline.access.accounts import LEADS, Account, require
from pipeline.review import computed
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class AskedReport:
    """What a page finds of a report: the last one done over its scope (None if there is none yet), whether that
    one is as of the data now, and the job at a newer one (queued or running) or the one that failed."""

    shown: JobRecord | None
    current: bool
    working: JobRecord | None


def ask_report(
    ws: Workspace, name: str, scope: dict, as_of: Any, *, actor: Account, now: dt.datetime | None = None
) -> AskedReport:
    """The report ``name`` (``computed.REPORTS``) over ``scope``, for the knowledge base as ``as_of`` describes
    it; asked of the worker as the module says. A failed one waits to be run again by hand, not asked for again
    until the data changes. The records come without their results: ``report_of`` reads one."""
    require(actor, LEADS, "review")
    if name not in computed.REPORTS:
        raise ValueError(f"no report is called {name!r}; there are {', '.join(computed.REPORTS)}")
    args = json.loads(json.dumps({"report": name, "scope": scope, "as_of": as_of}, default=str))  # as kept
    key = computed.scope_key(name, args["scope"])
    alike = [
        job
        for job in ws.kb.jobs(kinds=("report",), limit=computed.LOOKED_AT, results=False)
        if computed.scope_of(job) == key
    ]
    newest = alike[0] if alike else None
    shown = next((job for job in alike if job.status == "done"), None)
    if _asks_again(newest, args["as_of"], ws.settings.report_refresh_minutes, now or dt.datetime.now(dt.UTC)):
        newest = ws.kb.job(jobs.enqueue(ws, "report", args, actor=actor))
    working = None if newest is None or newest.status == "done" else newest
    return AskedReport(shown, shown is not None and shown.args["as_of"] == args["as_of"], working)


def _asks_again(newest: JobRecord | None, as_of: Any, refresh_minutes: float, now: dt.datetime) -> bool:
    if newest is None:
        return True
    if newest.status in ("queued", "running") or newest.args["as_of"] == as_of:
        return False  # on its way, or as of now (done, or failed: run again by hand)
    return newest.status == "failed" or now - newest.finished_at >= dt.timedelta(minutes=refresh_minutes)


def report_of(ws: Workspace, job_id: int) -> Any:
    """The report a done report job computed, as the dataclass it was."""
    job = ws.kb.job(job_id)
    return computed.read(job.args["report"], job.result["report"])
