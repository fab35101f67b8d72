"""Time-based escalation: when the settings ask for it (``Settings.sla.raise_before_breach``), an open case whose
resolution clock is running with less than ``raise_share`` of its target left (or none) and that is still below L3
is raised to the next level's holder (``Settings.escalation_holders``) by the worker's minute. The raise is the
desk's own escalation (``handoff.escalate``, the time-constraint criterion ticked, a package the next level reads),
recorded under the SLA clock's name; the hand-off it leaves is what tells the new holder (``notices``: kind
``sla_raised``) and keeps the clock from raising the same case twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from kb.errors import StaleEdit
from kb.models import utcnow
from kb.vocab import ESCALATION_LEVELS
from pipeline.access.accounts import Account
from pipeline.desk import handoff
from pipeline.desk.sla import CLOCK_KEEPER, Deadline, clock_deadline, paused_spans
from pipeline.workspace import Workspace
from words import duration, say

logger = logging.getLogger(__name__)

# The SLA clock acts as an agent would, under its own name, never as a person who signed in.
CLOCK = Account(id=None, name=CLOCK_KEEPER, role="agent")
CRITERION = "time_constraint"  # 時間的制約: the escalation guide's criterion a raise meets by definition


@dataclass(frozen=True)
class Raise:
    """A case the clock raised: from one level to the next, given to that level's holder."""

    case: int
    from_level: str
    to_level: str
    holder: str
    due_at: dt.datetime


def next_level(level: str | None) -> str | None:
    """The level above ``level`` (no level: the first line), or None at the top."""
    place = ESCALATION_LEVELS.index(level or ESCALATION_LEVELS[0])
    return ESCALATION_LEVELS[place + 1] if place + 1 < len(ESCALATION_LEVELS) else None


def _about_to_breach(ws: Workspace, due: Deadline) -> bool:
    target = dt.timedelta(hours=due.target_hours)
    return not due.paused and due.left < target * ws.settings.sla.raise_share


def raise_before_breach(ws: Workspace, *, now: dt.datetime | None = None) -> list[Raise]:
    """Raise every open case about to breach its resolution target to the next level, once per case; nothing when
    the settings do not ask for it. The cases raised."""
    if not ws.settings.sla.raise_before_breach:
        return []
    now = now or utcnow()
    targets = ws.settings.resolution_targets_hours
    cases = [c for c in ws.kb.open_incidents() if c.priority in targets and next_level(c.escalation_level)]
    moves = ws.kb.status_moves([c.id for c in cases])
    raised = []
    for case in cases:
        paused = paused_spans(ws.settings, case.created_at, case.status, moves.get(case.id, ()), now)
        due = clock_deadline(case, "resolution", targets[case.priority], ws.settings, now, paused)
        if not _about_to_breach(ws, due) or any(h.created_by == CLOCK_KEEPER for h in ws.kb.handoffs(case.id)):
            continue
        level = next_level(case.escalation_level)
        language = ws.settings.ui_language
        left = duration(max(due.left, dt.timedelta(0)), language, days=False)  # business hours, not days of 24
        why = say("sla_raised_why", language, left=left, due=due.due_at)
        package = handoff.draft(ws, case.id, level, criteria=(CRITERION,), why=why).markdown(language)
        try:
            record = handoff.escalate(
                ws, case.id, actor=CLOCK, version=case.version, level=level, package=package,
                criteria=(CRITERION,), follow=False,
            )  # fmt: skip
        except StaleEdit:  # an agent changed the case meanwhile: the next minute looks at it again
            logger.info("case %s changed while the SLA clock raised it; trying again next minute", case.id)
            continue
        raised.append(Raise(case.id, case.escalation_level or ESCALATION_LEVELS[0], level, record.holder, due.due_at))
    return raised
