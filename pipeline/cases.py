"""A case file: one incident with its requester and its full history, as an agent opens it."""

from __future__ import annotations

from dataclasses import dataclass

from kb import EventRecord, IncidentRecord, KnowledgeBase, RequesterRecord


@dataclass(frozen=True)
class CaseFile:
    incident: IncidentRecord
    requester: RequesterRecord | None
    history: list[EventRecord]


def case_file(kb: KnowledgeBase, incident_id: int) -> CaseFile:
    """Everything recorded about one incident; raises IncidentNotFound for an unknown id."""
    incident = kb.incident(incident_id)
    requester = kb.requester(incident.requester_id) if incident.requester_id is not None else None
    return CaseFile(incident, requester, kb.events("incident", incident_id))
