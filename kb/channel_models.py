"""The tables of a desk's channels: API tokens, what goes out (reply mails, notices by e-mail and chat), mail that
came in and could not be filed, people's choice of notices, notice templates, and attachments kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.models import Base, UTCDateTime, utcnow


class ApiToken(Base):
    """A bearer token of the HTTP API: only its SHA-256 is kept (the token is 256 random bits, shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One thing sent out: a reply mail, a notice by e-mail, a notice to the chat. ``key`` makes it once only: a
    second delivery with the same key is the first. ``status`` is pending until the server accepted it (sent), or
    failed after the last try; ``error`` is the phrase of the last refusal."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10))  # email, chat
    purpose: Mapped[str] = mapped_column(String(30))  # reply, or the notice's kind
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the reply it carries
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    mail_id: Mapped[str | None] = mapped_column(String(255))  # its Message-ID header
    references: Mapped[str | None] = mapped_column(Text)  # the Message-IDs it answers, oldest first
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_try_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class InboundMail(Base):
    """A mail of a polled mailbox that could not be filed (and stays there, tried again): for an admin, with why."""

    __tablename__ = "inbound_mail"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    # IMAP's UIDVALIDITY and UID are unsigned 32-bit numbers: past PostgreSQL's integer from 2^31.
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    mail_id: Mapped[str | None] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[dict] = mapped_column(JSON)  # a phrase
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_tried_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # filed at last, or dismissed


class NoticeChoice(Base):
    """Whether a person wants a kind of notice on a channel; a kind without a row gets the default."""

    __tablename__ = "notice_choices"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    wanted: Mapped[bool] = mapped_column(Boolean)


class NoticeTemplate(Base):
    """An admin's wording of a kind of notice in one language (the built-in wording otherwise)."""

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A file that came with a case's mail (or was added to it), named by its content's SHA-256: the bytes are a
    file beside a SQLite database, or a row of ``attachment_blobs`` on PostgreSQL; the same bytes are kept once."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttachmentBlob(Base):
    """An attachment's bytes, on a team's server (PostgreSQL): every app process and worker reads the same."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
