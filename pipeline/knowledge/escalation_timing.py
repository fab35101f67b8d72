"""When an escalation came too late or too early, judged on one case and its hand-offs (the escalation guide:
"too early wastes senior time, too late prolongs the incident"). The drills favour such cases; the escalation
review counts them per agent and per category.

Too late: handled at first line (the SLA clock's time from intake to the first hand-off: business time, less the time
it waited in a paused status, as the resolution target counts it) for more than
``drills.too_late_share`` of its resolution target, then escalated and resolved at L2 or L3. Too early: escalated,
then resolved at a lower level than it was escalated to (the review adds "or by a fix already in the knowledge
base", a similar case resolved at first line before, which takes a search per case).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from kb import HandoffRecord, IncidentRecord
from kb.sla import StatusMove
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.desk.sla import clock_time, paused_spans
from pipeline.settings import Settings

HIGH_LEVELS = ("L2", "L3")


def rank(level: str | None) -> int:
    """A level's place on the ladder (none 0 .. L3 3); an unknown level counts as none."""
    return ESCALATION_LEVELS.index(level) if level in ESCALATION_LEVELS else 0


@dataclass(frozen=True)
class EscalationTiming:
    """One escalated case's timing: business time at first line, its resolution target, and the verdicts."""

    first_line: dt.timedelta | None  # None: never handed off through the desk
    target: dt.timedelta | None  # None: the case has no priority
    too_late: bool
    came_back_down: bool  # resolved at a lower level than it was escalated to

    @property
    def share_of_target(self) -> float | None:
        if self.first_line is None or not self.target:
            return None
        return self.first_line / self.target


def escalation_timing(
    settings: Settings, case: IncidentRecord, handoffs: Sequence[HandoffRecord], moves: Sequence[StatusMove] = ()
) -> EscalationTiming:
    """How ``case`` (with its hand-offs and status moves, oldest first) was escalated, on its SLA clock: the business
    time of its category, less the time it waited in a paused status (waiting for the requester is not first line's
    delay)."""
    first_line = None
    if handoffs:
        start, until = case.created_at, handoffs[0].created_at
        paused = paused_spans(settings, start, case.status, moves, until)
        first_line = clock_time(settings, start, until, category=case.category, paused=paused)
    hours = settings.resolution_targets_hours.get(case.priority) if case.priority else None
    target = None if hours is None else dt.timedelta(hours=hours)
    resolved = case.status in RESOLVED_STATUSES
    too_late = (
        resolved
        and case.escalation_level in HIGH_LEVELS
        and first_line is not None
        and target is not None
        and first_line > settings.drills.too_late_share * target
    )
    peak = max((rank(h.level) for h in handoffs), default=0)
    return EscalationTiming(first_line, target, too_late, resolved and rank(case.escalation_level) < peak)
