"""The controlled vocabularies the knowledge base stores: canonical values only."""

from __future__ import annotations

from typing import Literal, get_args

Priority = Literal["P1", "P2", "P3", "P4"]
EscalationLevel = Literal["none", "L1", "L2", "L3"]
# The default workflow's statuses (the workflow in settings may add others); imports accept these.
Status = Literal[
    "new", "triage", "in_progress", "waiting_requester", "waiting_vendor", "escalated", "resolved", "closed", "reopened"
]
Language = Literal["ja", "en"]
# ITIL's three-step scales; the priority matrix (in settings) maps impact x urgency to a priority.
Level3 = Literal["high", "medium", "low"]

PRIORITIES: tuple[str, ...] = get_args(Priority)
ESCALATION_LEVELS: tuple[str, ...] = get_args(EscalationLevel)
STATUSES: tuple[str, ...] = get_args(Status)
LANGUAGES: tuple[str, ...] = get_args(Language)
IMPACTS: tuple[str, ...] = get_args(Level3)
URGENCIES: tuple[str, ...] = IMPACTS

Role = Literal["agent", "lead", "admin"]
MessageKind = Literal["from_requester", "to_requester", "note"]
# "chosen": the agent set a value where the assistant was not sure (neither accepting nor overriding a suggestion).
Decision = Literal["accepted", "overridden", "chosen"]
ROLES: tuple[str, ...] = get_args(Role)
MESSAGE_KINDS: tuple[str, ...] = get_args(MessageKind)
DECISIONS: tuple[str, ...] = get_args(Decision)

# Only these feed the similar-case index: a case is knowledge once it has a resolution.
RESOLVED_STATUSES: tuple[str, ...] = ("resolved", "closed")

ESCALATION_LABELS = {
    "none": "none (first line)",
    "L1": "L1 senior helpdesk",
    "L2": "L2 specialist team",
    "L3": "L3 external vendor",
}
