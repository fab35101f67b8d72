"""The tables of what a desk does beside working one case: duplicates merged into their original (and the messages
copied with them), and the requesters' satisfaction ratings of resolved cases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.models import Base, UTCDateTime, utcnow


class Merge(Base):
    """A duplicate merged into its original: the duplicate stays (closed, its own messages and history kept), and
    mail that later comes to it is filed on the original."""

    __tablename__ = "merges"

    duplicate_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    original_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    merged_by: Mapped[str] = mapped_column(String(200))
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MergedMessage(Base):
    """A message copied onto an original from the duplicate merged into it: where it came from."""

    __tablename__ = "merged_messages"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    from_incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    from_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # None: the duplicate's report


class Rating(Base):
    """One request for the requester's satisfaction with a resolved case, sent with the resolution notice: only the
    link token's SHA-256 is kept. Who held the case and its category are kept as they were at the resolution, so
    the review counts them as they were judged."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    agent: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[str | None] = mapped_column(String(10))  # None: not answered
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
