"""The review of past escalations the escalation guide asks leads for: how long cases took to be escalated, the
level that finally resolved them, which criteria were ticked, escalations that came back down, escalations a
similar case had shown to be avoidable, and those that came too late or too early (``escalation_timing``; too early
here also when a similar case had been resolved at first line before), per agent who escalated and per category.

An escalated case is one handed off through the desk (it has hand-offs) or resolved at L1, L2 or L3 (history
imported from elsewhere, whose hand-off times are not known).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from kb import CaseFilter, HandoffRecord, IncidentRecord
from kb.sla import StatusMove
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.exports import safe_csv
from pipeline.knowledge.escalation_timing import escalation_timing, rank
from pipeline.progress import ProgressFactory, no_progress
from pipeline.settings import CRITERIA
from pipeline.workspace import Workspace
from words import Phrase

ESCALATED_LEVELS = ESCALATION_LEVELS[1:]
_SIMILAR_CHECKED = 10
COLUMNS = (
    "incident_id", "title", "created_at", "escalated_at", "hours_to_escalation", "first_level", "peak_level",
    "final_level", "came_back_down", "criteria", "resolved_without_escalation", "similarity", "category",
    "escalated_by", "first_line_hours", "share_of_target", "too_late", "too_early",
)  # fmt: skip
# The too late and too early counts of one group (an agent who escalated, a category).
TIMING_COLUMNS = ("escalations", "too_late", "too_early", "share_too_late", "share_too_early")


@dataclass(frozen=True)
class EscalationSummary:
    """The review at a glance."""

    cases: int  # escalated cases
    handed_off: int  # of them, handed off through the desk (so with a time to escalation)
    median_hours: float | None  # from intake to the first hand-off
    came_back_down: int
    avoidable: int  # a similar case had been resolved at first line before
    too_late: int
    too_early: int


@dataclass(frozen=True)
class EscalationReview:
    # One row per escalated case (COLUMNS), newest first.
    cases: pd.DataFrame
    # One row per criterion of the escalation guide: how many hand-offs ticked it, and their share.
    criteria: pd.DataFrame
    # Resolved escalated cases: the level first escalated to (rows) against the level that resolved them.
    levels: pd.DataFrame
    # Per agent who escalated (the first hand-off's), and per category (None: none): TIMING_COLUMNS, most first.
    # (Empty in a report kept before they were counted.)
    by_agent: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["agent", *TIMING_COLUMNS]))
    by_category: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["category", *TIMING_COLUMNS]))

    def __post_init__(self) -> None:
        # A report kept before too late and too early were judged reads back with none flagged (the page asks for
        # a new one: its as-of names the setting they depend on).
        if missing := [c for c in COLUMNS if c not in self.cases]:
            cases = self.cases.reindex(columns=list(COLUMNS))
            for flag in {"too_late", "too_early"} & set(missing):
                cases[flag] = False
            object.__setattr__(self, "cases", cases)

    @property
    def summary(self) -> EscalationSummary:
        timed = self.cases["hours_to_escalation"].dropna()
        return EscalationSummary(
            cases=len(self.cases),
            handed_off=len(timed),
            median_hours=float(timed.median()) if len(timed) else None,
            came_back_down=int(self.cases["came_back_down"].sum()),
            avoidable=int(self.cases["resolved_without_escalation"].notna().sum()),
            too_late=int(self.cases["too_late"].sum()),
            too_early=int(self.cases["too_early"].sum()),
        )

    def to_csv(self) -> str:
        return safe_csv(self.cases)


def _avoidable(ws: Workspace, case: IncidentRecord) -> tuple[int | None, float | None]:
    """The most similar case resolved without escalation before this one came in, if it is similar enough."""
    for s in ws.similar_cases(case, k=_SIMILAR_CHECKED):
        other = s.incident
        if s.similarity < ws.settings.avoidable_escalation_similarity:
            break
        solved_before = other.resolved_at is not None and other.resolved_at < case.created_at
        if other.id != case.id and other.escalation_level == "none" and solved_before:
            return other.id, s.similarity
    return None, None


def _case_row(ws: Workspace, case: IncidentRecord, handoffs: list[HandoffRecord], moves: list[StatusMove]) -> dict:
    resolved = case.status in RESOLVED_STATUSES
    levels = [h.level for h in handoffs] + ([case.escalation_level] if resolved else [])
    now = case.escalation_level if resolved else handoffs[-1].level
    peak = max(levels, key=rank)
    escalated_at = handoffs[0].created_at if handoffs else None
    similar, similarity = _avoidable(ws, case)
    timing = escalation_timing(ws.settings, case, handoffs, moves)
    hours = dt.timedelta(hours=1)
    return {
        "incident_id": case.id,
        "title": case.title,
        "created_at": case.created_at,
        "escalated_at": escalated_at,
        "hours_to_escalation": (escalated_at - case.created_at) / dt.timedelta(hours=1) if escalated_at else None,
        "first_level": levels[0],
        "peak_level": peak,
        "final_level": case.escalation_level if resolved else None,
        "came_back_down": rank(peak) > rank(now),
        "criteria": ", ".join(sorted({c for h in handoffs for c in h.criteria or ()})),
        "resolved_without_escalation": similar,
        "similarity": similarity,
        "category": case.category,
        "escalated_by": handoffs[0].created_by if handoffs else None,
        "first_line_hours": None if timing.first_line is None else timing.first_line / hours,
        "share_of_target": timing.share_of_target,
        "too_late": timing.too_late,
        "too_early": timing.came_back_down or (resolved and similar is not None),
    }


def _timing_by(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Escalations, and those too late and too early, per value of ``column``; the most of either first."""
    groups = frame.groupby(column, dropna=column == "escalated_by", as_index=False)
    table = groups.agg(
        escalations=("incident_id", "size"), too_late=("too_late", "sum"), too_early=("too_early", "sum")
    )
    table["share_too_late"] = table["too_late"] / table["escalations"]
    table["share_too_early"] = table["too_early"] / table["escalations"]
    order = table.assign(flagged=table["too_late"] + table["too_early"])
    order = order.sort_values(["flagged", "escalations", column], ascending=[False, False, True], kind="stable")
    return order[[column, *TIMING_COLUMNS]].reset_index(drop=True)


