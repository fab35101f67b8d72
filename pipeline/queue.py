"""The shared queue: every open case with its status, owner, priority, category, age, SLA clock and duplicate
flag; the "mine" and "unassigned" views, filters and sorting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Literal

import pandas as pd

from kb.models import utcnow
from pipeline.sla import Deadline, deadline
from pipeline.workspace import Workspace

View = Literal["all", "mine", "unassigned"]
Sort = Literal["priority", "due", "oldest", "newest", "updated"]
VIEWS: tuple[View, ...] = ("all", "mine", "unassigned")
SORTS: tuple[Sort, ...] = ("priority", "due", "oldest", "newest", "updated")
COLUMNS = [
    "id",
    "title",
    "status",
    "owner",
    "priority",
    "category",
    "requester",
    "age",
    "sla",
    "clock",
    "due_in",
    "duplicate_of",
]


def age(since: dt.datetime, now: dt.datetime) -> str:
    """'3 d 4 h', '5 h 10 min', '12 min': how long from ``since`` to ``now``, at a glance (never negative)."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def sla_fields(due: Deadline | None, now: dt.datetime) -> dict[str, str]:
    """A case's next deadline at a glance: its state, its clock, and how long until it (since it, once breached)."""
    if due is None:
        return {"sla": "", "clock": "", "due_in": ""}
    due_in = age(due.due_at, now) if due.state == "breached" else age(now, due.due_at)
    return {"sla": due.state, "clock": due.clock, "due_in": due_in}


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
    language: str = "en",
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """The open cases a view shows, one row each (``COLUMNS``); "mine" includes the cases ``user`` follows.

    ``sla`` keeps the cases whose next deadline is in one of these states (``pipeline.sla.STATES``); ``clock`` says
    which deadline that is and ``due_in`` how long until it, or since it when breached.
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
    replied = ws.kb.first_replies([c.id for c in cases])
    deadlines = {c.id: deadline(c, replied.get(c.id), ws.settings, now) for c in cases}
    if sla:
        cases = [c for c in cases if deadlines[c.id] is not None and deadlines[c.id].state in sla]
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    order = {
        "priority": lambda c: (c.priority or "P9", c.created_at),
        "due": lambda c: (deadlines[c.id].due_at if deadlines[c.id] else never, c.created_at),
        "oldest": lambda c: c.created_at,
        "newest": lambda c: -c.created_at.timestamp(),
        "updated": lambda c: -c.updated_at.timestamp(),
    }[sort]
    rows = [
        {
            "id": c.id,
            "title": c.title,
            "status": ws.workflow.label(c.status, language),
            "owner": c.assignee or "",
            "priority": c.priority or "",
            "category": c.category or "",
            "requester": c.requester_name or "",
            "age": age(c.created_at, now),
            **sla_fields(deadlines[c.id], now),
            "duplicate_of": f"#{c.duplicate_of}" if c.duplicate_of else "",
        }
        for c in sorted(cases, key=order)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)
