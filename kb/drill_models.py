"""The table of escalation drills: each answer an agent gave to a past case (seed 004's "train the helpdesk on the
criteria"), kept with what was right, so leads can follow each agent's agreement over time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kb.models import Base, UTCDateTime, utcnow


class DrillAnswer(Base):
    """One drill answered: the level and criteria an agent chose for a past report, the level that resolved it and
    the criteria that counted as right, and the score (``level_right`` and the criteria's overlap, averaged)."""

    __tablename__ = "drill_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(200), index=True)  # the account's name, as the event log has it
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    chosen_level: Mapped[str] = mapped_column(String(4))
    criteria: Mapped[list] = mapped_column(JSON, default=list)  # ticked by the agent
    correct_level: Mapped[str] = mapped_column(String(4))
    expected_criteria: Mapped[list] = mapped_column(JSON, default=list)
    level_right: Mapped[bool] = mapped_column(Boolean)
    criteria_overlap: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
