"""A case file: one incident with its requester, conversation, suggestions, escalations and full history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb import (
    EventRecord,
    HandoffRecord,
    IncidentRecord,
    KnowledgeBase,
    MessageRecord,
    RequesterRecord,
    SuggestionRecord,
)


@dataclass(frozen=True)
class CaseFile:
    incident: IncidentRecord
    requester: RequesterRecord | None
    history: list[EventRecord]
    messages: list[MessageRecord]
    suggestions: dict[str, SuggestionRecord]
    handoffs: list[HandoffRecord]
    followers: list[str]

    @property
    def notes(self) -> list[MessageRecord]:
        """What was tried and found: the agents' internal notes."""
        return [m for m in self.messages if m.kind == "note"]

    @property
    def first_reply_at(self) -> dt.datetime | None:
        """When the requester first had a reply (None before it)."""
        return min((m.at for m in self.messages if m.kind == "to_requester"), default=None)

    @property
    def conversation(self) -> list[MessageRecord]:
        """The messages exchanged with the requester."""
        return [m for m in self.messages if m.kind != "note"]


def case_file(kb: KnowledgeBase, incident_id: int) -> CaseFile:
    """Everything recorded about one incident; raises IncidentNotFound for an unknown id."""
    incident = kb.incident(incident_id)
    requester = kb.requester(incident.requester_id) if incident.requester_id is not None else None
    return CaseFile(
        incident,
        requester,
        kb.events("incident", incident_id),
        kb.messages([incident_id]),
        {s.target: s for s in kb.suggestions(incident_id)},
        kb.handoffs(incident_id),
        kb.followers(incident_id),
    )
