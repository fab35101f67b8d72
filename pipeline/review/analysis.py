"""Incident trends for analysts and leads: the knowledge base as tidy DataFrames, and the usual questions asked of
them (volumes per week, time to resolve, escalation rates, targets met, the lifecycle as a process).

One line gives the data::

    from pipeline.review.analysis import Analysis
    incidents = Analysis.open().incidents()          # the database of the settings (the demo by default)

The functions below take and return plain DataFrames, so they serve any event log of the same shape (see
``pipeline.review.eventlog`` for the ServiceNow export) and are tested with exact figures on small known histories.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from kb import KnowledgeBase, frames
from kb.frames import hours, week_of
from kb.sla import StatusMove
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.desk.sla import clock_time, paused_spans
from pipeline.review.suggestion_quality import suggestion_outcomes
from pipeline.settings import Settings
from words import PhrasedError

QUANTILES = {"p25": 0.25, "median": 0.5, "p75": 0.75, "p90": 0.9}


class KnowledgeBaseMissing(PhrasedError, FileNotFoundError):
    """No knowledge base where one was named: opening it would create an empty one and show nothing."""


def first_responses(messages: pd.DataFrame) -> pd.Series:
    """When each case first had a reply to its requester, by incident id."""
    replies = messages[messages["kind"] == "to_requester"]
    return replies.groupby("incident_id")["at"].min().rename("first_response_at")


def reassignments(events: pd.DataFrame) -> pd.Series:
    """How many times each case changed hands: assignee changes after it first had one, by incident id."""
    changes = events[(events["entity"] == "incident") & (events["field"] == "assignee")]
    moved = changes[changes["old_value"].notna() & (changes["old_value"] != changes["new_value"])]
    return moved.groupby("entity_id").size().rename("reassignments").rename_axis("incident_id")


def reopenings(events: pd.DataFrame) -> pd.Series:
    """How many times each case was reopened: status moves from resolved or closed to any other, by incident id."""
    moves = events[(events["entity"] == "incident") & (events["field"] == "status")]
    back = moves[moves["old_value"].isin(RESOLVED_STATUSES) & ~moves["new_value"].isin(RESOLVED_STATUSES)]
    return back.groupby("entity_id").size().rename("reopenings").rename_axis("incident_id")


def lifecycle(incidents: pd.DataFrame, events: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    """The incidents with their week, hours to first response and to resolve, reassignments and reopenings."""
    frame = incidents.set_index("id", drop=False).rename_axis(None)
    frame["week"] = week_of(frame["created_at"])
    frame["hours_to_resolve"] = hours(frame["created_at"], frame["resolved_at"])
    frame["first_response_at"] = first_responses(messages).reindex(frame.index)
    frame["hours_to_first_response"] = hours(frame["created_at"], frame["first_response_at"])
    for counts in (reassignments(events), reopenings(events)):
        frame[counts.name] = counts.reindex(frame.index, fill_value=0).astype(int)
    frame["escalated"] = frame["escalation_level"].isin(ESCALATION_LEVELS[1:])
    return frame.reset_index(drop=True)


def weekly_counts(incidents: pd.DataFrame, by: str = "category") -> pd.DataFrame:
    """Cases opened per week (rows, Mondays; weeks without a case count 0) and value of ``by`` (columns)."""
    frame = incidents.assign(week=week_of(incidents["created_at"]), **{by: incidents[by].fillna("(none)")})
    table = pd.crosstab(frame["week"], frame[by])
    if table.empty:
        return table
    weeks = pd.date_range(table.index.min(), table.index.max(), freq="7D", name="week")
    return table.reindex(weeks, fill_value=0)


def distribution(frame: pd.DataFrame, value: str, by: str | list[str]) -> pd.DataFrame:
    """Per value of ``by``: how many rows have ``value``, its mean and its quartiles and 90th percentile."""
    known = frame[frame[value].notna()]
    grouped = known.groupby(by)[value]
    table = pd.DataFrame({"cases": grouped.size(), "mean": grouped.mean()})
    for name, q in QUANTILES.items():
        table[name] = grouped.quantile(q)
    return table


def escalation_rates(incidents: pd.DataFrame, by: str | list[str] = "category") -> pd.DataFrame:
    """Per value of ``by``: cases, the share that ended at each escalation level, and the share escalated at all;
    most escalated first."""
    grouped = incidents[incidents["escalation_level"].notna()].groupby(by)
    shares = grouped["escalation_level"].value_counts(normalize=True).unstack(fill_value=0.0)
    shares = shares.reindex(columns=list(ESCALATION_LEVELS), fill_value=0.0)
    shares.columns.name = None
    shares.insert(0, "cases", grouped.size())
    shares["escalated"] = 1 - shares["none"]
    return shares.sort_values("escalated", ascending=False, kind="stable")


def targets_met(
    frame: pd.DataFrame,
    targets: Mapping[str, float],
    end: str,
    clock: pd.Series,
    *,
    by: str = "priority",
) -> pd.DataFrame:
    """Per value of ``by`` with a target: the target in hours, the cases measured, how many reached ``end`` within
    the target, and their share. ``clock`` (by row of ``frame``): the hours the SLA clock ran until ``end``, or
    until now for an open case that has not reached it (``sla_clock_hours``).

    An open case (no ``resolved_at``) that has not reached ``end`` counts as missed once its clock has passed the
    target, and is not measured before that; a resolved one without ``end`` (history imported from elsewhere, whose
    first reply is not known) is not measured.
    """
    rows = []
    for key, target in targets.items():
        cases = frame[frame[by] == key]
        took = clock[cases.index].where(cases[end].notna())
        waiting = cases[end].isna() & cases["resolved_at"].isna()
        overdue = waiting & (clock[cases.index] > target)
        measured = took.notna() | overdue
        met = int((took <= target).sum())
        n = int(measured.sum())
        rows.append({by: key, "target_hours": target, "cases": n, "met": met, "share": met / n if n else np.nan})
    return pd.DataFrame(rows).set_index(by)


def sla_clock_hours(
    settings: Settings, frame: pd.DataFrame, history: pd.DataFrame, end: str, now: dt.datetime
) -> pd.Series:
    """By row of ``frame`` (incidents): the business hours its SLA clock ran from ``created_at`` until ``end``, or
    until ``now`` for a case still open that has not reached it (NaN for a resolved case without ``end``), less the
    time it stood still in a paused status (``history``: ``status_history``), as the desk's clocks count
    (``pipeline.desk.sla``)."""
    states = {case: list(zip(rows["at"], rows["state"], strict=True)) for case, rows in history.groupby("case")}

    def ran(case: pd.Series) -> float:
        stop = case[end] if pd.notna(case[end]) else now if pd.isna(case["resolved_at"]) else None
        if stop is None:
            return np.nan
        created, stop = case["created_at"].to_pydatetime(), pd.Timestamp(stop).to_pydatetime()
        stays = states.get(case["id"], [(created, case["status"])])
        moves = [StatusMove(at.to_pydatetime(), old, new) for (_, old), (at, new) in pairwise(stays)]
        paused = paused_spans(settings, created, stays[-1][1], moves, stop)
        return clock_time(settings, created, stop, category=case["category"], paused=paused) / dt.timedelta(hours=1)

    return frame.apply(ran, axis=1).astype(float) if len(frame) else pd.Series(dtype=float)


@dataclass(frozen=True)
class Headline:
    """A period at a glance; None where it cannot be known."""

    cases: int
    median_hours_to_resolve: float | None
    escalated_share: float | None  # of the cases whose level is known
    resolved_within_target: float | None  # of the cases measured (``targets_met``)


def headline(incidents: pd.DataFrame, met: pd.DataFrame) -> Headline:
    """The period at a glance: cases, median hours to resolve, the share escalated and the share resolved within
    target (``met``: the resolution's ``targets_met``)."""
    resolve_hours = incidents["hours_to_resolve"].dropna()
    levels = incidents["escalation_level"].dropna()
    measured = met["cases"].sum()
    return Headline(
        cases=len(incidents),
        median_hours_to_resolve=float(resolve_hours.median()) if len(resolve_hours) else None,
        escalated_share=float(levels.isin(ESCALATION_LEVELS[1:]).mean()) if len(levels) else None,
        resolved_within_target=float(met["met"].sum() / measured) if measured else None,
    )


def status_history(incidents: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each case's statuses in order (case, state, at): the status it was created with, then every status move."""
    created = events[(events["entity"] == "incident") & (events["action"] == "create")]
    first = created.set_index("entity_id")["new_value"].map(lambda snapshot: json.loads(snapshot).get("status"))
    start = pd.DataFrame(
        {"case": incidents["id"], "state": incidents["id"].map(first), "at": incidents["created_at"]}
    ).dropna(subset=["state"])
    moves = events[(events["entity"] == "incident") & (events["field"] == "status")]
    later = pd.DataFrame({"case": moves["entity_id"], "state": moves["new_value"], "at": moves["at"]})
    history = pd.concat([start, later], ignore_index=True)
    return history.sort_values(["case", "at"], kind="stable").reset_index(drop=True)


def transitions(history: pd.DataFrame, case: str = "case", state: str = "state", at: str = "at") -> pd.DataFrame:
    """The lifecycle as a process: each move from one state to another, how often it happened, and the hours spent
    in the first state before it (median and 90th percentile); most frequent first.

    ``history`` has one row per recorded state of a case, in time order; repeats of the same state in a row (an
    update that left the state alone) are one stay.
    """
    ordered = history.sort_values([case, at], kind="stable")
    same_case = ordered[case].eq(ordered[case].shift())
    stays = ordered[~(same_case & ordered[state].eq(ordered[state].shift()))]
    following = stays.shift(-1)
    moved = stays[case].eq(following[case])
    steps = pd.DataFrame(
        {
            "from": stays.loc[moved, state],
            "to": following.loc[moved, state],
            "hours": hours(stays.loc[moved, at], following.loc[moved, at]),
        }
    )
    table = steps.groupby(["from", "to"])["hours"].agg(
        count="size", median_hours="median", p90_hours=lambda h: h.quantile(0.9)
    )
    return table.sort_values("count", ascending=False, kind="stable").reset_index()


@dataclass
class Analysis:
    """A knowledge base for analysis: its tables as tidy DataFrames, with the lifecycle measures added."""

    kb: KnowledgeBase
    settings: Settings

    @classmethod
    def open(cls, database: str | Path | None = None) -> Analysis:
        """The knowledge base at ``database`` (a file path or SQLAlchemy URL), else the settings' one."""
        settings = Settings() if database is None else Settings(database_url=str(database))
        path = settings.sqlite_path
        if path is not None and not path.is_file():  # opening would create an empty knowledge base and show nothing
            raise KnowledgeBaseMissing("kb_missing", path=str(path))
        return cls(KnowledgeBase(settings.resolved_database_url), settings)

    def close(self) -> None:
        self.kb.close()

    def incidents(self, since: dt.date | None = None, until: dt.date | None = None) -> pd.DataFrame:
        """Every incident (created between ``since`` and ``until``, both included, if given) with its labels and
        times, week, hours to first response and to resolve, reassignments, reopenings and whether it was
        escalated."""
        frame = lifecycle(frames.incidents(self.kb), self.events(), self.messages())
        if since is not None:
            frame = frame[frame["created_at"].dt.date >= since]
        if until is not None:
            frame = frame[frame["created_at"].dt.date <= until]
        return frame.reset_index(drop=True)

    def events(self) -> pd.DataFrame:
        return frames.events(self.kb)

    def messages(self) -> pd.DataFrame:
        return frames.messages(self.kb)

    def suggestions(self) -> pd.DataFrame:
        """Every stored suggestion against what became of it: the agent's decision and the case's final value."""
        return suggestion_outcomes(self.kb)

    def escalations(self) -> pd.DataFrame:
        """Every hand-off with its case's category, priority and language, and hours since the case came in."""
        cases = frames.incidents(self.kb).set_index("id")[["category", "priority", "language", "created_at"]]
        handed = frames.handoffs(self.kb).join(cases.rename(columns={"created_at": "case_created_at"}), "incident_id")
        handed["hours_since_intake"] = hours(handed["case_created_at"], handed["created_at"])
        return handed

    def status_history(self) -> pd.DataFrame:
        return status_history(frames.incidents(self.kb), self.events())

    def targets_met(self, incidents: pd.DataFrame, now: pd.Timestamp | None = None) -> pd.DataFrame:
        """The settings' first-response and resolution targets met, per priority, side by side, in business hours
        less the time a case waited in a paused status (``sla_clock_hours``)."""
        now = (pd.Timestamp.now(tz="UTC") if now is None else now).to_pydatetime()
        history, tables = self.status_history(), {}
        for name, targets, end in [
            ("first response", self.settings.response_targets_hours, "first_response_at"),
            ("resolution", self.settings.resolution_targets_hours, "resolved_at"),
        ]:
            clock = sla_clock_hours(self.settings, incidents, history, end, now)
            tables[name] = targets_met(incidents, targets, end, clock)
        return pd.concat(tables, axis=1)
