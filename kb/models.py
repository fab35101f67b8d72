"""The tables of the knowledge base (SQLAlchemy 2 declarative); migrations in ``kb/migrations`` mirror them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from kb.vocab import NEW_STATUS

T = TypeVar("T")
# Values bound in one ``IN (...)``: far under SQLite's and PostgreSQL's limits on a statement's parameters.
IN_BATCH = 500


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def in_batches(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``IN_BATCH``, one query's ``IN`` list each."""
    for start in range(0, len(values), IN_BATCH):
        yield values[start : start + IN_BATCH]


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC so SQLite sorts them as text."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; the knowledge base stores UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Requester(Base):
    __tablename__ = "requesters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    emails: Mapped[list[RequesterEmail]] = relationship(
        back_populates="requester", cascade="all, delete-orphan", order_by="RequesterEmail.id"
    )


class RequesterEmail(Base):
    """One of a requester's addresses; an address belongs to one person only."""

    __tablename__ = "requester_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)

    requester: Mapped[Requester] = relationship(back_populates="emails")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Identifies the source row of an import, so that importing the same file twice adds nothing.
    import_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requesters.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(2))
    escalation_level: Mapped[str | None] = mapped_column(String(4))
    # ITIL: how many it hurts (impact) and how soon it hurts (urgency); the priority matrix combines them.
    impact: Mapped[str | None] = mapped_column(String(6))
    urgency: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(30), default=NEW_STATUS)
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When a mailed report says it was sent (its Date header): shown, never trusted; created_at is when it came in.
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    # The Message-ID of the mail the case came from: our replies answer it, so they thread in the requester's mailer.
    mail_id: Mapped[str | None] = mapped_column(String(255))
    root_cause: Mapped[str | None] = mapped_column(Text)
    # Set at intake when an open case already described the same problem.
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # Bumped by every change: an edit made on an older version is refused (optimistic locking), and two
    # agents claiming at once cannot both succeed.
    version: Mapped[int] = mapped_column(Integer, default=1)

    requester: Mapped[Requester | None] = relationship()

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}


class User(Base):
    """An account of someone working in the tool; the name is what the event log records. The password is kept
    only as its argon2id hash; an account without one signs in through single sign-on only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in browser: only the token's SHA-256 is kept, so the table cannot be replayed into a session."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """One entry of a case's conversation: from the requester, to the requester, or an internal note."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What a mail's Date header claims; ``at`` is when it was received, which the SLA clocks go by.
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A mail's Message-ID (the requester's, or our reply's): an answer quoting it in In-Reply-To or References
    # threads onto this case.
    mail_id: Mapped[str | None] = mapped_column(String(255), index=True)


class Suggestion(Base):
    """What the assistant suggested for one target of a case at intake, and what the agent made of it."""

    __tablename__ = "suggestions"
    __table_args__ = (UniqueConstraint("incident_id", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    target: Mapped[str] = mapped_column(String(30))
    value: Mapped[str | None] = mapped_column(String(100))  # None: the assistant was not sure
    best: Mapped[str | None] = mapped_column(String(100))  # its most likely value, also when not sure
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    threshold_version: Mapped[int | None] = mapped_column(Integer)  # the threshold policy it was judged by
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))
    final_value: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Handoff(Base):
    """An escalation: to which level and holder, with the package the next level reads."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    level: Mapped[str] = mapped_column(String(4))
    holder: Mapped[str] = mapped_column(String(200))
    package: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted: Mapped[str | None] = mapped_column(Text)  # where and when it was posted, or why posting failed
    criteria: Mapped[list | None] = mapped_column(JSON)  # the escalation guide's criteria ticked for it


class Follower(Base):
    """Someone who keeps seeing a case in their queue without holding it (the agent who escalated it)."""

    __tablename__ = "followers"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), primary_key=True)


class ReplyTemplate(Base):
    """A shared reply, offered when its keywords appear in a case; ``${field}`` placeholders are filled in."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    subject_keywords: Mapped[list] = mapped_column(JSON, default=list)
    body_keywords: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)


class Event(Base):
    """One change: who, when, what, from what to what. Append-only (database triggers refuse the rest)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    field: Mapped[str | None] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class ModelVersion(Base):
    """A trained suggestion model: where its artifact lies, what it was trained on, how well it did."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    artifact: Mapped[str] = mapped_column(Text)
    # HMAC-SHA256 of the artifact under the desk's signing key: whoever can write the database and the model folder
    # still cannot make the app unpickle a file of their own.
    signature: Mapped[str] = mapped_column(String(64))
    embedding_model: Mapped[str] = mapped_column(String(200))
    snapshot: Mapped[str] = mapped_column(String(100))
    n_train: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    discarded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # a candidate a lead did not take


class ThresholdPolicy(Base):
    """How sure the assistant must be before it suggests: per target a precision target, per class optionally a
    confidence threshold set by a lead. Versioned: a change adds a row, and the newest row is in force."""

    __tablename__ = "threshold_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    precision: Mapped[dict] = mapped_column(JSON)  # target -> precision target
    class_thresholds: Mapped[dict] = mapped_column(JSON)  # target -> class -> confidence
    note: Mapped[str] = mapped_column(Text, default="")


class Meta(Base):
    """Key-value facts about this database: its identity and how often its searchable corpus changed."""

    __tablename__ = "kb_meta"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Job(Base):
    """Long work done by the background worker (an upload, a rebuild, a training), as people follow it: what was
    asked, by whom, how far it got and how it ended. The queue itself (which worker takes what, when) is huey's."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    args: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the operator, at the shell
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid of the process running it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[dict | None] = mapped_column(JSON)  # the phrase of what it is doing now
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # What the job works on (an uploaded file's bytes), kept in the database so that a worker on another machine
    # reads it; dropped once the job is done. Loaded only when asked for (``KnowledgeBase.job_payload``).
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
