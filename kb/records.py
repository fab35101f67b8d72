"""Small immutable results the knowledge base hands out, so callers never hold a session or an ORM row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Self

from kb import models


class _Record:
    """A record built from the same-named attributes of an ORM row."""

    __slots__ = ()

    @classmethod
    def from_row(cls, row: object, **given: Any) -> Self:
        """The record of ``row``, with the fields in ``given`` taken from there instead (a column not loaded)."""
        return cls(**{f.name: given[f.name] if f.name in given else getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    title: str
    body: str
    language: str
    requester_id: int | None
    category: str | None
    priority: str | None
    escalation_level: str | None
    impact: str | None
    urgency: str | None
    status: str
    assignee: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    root_cause: str | None
    duplicate_of: int | None = None
    version: int = 1
    requester_name: str | None = None
    sent_at: dt.datetime | None = None
    mail_id: str | None = None  # the Message-ID of the mail it came from

    @classmethod
    def from_row(cls, row: models.Incident, *, with_requester: bool = True) -> IncidentRecord:
        values = {f.name: getattr(row, f.name) for f in fields(cls) if f.name != "requester_name"}
        name = row.requester.name if with_requester and row.requester else None
        return cls(**values, requester_name=name)


@dataclass(frozen=True, slots=True)
class RequesterRecord:
    id: int
    name: str
    department: str | None
    emails: tuple[str, ...]

    @classmethod
    def from_row(cls, row: models.Requester) -> RequesterRecord:
        return cls(row.id, row.name, row.department, tuple(e.address for e in row.emails))


@dataclass(frozen=True, slots=True)
class EventRecord(_Record):
    id: int
    at: dt.datetime
    actor: str
    entity: str
    entity_id: int
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True, slots=True)
class KBStats:
    incidents: int
    resolved: int
    requesters: int
    by_language: dict[str, int]
    suggestions: int  # stored at intake
    handoffs: int


@dataclass(frozen=True, slots=True)
class UserRecord(_Record):
    """An account as the pages and the pipeline see it: never its password hash."""

    id: int
    name: str
    email: str | None
    role: str
    active: bool
    locked_until: dt.datetime | None
    last_sign_in_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Credentials(_Record):
    """What checking a sign-in needs, read by the sign-in alone."""

    id: int
    name: str
    active: bool
    password_hash: str | None
    failed_sign_ins: int
    locked_until: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord(_Record):
    id: int
    user_id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    ended_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord(_Record):
    """A bearer token of the HTTP API, as kept: never the token itself."""

    id: int
    user_id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MessageRecord(_Record):
    """One entry of a case's conversation; ``kind`` is from_requester, to_requester or note."""

    id: int
    incident_id: int
    kind: str
    author: str
    subject: str
    body: str
    at: dt.datetime
    sent_at: dt.datetime | None = None
    mail_id: str | None = None


@dataclass(frozen=True, slots=True)
class SuggestionRecord(_Record):
    """A stored suggestion; ``decision`` is None until an agent accepts, overrides or chooses."""

    id: int
    incident_id: int
    target: str
    value: str | None
    best: str | None
    confidence: float
    model_version: int | None
    threshold_version: int | None
    created_at: dt.datetime
    decision: str | None
    final_value: str | None
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewSuggestion:
    """A suggestion to store (``Writer.add_suggestions``): made now, or at ``created_at`` for a replay of the past."""

    target: str
    value: str | None  # None: the assistant was not sure
    best: str  # its most likely value, also when not sure
    confidence: float
    model_version: int | None
    threshold_version: int | None
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class NewModelVersion:
    """A trained suggestion model to register (``Writer.add_model_version``): its file, that file's signature (an
    HMAC-SHA256 under a key kept outside the data folder), what it was trained on and with, and its metrics (JSON)."""

    artifact: str
    signature: str
    embedding_model: str
    snapshot: str
    n_train: int
    settings: dict
    metrics: dict


@dataclass(frozen=True, slots=True)
class ModelVersionRecord(NewModelVersion, _Record):
    """A trained suggestion model as the registry knows it: what was registered, and its id, time and state. The
    artifact itself is a file at ``artifact``."""

    id: int
    created_at: dt.datetime
    active: bool
    discarded_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewTemplate:
    """A reply template to save (``Writer.save_template``); its keyword lists may hold blanks, which are dropped."""

    name: str
    language: str
    subject: str
    body: str
    subject_keywords: Sequence[str] = ()
    body_keywords: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class HandoffRecord(_Record):
    id: int
    incident_id: int
    level: str
    holder: str
    package: str
    created_by: str
    created_at: dt.datetime
    posted: str | None
    criteria: list | None


@dataclass(frozen=True, slots=True)
class ThresholdPolicyRecord(_Record):
    """One version of the thresholds: per target a precision target, per target and class a set confidence."""

    id: int
    created_at: dt.datetime
    created_by: str
    precision: dict
    class_thresholds: dict
    note: str


@dataclass(frozen=True, slots=True)
class TemplateRecord(_Record):
    id: int
    name: str
    language: str
    subject_keywords: list
    body_keywords: list
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class JobRecord(_Record):
    """A job of the background worker as people follow it (``kb.models.Job``)."""

    id: int
    kind: str
    args: dict
    status: str
    created_by: str
    created_by_id: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker: str | None
    attempts: int
    step: dict | None
    done: int
    total: int | None
    result: dict | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


@dataclass(frozen=True)
class CaseFilter:
    """Which incidents a search may return; an empty field does not filter."""

    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    since: dt.date | None = None  # created on or after
    until: dt.date | None = None  # created on or before
    requester_id: int | None = None
    escalation_levels: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) not in ((), None) for f in fields(self))


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """Something to send out (``Writer.add_delivery``): once per ``key``, whoever adds it again."""

    key: str
    channel: str  # email, chat
    purpose: str  # reply, or the notice's kind
    recipient: str
    subject: str
    body: str
    language: str = "en"
    incident_id: int | None = None
    message_id: int | None = None  # the reply it carries
    mail_id: str | None = None  # its Message-ID header
    references: str | None = None  # the Message-IDs it answers, oldest first, space-separated


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord(NewDelivery, _Record):
    """A delivery as it stands: pending (with the time of its next try), sent (when the server accepted it) or
    failed (after its last try); ``error`` is the phrase (as a dict) of the last refusal."""

    id: int
    status: str
    attempts: int
    error: dict | None
    created_at: dt.datetime
    next_try_at: dt.datetime | None
    sent_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NoticeTemplateRecord(_Record):
    """An admin's wording of a kind of notice in one language."""

    kind: str
    language: str
    subject: str
    body: str
    updated_by: str
    updated_at: dt.datetime
