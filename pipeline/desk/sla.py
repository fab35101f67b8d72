"""SLA clocks on open cases: by a case's priority, when its first reply to the requester and its resolution are due
(the settings' `response_targets_hours` and `resolution_targets_hours`, in clock time from when the case came in),
and whether the next of them is on track, close to a breach (less than `sla_warning_share` of its time left) or
breached. The clocks do not pause while a case waits for the requester or a vendor: the trends measure the same.

The worker looks every minute (``record_crossings``): a case whose clock came close to a breach, or ran out, gets
that in its event log once, which is what notices to the people on the case go out from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kb import IncidentRecord
from kb.models import utcnow
from kb.vocab import RESOLVED_STATUSES
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.workspace import Workspace

Clock = Literal["response", "resolution"]
State = Literal["on_track", "warning", "breached"]
STATES: tuple[State, ...] = ("breached", "warning", "on_track")  # the most urgent first


@dataclass(frozen=True)
class Deadline:
    """A case's next deadline, as it stands at ``now``."""

    clock: Clock
    due_at: dt.datetime
    target_hours: float
    state: State
    now: dt.datetime

    @property
    def left(self) -> dt.timedelta:
        """How long until the deadline (negative once breached)."""
        return self.due_at - self.now


def deadline(
    case: IncidentRecord, first_reply_at: dt.datetime | None, settings: Settings, now: dt.datetime
) -> Deadline | None:
    """The next deadline of a case still open: its first reply until it has one, and its resolution; whichever is
    due first. None for a resolved case, or one whose priority has no target."""
    if case.status in RESOLVED_STATUSES or case.priority is None:
        return None
    clocks: list[tuple[Clock, dict]] = [("resolution", settings.resolution_targets_hours)]
    if first_reply_at is None:
        clocks.append(("response", settings.response_targets_hours))
    pending = [(clock, targets[case.priority]) for clock, targets in clocks if case.priority in targets]
    if not pending:
        return None
    clock, hours = min(pending, key=lambda pair: pair[1])
    due = case.created_at + dt.timedelta(hours=hours)
    left = due - now
    if left < dt.timedelta(0):
        state: State = "breached"
    elif left < dt.timedelta(hours=hours * settings.sla_warning_share):
        state = "warning"
    else:
        state = "on_track"
    return Deadline(clock, due, hours, state, now)


# The event each state a clock crosses into leaves in the case's history.
CROSSINGS: dict[State, str] = {"warning": "sla_warning", "breached": "sla_breached"}
CLOCK_KEEPER = "SLA clock"  # who the event log says recorded a crossing


@dataclass(frozen=True)
class Crossing:
    """A case's clock that came close to its deadline or passed it."""

    case: int
    clock: Clock
    state: State
    due_at: dt.datetime


def record_crossings(ws: Workspace, *, now: dt.datetime | None = None) -> list[Crossing]:
    """Every open case whose next deadline is close or past and whose history does not say so yet: recorded
    there now (once per case, clock and state; a case that went straight past its deadline gets only the breach)."""
    now = now or utcnow()
    cases = ws.kb.open_incidents()
    replied = ws.kb.first_replies([c.id for c in cases])
    recorded = ws.kb.case_events(CROSSINGS.values())
    found = []
    for case in cases:
        due = deadline(case, replied.get(case.id), ws.settings, now)
        if due is None or due.state not in CROSSINGS:
            continue
        if (case.id, CROSSINGS[due.state], f"clock_{due.clock}") not in recorded:
            found.append(Crossing(case.id, due.clock, due.state, due.due_at))
    if found:
        with ws.kb.write(CLOCK_KEEPER, at=now) as w:
            for x in found:
                w.record_event(
                    "incident", x.case, CROSSINGS[x.state], field=f"clock_{x.clock}", new_value=x.due_at.isoformat()
                )
    return found
