"""Business time: how much of the desk's working time lies between two instants, and the instant a span of it
after (or before) another, on the calendar a case's category runs on (``Settings.sla``; see ``sla_config``).

Instants are aware datetimes (UTC in the knowledge base); the calendar's days are walked in its own time zone, so
a daylight-saving change or a case reported at 23:50 Tokyo time count as the desk saw them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from pipeline.desk.sla_config import Calendar
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
ZERO = dt.timedelta(0)


def _openings(
    calendar: Calendar, at: dt.datetime, *, backwards: bool = False
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The calendar's openings (UTC) from the local day holding ``at`` on, one day after another, either way."""
    day = at.astimezone(calendar.zone).date()
    step = -ONE_DAY if backwards else ONE_DAY
    while True:
        if (opening := calendar.open_hours(day)) is not None:
            yield opening
        day += step


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got the naive {moment.isoformat()}")
    return moment


def working_time(
    settings: Settings, start: dt.datetime, end: dt.datetime, *, category: str | None = None
) -> dt.timedelta:
    """The desk's working time between two aware instants on the calendar of ``category`` (zero if end <= start)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    total = ZERO
    if end <= start:
        return total
    for opens, closes in _openings(settings.sla.calendar(category), start):
        if opens >= end:
            break
        total += max(ZERO, min(closes, end) - max(opens, start))
    return total


def add_working_time(
    settings: Settings, start: dt.datetime, span: dt.timedelta, *, category: str | None = None
) -> dt.datetime:
    """The instant ``span`` of working time after ``start`` (before it, for a negative span), on the calendar of
    ``category``. A span ending as the desk closes gives the closing instant, not the next opening."""
    start = _aware(start, "start").astimezone(dt.UTC)
    if span == ZERO:
        return start
    left = abs(span)
    backwards = span < ZERO
    for opens, closes in _openings(settings.sla.calendar(category), start, backwards=backwards):
        if backwards:
            usable = min(closes, start) - opens
            if usable > ZERO and usable >= left:
                return min(closes, start) - left
        else:
            usable = closes - max(opens, start)
            if usable > ZERO and usable >= left:
                return max(opens, start) + left
        left -= max(ZERO, usable)
    raise AssertionError("unreachable: a calendar opens on at least one weekday")  # _openings never ends
