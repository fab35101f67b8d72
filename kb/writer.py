"""``Writer``: the changes one can make inside ``KnowledgeBase.write(actor)``, each checked against the vocabulary.

Storage only: who may claim a case, when a decision needs a reason and which status resolves a case are the
pipeline's rules (``pipeline.desk.casework``, ``pipeline.workflow``); here a change is kept whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from kb import models
from kb.accounts import AccountWrites
from kb.articles import ArticleWrites
from kb.attachments import AttachmentWrites
from kb.audit import change_time
from kb.deliveries import DeliveryWrites
from kb.drills import DrillWrites
from kb.errors import (
    IncidentNotFound,
    InvalidValue,
    RequesterNotFound,
    StaleEdit,
)
from kb.inbound import InboundWrites
from kb.jobs import JobWrites
from kb.merges import MergeWrites
from kb.notices import NoticeWrites
from kb.problems import ProblemWrites
from kb.ratings import RatingWrites
from kb.records import (
    HandoffRecord,
    IncidentRecord,
    NewSuggestion,
    NewTemplate,
    SuggestionRecord,
)
from kb.registry import RegistryWrites
from kb.tokens import TokenWrites
from kb.vocab import NEW_STATUS, check, required
from words import Phrase

EDITABLE_FIELDS = (
    "title",
    "body",
    "language",
    "requester_id",
    "category",
    "priority",
    "escalation_level",
    "impact",
    "urgency",
    "status",
    "assignee",
    "created_at",
    "resolved_at",
    "resolution",
    "root_cause",
    "duplicate_of",
)


def normalise_email(address: str) -> str:
    """``'Taro <Taro@Example.jp>'`` -> ``'taro@example.jp'``; raises InvalidValue if it is no address."""
    _, addr = parseaddr(address or "")
    addr = addr.strip().lower()
    local, _, domain = addr.partition("@")
    if not local or "." not in domain:
        raise InvalidValue("not_an_address", address=repr(address))
    return addr


class Writer(
    AccountWrites,
    JobWrites,
    RegistryWrites,
    TokenWrites,
    DeliveryWrites,
    NoticeWrites,
    AttachmentWrites,
    InboundWrites,
    ArticleWrites,
    DrillWrites,
    ProblemWrites,
    MergeWrites,
    RatingWrites,
):
    """Changes within one transaction. Get one from ``KnowledgeBase.write(actor)``; never build it directly."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def now(self) -> dt.datetime:
        """The time of this transaction's changes: now, or the past moment a replay writes them at."""
        return change_time(self._session)

    def connection(self) -> Connection:
        """This transaction's connection: for derived data that must commit with the change (on PostgreSQL, the
        similar-case vectors of a case being resolved)."""
        return self._session.connection()

    def record_event(
        self,
        entity: str,
        entity_id: int,
        action: str,
        *,
        field: str | None = None,
        new_value: str | None = None,
        old_value: str | None = None,
    ) -> None:
        """Log something that happened to a row without changing it (an SLA clock running out, say), or a change
        to a row the event log does not follow by itself, as this transaction's actor at its time."""
        self._session.add(
            models.Event(
                at=self.now(),
                actor=self._session.info["actor"],
                entity=entity,
                entity_id=entity_id,
                action=action,
                field=field,
                old_value=old_value,
                new_value=new_value,
            )
        )

    def set_meta(self, key: str, value: str) -> None:
        """Store a fact about this database under ``key`` (replacing any earlier value)."""
        self._session.merge(models.Meta(key=key, value=value))
        self._session.flush()

    def add_incidents(self, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store new incidents (keyword fields as in ``add_incident``) in one flush; returns their ids."""
        objs = []
        for row in rows:
            unknown = set(row) - set(EDITABLE_FIELDS) - {"import_key", "updated_at", "sent_at", "mail_id"}
            if unknown:
                raise TypeError(f"unknown incident fields {sorted(unknown)}; valid: {', '.join(EDITABLE_FIELDS)}")
            for field, value in row.items():
                check(field, value)
            if not (row.get("title") or "").strip():
                raise InvalidValue("required_empty", what=Phrase("what_incident_title"))
            values = dict(row)
            values.setdefault("body", "")
            values.setdefault("status", NEW_STATUS)
            values.setdefault("created_at", self.now())
            values.setdefault("updated_at", values.get("resolved_at") or values["created_at"])
            objs.append(models.Incident(**values))
        self._session.add_all(objs)
        self._session.flush()
        return [obj.id for obj in objs]

    def add_incident(self, *, title: str, language: str, body: str = "", **fields: Any) -> int:
        """Store one new incident and return its id."""
        return self.add_incidents([dict(title=title, body=body, language=language, **fields)])[0]

    def last_event(self, entity: str, entity_id: int) -> models.Event | None:
        """The newest event about a record: who changed it last, and when (what a stale edit's refusal names)."""
        newest = select(models.Event).where(models.Event.entity == entity, models.Event.entity_id == entity_id)
        return self._session.scalars(newest.order_by(models.Event.id.desc()).limit(1)).first()

    def _incident(self, incident_id: int, expected_version: int | None = None) -> models.Incident:
        """The incident's row, locked until this transaction ends; StaleEdit if it is no longer at the version the
        caller saw."""
        # FOR UPDATE (PostgreSQL; SQLite locks the whole file anyway): under READ COMMITTED each statement may see a
        # newer row, so a check made on one read (who holds the case) could pass while another transaction commits.
        row = self._session.get(models.Incident, incident_id, with_for_update=True)
        if row is None:
            raise IncidentNotFound("incident_not_found", id=incident_id)
        if expected_version is not None and row.version != expected_version:
            last = self.last_event("incident", incident_id)
            if last is None:
                raise StaleEdit("stale_edit", case=incident_id)
            raise StaleEdit("stale_edit_by", case=incident_id, who=last.actor, at=last.at)
        return row

    def incident(self, incident_id: int, expected_version: int | None = None) -> IncidentRecord:
        """The incident as this transaction sees it; StaleEdit if it is no longer at ``expected_version``."""
        return IncidentRecord.from_row(self._incident(incident_id, expected_version), with_requester=False)

    def update_incident(
        self, incident_id: int, *, expected_version: int | None = None, **changes: Any
    ) -> IncidentRecord:
        """Change some fields of an incident; each change is logged with its old and new value.

        With ``expected_version``, refused (StaleEdit) if someone changed the incident since that version.
        """
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise TypeError(f"cannot edit {sorted(unknown)}; editable fields: {', '.join(EDITABLE_FIELDS)}")
        row = self._incident(incident_id, expected_version)
        for field, value in changes.items():
            check(field, value)
            setattr(row, field, value)
        self._session.flush()
        return IncidentRecord.from_row(row)

    def add_requester(self, name: str, emails: Iterable[str] = (), *, department: str | None = None) -> int:
        if not (name or "").strip():
            raise InvalidValue("required_empty", what=Phrase("what_requester_name"))
        requester = models.Requester(name=name.strip(), department=department)
        self._session.add(requester)
        self._session.flush()
        for address in emails:
            self.link_email(requester.id, address)
        return requester.id

    def link_email(self, requester_id: int, address: str) -> None:
        """Add an address to a requester; refused if it already belongs to someone else."""
        addr = normalise_email(address)
        if self._session.get(models.Requester, requester_id) is None:
            raise RequesterNotFound("requester_not_found", id=requester_id)
        owner = self.requester_for_email(addr)
        if owner == requester_id:
            return
        if owner is not None:
            raise InvalidValue("address_taken", address=addr, owner=owner)
        self._session.add(models.RequesterEmail(requester_id=requester_id, address=addr))
        self._session.flush()

    def unlink_email(self, address: str) -> None:
        addr = normalise_email(address)
        row = self._session.scalar(select(models.RequesterEmail).where(models.RequesterEmail.address == addr))
        if row is None:
            raise RequesterNotFound("address_not_linked", address=addr)
        self._session.delete(row)
        self._session.flush()

    def requester_for_email(self, address: str) -> int | None:
        addr = normalise_email(address)
        return self._session.scalar(
            select(models.RequesterEmail.requester_id).where(models.RequesterEmail.address == addr)
        )

    def requester_by_unique_name(self, name: str) -> int | None:
        """The requester with exactly this name, if there is exactly one."""
        ids = self._session.scalars(
            select(models.Requester.id).where(models.Requester.name == name.strip()).limit(2)
        ).all()
        return ids[0] if len(ids) == 1 else None

    def add_message(
        self,
        incident_id: int,
        *,
        kind: str,
        author: str,
        body: str,
        subject: str = "",
        at: dt.datetime | None = None,
        sent_at: dt.datetime | None = None,
        mail_id: str | None = None,
    ) -> int:
        """Add to a case's conversation: a message from or to the requester, or an internal note. ``at``: when it
        was received or written (now, unless replayed); ``sent_at``: what a mail's Date header claims (for a reply,
        when the mail server accepted it); ``mail_id``: the mail's Message-ID."""
        check("kind", kind)
        self._incident(incident_id)
        message = models.Message(
            incident_id=incident_id,
            kind=kind,
            author=required("what_message_author", author),
            subject=subject or "",
            body=required("what_message", body),
            at=at or self.now(),
            sent_at=sent_at,
            mail_id=mail_id,
        )
        self._session.add(message)
        self._session.flush()
        return message.id

    def add_suggestions(self, incident_id: int, suggestions: Sequence[NewSuggestion]) -> None:
        """Store what the assistant suggested at intake: per target its value (None if not sure), best, confidence."""
        self._incident(incident_id)
        for s in suggestions:
            check(s.target, s.value)
        self._session.add_all(
            models.Suggestion(incident_id=incident_id, **(asdict(s) | {"created_at": s.created_at or self.now()}))
            for s in suggestions
        )
        self._session.flush()

    def decide(
        self,
        incident_id: int,
        target: str,
        *,
        decision: str,
        final_value: str | None,
        user: str,
        reason: str = "",
    ) -> SuggestionRecord:
        """Record what an agent made of a stored suggestion: accepted, overridden or chosen, with the final value."""
        check("decision", decision)
        check(target, final_value)
        row = self._session.scalar(
            select(models.Suggestion).where(
                models.Suggestion.incident_id == incident_id, models.Suggestion.target == target
            )
        )
        if row is None:
            raise InvalidValue("no_stored_suggestion", case=incident_id, target=Phrase(f"target_{target}"))
        row.decision, row.final_value, row.reason = decision, final_value, (reason or "").strip() or None
        row.decided_by, row.decided_at = user, self.now()
        self._session.flush()
        return SuggestionRecord.from_row(row)

    def add_handoff(
        self,
        incident_id: int,
        *,
        level: str,
        holder: str,
        package: str,
        created_by: str,
        criteria: Collection[str] = (),
    ) -> HandoffRecord:
        """Store an escalation with its package and the escalation guide's criteria ticked for it."""
        check("escalation_level", level)
        row = models.Handoff(
            incident_id=incident_id,
            level=level,
            holder=required("what_holder", holder),
            package=required("what_package", package),
            created_by=created_by,
            criteria=sorted(criteria),
            created_at=self.now(),
        )
        self._session.add(row)
        self._session.flush()
        return HandoffRecord.from_row(row)

    def mark_posted(self, handoff_id: int, outcome: str) -> HandoffRecord:
        """Record where a hand-off package was posted, or why posting it failed."""
        row = self._session.get(models.Handoff, handoff_id)
        if row is None:
            raise InvalidValue("handoff_not_found", id=handoff_id)
        row.posted = outcome
        self._session.flush()
        return HandoffRecord.from_row(row)

    def follow(self, incident_id: int, user: str) -> None:
        self._incident(incident_id)
        if self._session.get(models.Follower, (incident_id, user)) is None:
            self._session.add(models.Follower(incident_id=incident_id, user=user))
            self._session.flush()

    def save_template(self, template: NewTemplate, *, template_id: int | None = None) -> int:
        """Add a reply template, or replace the one with ``template_id``."""
        check("language", template.language)
        name = required("what_template_name", template.name)
        clash = self._session.scalar(select(models.ReplyTemplate.id).where(models.ReplyTemplate.name == name))
        if clash is not None and clash != template_id:
            raise InvalidValue("template_exists", name=name)
        row = models.ReplyTemplate() if template_id is None else self._session.get(models.ReplyTemplate, template_id)
        if row is None:
            raise InvalidValue("template_not_found", id=template_id)
        row.name, row.language, row.subject = name, template.language, template.subject.strip()
        row.body = required("what_template_body", template.body)
        row.subject_keywords = [k.strip() for k in template.subject_keywords if k.strip()]
        row.body_keywords = [k.strip() for k in template.body_keywords if k.strip()]
        self._session.add(row)
        self._session.flush()
        return row.id

    def delete_template(self, template_id: int) -> None:
        row = self._session.get(models.ReplyTemplate, template_id)
        if row is None:
            raise InvalidValue("template_not_found", id=template_id)
        self._session.delete(row)
        self._session.flush()
