"""The review of past escalations the escalation guide asks leads for: how long cases took to be escalated, the
level that finally resolved them, which criteria were ticked, escalations that came back down, and escalations a
similar case had shown to be avoidable.

An escalated case is one handed off through the desk (it has hand-offs) or resolved at L1, L2 or L3 (history
imported from elsewhere, whose hand-off times are not known).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from kb import CaseFilter, HandoffRecord, IncidentRecord
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.exports import safe_csv
from pipeline.progress import ProgressFactory, no_progress
from pipeline.settings import CRITERIA
from pipeline.workspace import Workspace
from words import Phrase

ESCALATED_LEVELS = ESCALATION_LEVELS[1:]
_SIMILAR_CHECKED = 10
COLUMNS = (
    "incident_id", "title", "created_at", "escalated_at", "hours_to_escalation", "first_level", "peak_level",
    "final_level", "came_back_down", "criteria", "resolved_without_escalation", "similarity",
)  # fmt: skip


@dataclass(frozen=True)
class EscalationSummary:
    """The review at a glance."""

    cases: int  # escalated cases
    handed_off: int  # of them, handed off through the desk (so with a time to escalation)
    median_hours: float | None  # from intake to the first hand-off
    came_back_down: int
    avoidable: int  # a similar case had been resolved at first line before


@dataclass(frozen=True)
class EscalationReview:
    # One row per escalated case (COLUMNS), newest first.
    cases: pd.DataFrame
    # One row per criterion of the escalation guide: how many hand-offs ticked it, and their share.
    criteria: pd.DataFrame
    # Resolved escalated cases: the level first escalated to (rows) against the level that resolved them.
    levels: pd.DataFrame

    @property
    def summary(self) -> EscalationSummary:
        timed = self.cases["hours_to_escalation"].dropna()
        return EscalationSummary(
            cases=len(self.cases),
            handed_off=len(timed),
            median_hours=float(timed.median()) if len(timed) else None,
            came_back_down=int(self.cases["came_back_down"].sum()),
            avoidable=int(self.cases["resolved_without_escalation"].notna().sum()),
        )

    def to_csv(self) -> str:
        return safe_csv(self.cases)


def _rank(level: str | None) -> int:
    return ESCALATION_LEVELS.index(level) if level in ESCALATION_LEVELS else 0


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


def _case_row(ws: Workspace, case: IncidentRecord, handoffs: list[HandoffRecord]) -> dict:
    resolved = case.status in RESOLVED_STATUSES
    levels = [h.level for h in handoffs] + ([case.escalation_level] if resolved else [])
    now = case.escalation_level if resolved else handoffs[-1].level
    peak = max(levels, key=_rank)
    escalated_at = handoffs[0].created_at if handoffs else None
    similar, similarity = _avoidable(ws, case)
    return {
        "incident_id": case.id,
        "title": case.title,
        "created_at": case.created_at,
        "escalated_at": escalated_at,
        "hours_to_escalation": (escalated_at - case.created_at) / dt.timedelta(hours=1) if escalated_at else None,
        "first_level": levels[0],
        "peak_level": peak,
        "final_level": case.escalation_level if resolved else None,
        "came_back_down": _rank(peak) > _rank(now),
        "criteria": ", ".join(sorted({c for h in handoffs for c in h.criteria or ()})),
        "resolved_without_escalation": similar,
        "similarity": similarity,
    }


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
    rows = []
    with progress(Phrase("progress_reviewing_escalations"), len(cases)) as step:
        for case in cases:
            rows.append(_case_row(ws, case, handoffs[case.id]))
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
    return EscalationReview(cases=frame, criteria=criteria, levels=levels)
