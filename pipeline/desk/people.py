"""Requesters and the team: a requester's whole history in time order, their addresses, and who works here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb import IncidentRecord, MessageRecord, RequesterRecord, UserNotFound
from pipeline.workspace import Workspace

# Who may review the assistant: its quality, thresholds and versions, the escalations and the knowledge base.
REVIEWER_ROLES = ("lead", "admin")


@dataclass(frozen=True)
class Entry:
    """One line of a requester's timeline: a case they opened, or a message on one."""

    at: dt.datetime
    case: IncidentRecord
    message: MessageRecord | None = None


@dataclass(frozen=True)
class RequesterHistory:
    requester: RequesterRecord
    cases: list[IncidentRecord]
    timeline: list[Entry]


def requester_history(ws: Workspace, requester_id: int) -> RequesterHistory:
    """Every case of a requester and every message on them, oldest first; RequesterNotFound if unknown."""
    requester = ws.kb.requester(requester_id)
    cases = ws.kb.requester_incidents(requester_id)
    by_id = {c.id: c for c in cases}
    entries = [Entry(c.created_at, c) for c in cases]
    entries += [Entry(m.at, by_id[m.incident_id], m) for m in ws.kb.messages(list(by_id)) if m.kind != "note"]
    entries.sort(key=lambda e: (e.at, e.message is not None))
    return RequesterHistory(requester, cases, entries)


def link_address(ws: Workspace, requester_id: int, address: str, *, user: str) -> None:
    """Add an address to a requester (refused if it belongs to someone else)."""
    with ws.kb.write(user) as w:
        w.link_email(requester_id, address)


def unlink_address(ws: Workspace, address: str, *, user: str) -> None:
    with ws.kb.write(user) as w:
        w.unlink_email(address)


def add_user(ws: Workspace, name: str, role: str, *, user: str) -> int:
    with ws.kb.write(user) as w:
        return w.add_user(name, role)


def set_user(ws: Workspace, user_id: int, *, user: str, **changes: object) -> None:
    """Change a team member's role or active flag."""
    with ws.kb.write(user) as w:
        w.update_user(user_id, **changes)


def may_review(ws: Workspace, user: str | None) -> bool:
    """Whether ``user`` is an active lead or admin."""
    try:
        member = ws.kb.user(user) if user else None
    except UserNotFound:
        return False
    return member is not None and member.active and member.role in REVIEWER_ROLES
