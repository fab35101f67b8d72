"""The controlled vocabularies the knowledge base stores: canonical values only (the catalogue in ``words`` names
them for people). Which statuses exist is the workflow's business, in the settings."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from kb.errors import InvalidValue
from words import Phrase

Priority = Literal["P1", "P2", "P3", "P4"]
EscalationLevel = Literal["none", "L1", "L2", "L3"]
Language = Literal["ja", "en"]
# ITIL's three-step scales; the priority matrix (in settings) maps impact x urgency to a priority.
Level3 = Literal["high", "medium", "low"]

PRIORITIES: tuple[str, ...] = get_args(Priority)
ESCALATION_LEVELS: tuple[str, ...] = get_args(EscalationLevel)
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

# Each field with a controlled vocabulary, and its values: what the knowledge base accepts, and what a person picks.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "priority": PRIORITIES,
    "escalation_level": ESCALATION_LEVELS,
    "impact": IMPACTS,
    "urgency": URGENCIES,
    "language": LANGUAGES,
    "role": ROLES,
    "kind": MESSAGE_KINDS,
    "decision": DECISIONS,
}

# Every workflow has these statuses (the settings check), whatever else it names: a case comes in as new, and is
# knowledge once resolved (only resolved and closed cases feed the similar-case index and the models).
NEW_STATUS = "new"
RESOLVED_STATUSES: tuple[str, ...] = ("resolved", "closed")

# Which statuses exist is the workflow's business (configurable); the knowledge base only keeps them tidy.
_STATUS_NAME = re.compile(r"[a-z][a-z0-9_]{0,29}")


def check(field: str, value: Any) -> None:
    """InvalidValue unless ``value`` is one of the field's vocabulary (if it has one), or a tidy status name."""
    allowed = VOCABULARIES.get(field)
    if allowed is not None and value is not None and value not in allowed:
        raise InvalidValue("value_not_in_vocabulary", field=field, allowed=list(allowed), value=repr(value))
    if field == "status" and not _STATUS_NAME.fullmatch(str(value)):
        raise InvalidValue("status_name_untidy", value=repr(value))


def required(what: str, text: str | None) -> str:
    """``text`` without surrounding blanks; InvalidValue (``what`` is the code of the missing thing) if empty."""
    if not (text or "").strip():
        raise InvalidValue("required_empty", what=Phrase(what))
    return text.strip()
