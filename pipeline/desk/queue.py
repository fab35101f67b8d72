"""The shared queue: every open case with its owner, priority, category, age, next SLA deadline and duplicate flag;
the "mine" and "unassigned" views, filters and sorting. Entries are typed values: the edges word them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from kb import IncidentRecord
from kb.models import utcnow
from pipeline.desk.sla import Deadline, deadlines
from pipeline.workspace import Workspace

View = Literal["all", "mine", "unassigned"]
Sort = Literal["priority", "due", "oldest", "newest", "updated"]
VIEWS: tuple[View, ...] = ("all", "mine", "unassigned")
SORTS: tuple[Sort, ...] = ("priority", "due", "oldest", "newest", "updated")


@dataclass(frozen=True)
class QueueEntry:
    """One open case as the queue shows it, at ``now``: the case, how long it has been open, its next deadline."""

    case: IncidentRecord
    age: dt.timedelta
    deadline: Deadline | None


def queue(
    ws: Workspace,
    *,
    view: View = "all",
    user: str | None = None,
    statuses: Collection[str] = (),
    priorities: Collection[str] = (),
    categories: Collection[str] = (),
    sla: Collection[str] = (),
    sort: Sort = "priority",
    now: dt.datetime | None = None,
) -> list[QueueEntry]:
    """The open cases a view shows, in ``sort`` order; "mine" includes the cases ``user`` follows.

    ``sla`` keeps the cases whose next deadline is in one of these states (``pipeline.desk.sla.STATES``).
    """
    now = now or utcnow()
    cases = ws.kb.open_incidents()
    if view == "mine":
        followed = ws.kb.followed_by(user) if user else set()
        cases = [c for c in cases if user and (c.assignee == user or c.id in followed)]
    elif view == "unassigned":
        cases = [c for c in cases if not c.assignee]
    cases = [
        c
        for c in cases
        if (not statuses or c.status in statuses)
        and (not priorities or c.priority in priorities)
        and (not categories or c.category in categories)
    ]
    due = deadlines(ws, cases, now)
    if sla:
        cases = [c for c in cases if due[c.id] is not None and due[c.id].state in sla]
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    order = {
        "priority": lambda c: (c.priority or "P9", c.created_at),
        "due": lambda c: (due[c.id].due_at if due[c.id] else never, c.created_at),
        "oldest": lambda c: c.created_at,
        "newest": lambda c: -c.created_at.timestamp(),
        "updated": lambda c: -c.updated_at.timestamp(),
    }[sort]
    return [QueueEntry(c, max(now - c.created_at, dt.timedelta(0)), due[c.id]) for c in sorted(cases, key=order)]
