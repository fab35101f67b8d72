"""The review's reports that take long on a large knowledge base (its health, the escalation review, recurring
problems, two model versions side by side): the background worker computes each as a job (``pipeline.jobs``),
and the report is kept with the job, so a page only reads it and every lead's page reads the same one.

A report is kept as JSON: its tables as Parquet (exact dtypes, index and column names), read back into the very
dataclass it was, guided by the dataclass's own field types.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kb import JobRecord, KnowledgeBase
from pipeline.progress import ProgressFactory
from pipeline.review.escalation_review import EscalationReview, escalation_review
from pipeline.review.kb_health import HealthReport, health_report
from pipeline.review.problems import ProblemCandidate, recurring_problems
from pipeline.triage.versions import Comparison
from pipeline.workspace import Workspace

# How many of the newest report jobs are looked through for one over a scope; how long a report is kept.
LOOKED_AT = 200
KEPT_FOR = dt.timedelta(days=7)


@dataclass(frozen=True)
class Report:
    """A kind of report: what it is once read back, and how it is computed from its scope (what the lead asked:
    a period, two versions), given as keyword arguments with JSON values."""

    returns: Any  # a dataclass, or list[dataclass]
    compute: Callable[..., Any]  # (ws, progress, **scope)


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


REPORTS = {
    "health": Report(HealthReport, lambda ws, progress: health_report(ws, progress=progress)),
    "escalations": Report(
        EscalationReview,
        lambda ws, progress, since, until: escalation_review(
            ws, since=_day(since), until=_day(until), progress=progress
        ),
    ),
    "problems": Report(
        list[ProblemCandidate],
        lambda ws, progress, since, until: recurring_problems(ws, _day(since), _day(until), progress=progress),
    ),
    "comparison": Report(
        Comparison,
        lambda ws, progress, candidate, baseline: ws.compare_versions(candidate, baseline, progress=progress),
    ),
}


def compute(ws: Workspace, name: str, scope: dict, progress: ProgressFactory) -> Any:
    """The report ``name`` over ``scope``, kept as JSON (``encode``)."""
    return encode(REPORTS[name].compute(ws, progress, **scope))


def read(name: str, kept: Any) -> Any:
    """A kept report ``name``, as the dataclass it was computed as."""
    return decode(REPORTS[name].returns, kept)


def scope_key(name: str, scope: dict) -> str:
    """A report and its scope as one key: two jobs with the same key compute the same report (as of some data)."""
    return json.dumps([name, scope], sort_keys=True)


def scope_of(job: JobRecord) -> str:
    return scope_key(job.args["report"], job.args["scope"])


def forget_replaced(kb: KnowledgeBase, *, now: dt.datetime | None = None) -> list[int]:
    """Drop the report jobs a newer report over the same scope replaced, and those that ended more than
    ``KEPT_FOR`` ago (nobody asked for that period or those versions since: asked again, it is computed again).
    The ids dropped."""
    now = now or dt.datetime.now(dt.UTC)
    newest: set[str] = set()
    dropped = []
    for job in kb.jobs(kinds=("report",), statuses=("done", "failed"), limit=LOOKED_AT * 10, results=False):
        if (job.status == "done" and scope_of(job) in newest) or now - job.finished_at > KEPT_FOR:
            dropped.append(job.id)
        elif job.status == "done":
            newest.add(scope_of(job))
    if dropped:
        with kb.write("worker") as w:
            w.delete_jobs(dropped)
    return dropped


def encode(value: Any) -> Any:
    """``value`` (dataclasses, dicts and lists of them, tables, plain values) as JSON values."""
    if isinstance(value, pd.DataFrame):
        buffer = io.BytesIO()
        value.to_parquet(buffer)
        return base64.b64encode(buffer.getvalue()).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(kind: Any, data: Any) -> Any:
    """What ``encode`` made of a ``kind``, as a ``kind`` again."""
    if kind is pd.DataFrame:
        return pd.read_parquet(io.BytesIO(base64.b64decode(data, validate=True)))
    if dataclasses.is_dataclass(kind):
        types = typing.get_type_hints(kind)
        # A field a report kept before that field was added takes its default (the page asks for a new report).
        kept = [f for f in dataclasses.fields(kind) if f.name in data]
        return kind(**{f.name: decode(types[f.name], data[f.name]) for f in kept})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is dict:
        return {key: decode(args[1], item) for key, item in data.items()}
    if origin is list:
        return [decode(args[0], item) for item in data]
    return data
