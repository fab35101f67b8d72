"""Requesters: a requester's whole history in time order, and their addresses. (The team's accounts are
``pipeline.access.team``.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb import IncidentRecord, MessageRecord, RequesterRecord
from pipeline.access.accounts import Account, write_as
from pipeline.workspace import Workspace


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


def link_address(ws: Workspace, requester_id: int, address: str, *, actor: Account) -> None:
    """Add an address to a requester (refused if it belongs to someone else)."""
    with write_as(ws.kb, actor) as w:
        w.link_email(requester_id, address)


def unlink_address(ws: Workspace, address: str, *, actor: Account) -> None:
    with write_as(ws.kb, actor) as w:
        w.unlink_email(address)
