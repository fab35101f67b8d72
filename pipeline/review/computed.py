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
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.progress import ProgressFactory
from pipeline.review.escalation_review import EscalationReview, escalation_review
from pipeline.review.kb_health import HealthReport, health_report
from pipeline.review.problems import ProblemCandidate, recurring_problems
from pipeline.triage.versions import Comparison
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class Report:
    """A kind of report: what it is once read back, and how it is computed from its scope (what the lead asked:
    a period, two versions), given as keyword arguments with JSON values."""

    kind: Any  # a dataclass, or list[dataclass]
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
    return decode(REPORTS[name].kind, kept)


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
        return kind(**{f.name: decode(types[f.name], data[f.name]) for f in dataclasses.fields(kind)})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is dict:
        return {key: decode(args[1], item) for key, item in data.items()}
    if origin is list:
        return [decode(args[0], item) for item in data]
    return data
