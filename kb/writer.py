"""``Writer``: the changes one can make inside ``KnowledgeBase.write(actor)``, each checked against the vocabulary."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.audit import change_time
from kb.errors import (
    AlreadyClaimed,
    IncidentNotFound,
    InvalidValue,
    ModelVersionNotFound,
    RequesterNotFound,
    StaleEdit,
    UserNotFound,
)
from kb.models import (
    Event,
    Follower,
    Handoff,
    Incident,
    Message,
    Meta,
    ModelVersion,
    ReplyTemplate,
    Requester,
    RequesterEmail,
    Suggestion,
    ThresholdPolicy,
    User,
)
from kb.records import (
    HandoffRecord,
    IncidentRecord,
    ModelVersionRecord,
    SuggestionRecord,
    ThresholdPolicyRecord,
)
from kb.vocab import (
    DECISIONS,
    ESCALATION_LEVELS,
    IMPACTS,
    LANGUAGES,
    MESSAGE_KINDS,
    PRIORITIES,
    RESOLVED_STATUSES,
    ROLES,
    URGENCIES,
)

_VOCABULARY = {
    "priority": PRIORITIES,
    "escalation_level": ESCALATION_LEVELS,
    "impact": IMPACTS,
    "urgency": URGENCIES,
    "language": LANGUAGES,
    "role": ROLES,
    "kind": MESSAGE_KINDS,
    "decision": DECISIONS,
}
# Which statuses exist is the workflow's business (configurable); the knowledge base only keeps them tidy.
_STATUS_NAME = re.compile(r"[a-z][a-z0-9_]{0,29}")
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


def _check(field: str, value: Any) -> None:
    allowed = _VOCABULARY.get(field)
    if allowed is not None and value is not None and value not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    if field == "status" and not _STATUS_NAME.fullmatch(str(value)):
        raise InvalidValue(f"status must be a lower-case name such as in_progress; got {value!r}")


def may_claim(assignee: str | None, user: str, replaceable: Collection[str] = ()) -> bool:
    """Whether ``user`` may claim a case held by ``assignee``: nobody holds it, they do, or a replaceable holder."""
    return not assignee or assignee == user or assignee in replaceable


def _required(what: str, text: str | None) -> str:
    if not (text or "").strip():
        raise InvalidValue(f"{what} cannot be empty")
    return text.strip()


class Writer:
    """Changes within one transaction. Get one from ``KnowledgeBase.write(actor)``; never build it directly."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _now(self) -> dt.datetime:
        """The time of this transaction's changes: now, or the past moment a replay writes them at."""
        return change_time(self._session)

    def set_meta(self, key: str, value: str) -> None:
        """Store a fact about this database under ``key`` (replacing any earlier value)."""
        self._session.merge(Meta(key=key, value=value))
        self._session.flush()

    @staticmethod
    def normalise_email(address: str) -> str:
        """``'Taro <Taro@Example.jp>'`` -> ``'taro@example.jp'``; raises InvalidValue if it is no address."""
        _, addr = parseaddr(address or "")
        addr = addr.strip().lower()
        local, _, domain = addr.partition("@")
        if not local or "." not in domain:
            raise InvalidValue(f"{address!r} is not an e-mail address")
        return addr

    def add_incidents(self, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store new incidents (keyword fields as in ``add_incident``) in one flush; returns their ids."""
        objs = []
        for row in rows:
            unknown = set(row) - set(EDITABLE_FIELDS) - {"import_key", "updated_at"}
            if unknown:
                raise TypeError(f"unknown incident fields {sorted(unknown)}; valid: {', '.join(EDITABLE_FIELDS)}")
            for field, value in row.items():
                _check(field, value)
            if not (row.get("title") or "").strip():
                raise InvalidValue("an incident needs a title")
            values = dict(row)
            values.setdefault("body", "")
            values.setdefault("status", "new")
            values.setdefault("created_at", self._now())
            values.setdefault("updated_at", values.get("resolved_at") or values["created_at"])
            objs.append(Incident(**values))
        self._session.add_all(objs)
        self._session.flush()
        return [obj.id for obj in objs]

    def add_incident(self, *, title: str, language: str, body: str = "", **fields: Any) -> int:
        """Store one new incident and return its id."""
        return self.add_incidents([dict(title=title, body=body, language=language, **fields)])[0]

    def _incident(self, incident_id: int, expected_version: int | None = None) -> Incident:
        """The incident's row; StaleEdit if it is no longer at the version the caller saw."""
        row = self._session.get(Incident, incident_id)
        if row is None:
            raise IncidentNotFound(f"no incident has id {incident_id}")
        if expected_version is not None and row.version != expected_version:
            last = self._session.scalars(
                select(Event)
                .where(Event.entity == "incident", Event.entity_id == incident_id)
                .order_by(Event.id.desc())
                .limit(1)
            ).first()
            who = f" by {last.actor} at {last.at:%Y-%m-%d %H:%M} UTC" if last else ""
            raise StaleEdit(
                f"case #{incident_id} was changed{who} after you opened it; nothing was saved. "
                "Reload the case to see the change, then try again."
            )
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
            _check(field, value)
            setattr(row, field, value)
        self._session.flush()
        return IncidentRecord.from_row(row)

    def resolve_incident(
        self,
        incident_id: int,
        *,
        resolution: str,
        root_cause: str | None = None,
        at: dt.datetime | None = None,
        expected_version: int | None = None,
        **final_labels: Any,
    ) -> IncidentRecord:
        """Mark an incident resolved with how it was fixed; it becomes part of the searchable knowledge."""
        if not (resolution or "").strip():
            raise InvalidValue("resolving an incident needs a resolution text")
        row = self._incident(incident_id, expected_version)
        status = "resolved" if row.status not in RESOLVED_STATUSES else row.status
        return self.update_incident(
            incident_id,
            expected_version=expected_version,
            status=status,
            resolution=resolution.strip(),
            root_cause=root_cause,
            resolved_at=at or self._now(),
            **final_labels,
        )

    def add_requester(self, name: str, emails: Iterable[str] = (), *, department: str | None = None) -> int:
        if not (name or "").strip():
            raise InvalidValue("a requester needs a name")
        requester = Requester(name=name.strip(), department=department)
        self._session.add(requester)
        self._session.flush()
        for address in emails:
            self.link_email(requester.id, address)
        return requester.id

    def link_email(self, requester_id: int, address: str) -> None:
        """Add an address to a requester; refused if it already belongs to someone else."""
        addr = self.normalise_email(address)
        if self._session.get(Requester, requester_id) is None:
            raise RequesterNotFound(f"no requester has id {requester_id}")
        owner = self.requester_for_email(addr)
        if owner == requester_id:
            return
        if owner is not None:
            raise InvalidValue(f"{addr} already belongs to requester {owner}; unlink it there first")
        self._session.add(RequesterEmail(requester_id=requester_id, address=addr))
        self._session.flush()

    def unlink_email(self, address: str) -> None:
        addr = self.normalise_email(address)
        row = self._session.scalar(select(RequesterEmail).where(RequesterEmail.address == addr))
        if row is None:
            raise RequesterNotFound(f"no requester has the address {addr}")
        self._session.delete(row)
        self._session.flush()

    def requester_for_email(self, address: str) -> int | None:
        addr = self.normalise_email(address)
        return self._session.scalar(select(RequesterEmail.requester_id).where(RequesterEmail.address == addr))

    def requester_by_unique_name(self, name: str) -> int | None:
        """The requester with exactly this name, if there is exactly one."""
        ids = self._session.scalars(select(Requester.id).where(Requester.name == name.strip()).limit(2)).all()
        return ids[0] if len(ids) == 1 else None

    def add_model_version(
        self,
        *,
        artifact: str,
        sha256: str,
        embedding_model: str,
        snapshot: str,
        n_train: int,
        settings: dict,
        metrics: dict,
    ) -> ModelVersionRecord:
        """Register a trained model (not yet active)."""
        row = ModelVersion(
            artifact=artifact,
            sha256=sha256,
            embedding_model=embedding_model,
            snapshot=snapshot,
            n_train=n_train,
            settings=settings,
            metrics=metrics,
            active=False,
        )
        self._session.add(row)
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def activate_model_version(self, version_id: int) -> ModelVersionRecord:
        """Make one trained model the one suggestions come from; the one active before steps back."""
        row = self._model_version(version_id)
        if row.discarded_at is not None:
            raise InvalidValue(f"model version {version_id} was discarded on {row.discarded_at:%Y-%m-%d}")
        for other in self._session.scalars(
            select(ModelVersion).where(ModelVersion.active, ModelVersion.id != version_id)
        ):
            other.active = False
        row.active = True
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def _model_version(self, version_id: int) -> ModelVersion:
        row = self._session.get(ModelVersion, version_id)
        if row is None:
            raise ModelVersionNotFound(f"no trained model has version {version_id}")
        return row

    def discard_model_version(self, version_id: int) -> ModelVersionRecord:
        """Mark a version nobody should use again (its file may then be deleted); the active one cannot be."""
        row = self._model_version(version_id)
        if row.active:
            raise InvalidValue(f"model version {version_id} is the active one; activate another before discarding it")
        row.discarded_at = row.discarded_at or self._now()
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def add_threshold_policy(
        self, *, precision: Mapping[str, float], class_thresholds: Mapping[str, Mapping[str, float]], note: str = ""
    ) -> ThresholdPolicyRecord:
        """Put a new version of the thresholds in force: precision targets in (0, 1], class thresholds in [0, 1]."""
        for target, value in precision.items():
            if not 0 < value <= 1:
                raise InvalidValue(f"the precision target of {target} must be above 0 and at most 1, not {value}")
        for target, classes in class_thresholds.items():
            for label, value in classes.items():
                if not 0 <= value <= 1:
                    raise InvalidValue(f"the threshold of {target} {label!r} must be between 0 and 1, not {value}")
        row = ThresholdPolicy(
            created_by=self._session.info["actor"],
            precision={k: float(v) for k, v in precision.items()},
            class_thresholds={t: {k: float(v) for k, v in c.items()} for t, c in class_thresholds.items() if c},
            note=(note or "").strip(),
        )
        self._session.add(row)
        self._session.flush()
        return ThresholdPolicyRecord.from_row(row)

    def claim(
        self,
        incident_id: int,
        user: str,
        *,
        expected_version: int | None = None,
        replaceable: Collection[str] = (),
        **changes: Any,
    ) -> IncidentRecord:
        """Make ``user`` the case's assignee (with ``changes``, such as a status move) unless someone else holds it;
        a holder in ``replaceable`` (a team a case was escalated to) gives way to the one who claims it.

        Two claims at once cannot both win: the loser's write finds the case at a newer version (StaleEdit from
        ``KnowledgeBase.write``), or, if it reads after the winner committed, AlreadyClaimed naming the holder.
        """
        row = self._incident(incident_id)
        if not may_claim(row.assignee, user, replaceable):
            raise AlreadyClaimed(f"case #{incident_id} is already held by {row.assignee}", row.assignee)
        return self.update_incident(incident_id, expected_version=expected_version, assignee=user, **changes)

    def add_user(self, name: str, role: str = "agent") -> int:
        _check("role", role)
        name = _required("a user's name", name)
        if self._session.scalar(select(User.id).where(User.name == name)) is not None:
            raise InvalidValue(f"there is already a user called {name}")
        user = User(name=name, role=role, active=True)
        self._session.add(user)
        self._session.flush()
        return user.id

    def update_user(self, user_id: int, **changes: Any) -> None:
        """Change a user's ``role`` or ``active`` flag."""
        row = self._session.get(User, user_id)
        if row is None:
            raise UserNotFound(f"no user has id {user_id}")
        for field, value in changes.items():
            if field not in ("role", "active"):
                raise TypeError(f"cannot edit a user's {field}; editable: role, active")
            _check(field, value)
            setattr(row, field, value)
        self._session.flush()

    def add_message(
        self, incident_id: int, *, kind: str, author: str, body: str, subject: str = "", at: dt.datetime | None = None
    ) -> int:
        """Add to a case's conversation: a message from or to the requester, or an internal note."""
        _check("kind", kind)
        self._incident(incident_id)
        message = Message(
            incident_id=incident_id,
            kind=kind,
            author=_required("a message's author", author),
            subject=subject or "",
            body=_required("a message", body),
            at=at or self._now(),
        )
        self._session.add(message)
        self._session.flush()
        return message.id

    def add_suggestions(self, incident_id: int, suggestions: Iterable[Mapping[str, Any]]) -> None:
        """Store what the assistant suggested at intake: target, value (None if not sure), best, confidence."""
        self._incident(incident_id)
        self._session.add_all(Suggestion(incident_id=incident_id, **row) for row in suggestions)
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
        at: dt.datetime | None = None,
    ) -> SuggestionRecord:
        """Record an agent's acceptance or override of a stored suggestion (an override needs a reason)."""
        _check("decision", decision)
        _check(target, final_value)
        row = self._session.scalar(
            select(Suggestion).where(Suggestion.incident_id == incident_id, Suggestion.target == target)
        )
        if row is None:
            raise InvalidValue(f"case #{incident_id} has no stored {target} suggestion")
        if decision == "overridden" and not (reason or "").strip():
            raise InvalidValue(f"overriding the {target} suggestion needs a reason")
        row.decision, row.final_value, row.reason = decision, final_value, (reason or "").strip() or None
        row.decided_by, row.decided_at = user, at or self._now()
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
        at: dt.datetime | None = None,
    ) -> HandoffRecord:
        """Store an escalation with its package and the escalation guide's criteria ticked for it."""
        _check("escalation_level", level)
        row = Handoff(
            incident_id=incident_id,
            level=level,
            holder=_required("the holder of an escalation", holder),
            package=_required("a hand-off package", package),
            created_by=created_by,
            criteria=sorted(criteria),
            created_at=at or self._now(),
        )
        self._session.add(row)
        self._session.flush()
        return HandoffRecord.from_row(row)

    def mark_posted(self, handoff_id: int, outcome: str) -> HandoffRecord:
        """Record where a hand-off package was posted, or why posting it failed."""
        row = self._session.get(Handoff, handoff_id)
        if row is None:
            raise InvalidValue(f"no hand-off has id {handoff_id}")
        row.posted = outcome
        self._session.flush()
        return HandoffRecord.from_row(row)

    def follow(self, incident_id: int, user: str) -> None:
        self._incident(incident_id)
        if self._session.get(Follower, (incident_id, user)) is None:
            self._session.add(Follower(incident_id=incident_id, user=user))
            self._session.flush()

    def save_template(
        self,
        *,
        name: str,
        language: str,
        subject: str,
        body: str,
        subject_keywords: Iterable[str] = (),
        body_keywords: Iterable[str] = (),
        template_id: int | None = None,
    ) -> int:
        """Add a reply template, or replace the one with ``template_id``."""
        _check("language", language)
        values = dict(
            name=_required("a template's name", name),
            language=language,
            subject=subject.strip(),
            body=_required("a template's body", body),
            subject_keywords=[k.strip() for k in subject_keywords if k.strip()],
            body_keywords=[k.strip() for k in body_keywords if k.strip()],
        )
        clash = self._session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == values["name"]))
        if clash is not None and clash != template_id:
            raise InvalidValue(f"there is already a reply template called {values['name']}")
        row = ReplyTemplate() if template_id is None else self._session.get(ReplyTemplate, template_id)
        if row is None:
            raise InvalidValue(f"no reply template has id {template_id}")
        for field, value in values.items():
            setattr(row, field, value)
        self._session.add(row)
        self._session.flush()
        return row.id

    def delete_template(self, template_id: int) -> None:
        row = self._session.get(ReplyTemplate, template_id)
        if row is None:
            raise InvalidValue(f"no reply template has id {template_id}")
        self._session.delete(row)
        self._session.flush()