def escalation_review(
    ws: Workspace,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    progress: ProgressFactory = no_progress,
) -> EscalationReview:
    """The review of the cases created between ``since`` and ``until`` (both included; None: no bound)."""
    in_range = set(ws.kb.incident_ids(CaseFilter(since=since, until=until)))
    handoffs: dict[int, list[HandoffRecord]] = defaultdict(list)
    for h in ws.kb.handoffs():
        if h.incident_id in in_range:
            handoffs[h.incident_id].append(h)
    resolved_escalated = ws.kb.incident_ids(
        CaseFilter(statuses=RESOLVED_STATUSES, escalation_levels=ESCALATED_LEVELS, since=since, until=until)
    )
    cases = ws.kb.incidents(sorted(set(resolved_escalated) | set(handoffs)))
    moves = ws.kb.status_moves([case.id for case in cases])
    rows = []
    with progress(Phrase("progress_reviewing_escalations"), len(cases)) as step:
        for case in cases:
            rows.append(_case_row(ws, case, handoffs[case.id], moves.get(case.id, [])))
            step(1)
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("created_at", ascending=False, kind="stable")
    frame = frame.reset_index(drop=True).astype({"resolved_without_escalation": "Int64"})
    sent = [h for hs in handoffs.values() for h in hs]
    criteria = pd.DataFrame(
        {
            "criterion": list(CRITERIA),
            "ticked": [sum(c in (h.criteria or ()) for h in sent) for c in CRITERIA],
        }
    )
    criteria["share"] = criteria["ticked"] / len(sent) if sent else None
    resolved = frame[frame["final_level"].notna()]
    levels = pd.crosstab(resolved["first_level"], resolved["final_level"]).rename_axis(index="first", columns="final")
    return EscalationReview(
        cases=frame,
        criteria=criteria,
        levels=levels,
        by_agent=_timing_by(frame, "escalated_by").rename(columns={"escalated_by": "agent"}),
        by_category=_timing_by(frame, "category"),
    )
