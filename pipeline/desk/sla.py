"""SLA clocks on open cases: by a case's priority, when its first reply to the requester and its resolution are due
(the settings' `response_targets_hours` and `resolution_targets_hours`, in business hours from when the case came
in), and whether the next of them is on track, close to a breach (less than `sla_warning_share` of its time left)
or breached.

The clocks run in the desk's business time (``Settings.sla``: the calendar of the case's category, its working
hours and holidays; ``business_time``) and stand still while the case is in a status the settings name as paused
(waiting for the requester, by default): the case's status moves in its event log say when. The trends measure the
same (``clock_time``).

The worker looks every minute (``record_crossings``): a case whose clock came close to a breach, or ran out, gets
that in its event log once, which is what notices to the people on the case go out from; and, when the settings
ask for it, a case about to breach its resolution target is raised to the next level (``raise_before_breach``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kb import IncidentRecord
from kb.models import utcnow
from kb.sla import StatusMove
from kb.vocab import RESOLVED_STATUSES
from pipeline.desk.business_time import add_working_time, working_time
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.workspace import Workspace

Clock = Literal["response", "resolution"]
State = Literal["on_track", "warning", "breached"]
STATES: tuple[State, ...] = ("breached", "warning", "on_track")  # the most urgent first
Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Deadline:
    """A case's next deadline, as it stands at ``now``: ``left`` is business time (negative once breached: by how
    much), ``due_at`` the instant the clock runs out if it runs on from now; ``paused`` while it stands still."""

    clock: Clock
    due_at: dt.datetime
    target_hours: float
    state: State
    now: dt.datetime
    left: dt.timedelta
    paused: bool = False


def paused_spans(
    settings: Settings, created_at: dt.datetime, status: str, moves: Sequence[StatusMove], until: dt.datetime
) -> list[Span]:
    """When a case's clocks stood still up to ``until``: each stay in a paused status, from its status moves
    (oldest first) and its ``status`` now; the status before the first move is the one it was created with."""
    paused = set(settings.sla.paused_statuses)
    status, since = (moves[0].old if moves else status), created_at
    spans = []
    for move in moves:
        if move.at >= until:
            break
        if status in paused and move.at > since:
            spans.append((since, move.at))
        status, since = move.new, max(since, move.at)
    if status in paused and until > since:
        spans.append((since, until))
    return spans


def clock_time(
    settings: Settings,
    start: dt.datetime,
    end: dt.datetime,
    *,
    category: str | None = None,
    paused: Sequence[Span] = (),
) -> dt.timedelta:
    """The time an SLA clock ran between two instants: business time on the category's calendar, less the
    business time of the ``paused`` spans (``paused_spans``) within."""
    ran = working_time(settings, start, end, category=category)
    for stop, go in paused:
        ran -= working_time(settings, max(stop, start), min(go, end), category=category)
    return ran


def _due(
    settings: Settings, case: IncidentRecord, target: dt.timedelta, paused: Sequence[Span], now: dt.datetime
) -> dt.datetime:
    """The instant the clock reached ``target``: along its running stretches up to ``now``, then on from now."""
    remaining, since = target, case.created_at
    for stop, go in [*paused, (now, now)]:
        if (stop := min(stop, now)) > since:
            ran = working_time(settings, since, stop, category=case.category)
            if ran >= remaining:
                return add_working_time(settings, since, remaining, category=case.category)
            remaining -= ran
        since = max(since, go)
    return add_working_time(settings, max(since, now), remaining, category=case.category)


def clock_deadline(
    case: IncidentRecord,
    clock: Clock,
    hours: float,
    settings: Settings,
    now: dt.datetime,
    paused: Sequence[Span] = (),
) -> Deadline:
    """One clock of a case (``hours`` its target) as it stands at ``now``."""
    target = dt.timedelta(hours=hours)
    left = target - clock_time(settings, case.created_at, now, category=case.category, paused=paused)
    if left <= dt.timedelta(0):
        state: State = "breached"
    elif left < target * settings.sla_warning_share:
        state = "warning"
    else:
        state = "on_track"
    stopped = bool(paused) and paused[-1][1] >= now
    return Deadline(clock, _due(settings, case, target, paused, now), hours, state, now, left, stopped)


def deadline(
    case: IncidentRecord,
    first_reply_at: dt.datetime | None,
    settings: Settings,
    now: dt.datetime,
    moves: Sequence[StatusMove] = (),
) -> Deadline | None:
    """The next deadline of a case still open: its first reply until it has one, and its resolution; whichever is
    due first. ``moves``: its status moves, for the time it stood still. None for a resolved case, or one whose
    priority has no target."""
    if case.status in RESOLVED_STATUSES or case.priority is None:
        return None
    clocks: list[tuple[Clock, dict]] = [("resolution", settings.resolution_targets_hours)]
    if first_reply_at is None:
        clocks.append(("response", settings.response_targets_hours))
    pending = [(clock, targets[case.priority]) for clock, targets in clocks if case.priority in targets]
    if not pending:
        return None
    paused = paused_spans(settings, case.created_at, case.status, moves, now)
    return min(
        (clock_deadline(case, clock, hours, settings, now, paused) for clock, hours in pending),
        key=lambda due: (due.left, due.target_hours),
    )


def deadlines(ws: Workspace, cases: Sequence[IncidentRecord], now: dt.datetime) -> dict[int, Deadline | None]:
    """The next deadline of each of these cases (``deadline``), their first replies and status moves read at once."""
    ids = [c.id for c in cases]
    replied, moves = ws.kb.first_replies(ids), ws.kb.status_moves(ids)
    return {c.id: deadline(c, replied.get(c.id), ws.settings, now, moves.get(c.id, ())) for c in cases}


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
    recorded = ws.kb.case_events(CROSSINGS.values())
    found = []
    for case_id, due in deadlines(ws, ws.kb.open_incidents(), now).items():
        if due is None or due.state not in CROSSINGS:
            continue
        if (case_id, CROSSINGS[due.state], f"clock_{due.clock}") not in recorded:
            found.append(Crossing(case_id, due.clock, due.state, due.due_at))
    if found:
        with ws.kb.write(CLOCK_KEEPER, at=now) as w:
            for x in found:
                w.record_event(
                    "incident", x.case, CROSSINGS[x.state], field=f"clock_{x.clock}", new_value=x.due_at.isoformat()
                )
    return found
