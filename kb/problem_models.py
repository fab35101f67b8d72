"""The tables of problem management: problems (the root cause behind recurring incidents, and its workaround once
it is a known error) and the incidents linked to them, each to one problem at most."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kb.models import Base, UTCDateTime, utcnow


class Problem(Base):
    """A problem record: open while its cause is looked for, a known error once a workaround is known, resolved
    when the cause is removed."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    workaround: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    owner: Mapped[str | None] = mapped_column(String(200))  # an account's name
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change: an edit made on an older version is refused, as for incidents.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar[dict] = {"version_id_col": version}


class ProblemLink(Base):
    """An incident linked to a problem; the incident is the key, so it is linked to one problem at most."""

    __tablename__ = "problem_links"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
