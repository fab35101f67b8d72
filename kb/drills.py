"""Escalation drills' answers: how they are kept (mixed into ``Writer``) and read (mixed into ``KnowledgeBase``).
Storage only: which case makes a drill, how an answer is scored and who may read whose are the pipeline's rules
(``pipeline.knowledge.drills``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.drill_models import DrillAnswer
from kb.errors import InvalidValue
from kb.records import _Record
from kb.vocab import ESCALATION_LEVELS


@dataclass(frozen=True, slots=True)
class NewDrillAnswer:
    """An answer as the pipeline scored it, to be kept."""

    agent: str
    incident_id: int
    chosen_level: str
    criteria: list[str]
    correct_level: str
    expected_criteria: list[str]
    level_right: bool
    criteria_overlap: float
    score: float


@dataclass(frozen=True, slots=True)
class DrillAnswerRecord(NewDrillAnswer, _Record):
    id: int
    answered_at: dt.datetime


class DrillReads:
    """The drills' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def drill_answers(self, agent: str | None = None, *, limit: int | None = None) -> list[DrillAnswerRecord]:
        """The answers of one agent, or (without a name) of everyone, newest first; at most ``limit``."""
        query = select(DrillAnswer).order_by(DrillAnswer.answered_at.desc(), DrillAnswer.id.desc()).limit(limit)
        if agent is not None:
            query = query.where(DrillAnswer.agent == agent)
        with self._read() as s:
            return [DrillAnswerRecord.from_row(row) for row in s.scalars(query)]


class DrillWrites:
    """The drills' writes, for ``Writer``; each answer is in the event log as a ``drill_answer`` entity (not in the
    case's history, which every agent reads: an agent's results are for them and the leads)."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]

    def add_drill_answer(self, answer: NewDrillAnswer) -> DrillAnswerRecord:
        for level in (answer.chosen_level, answer.correct_level):
            if level not in ESCALATION_LEVELS:
                raise InvalidValue(
                    "value_not_in_vocabulary", field="escalation_level", allowed=list(ESCALATION_LEVELS), value=level
                )
        row = DrillAnswer(
            agent=answer.agent,
            incident_id=answer.incident_id,
            chosen_level=answer.chosen_level,
            criteria=list(answer.criteria),
            correct_level=answer.correct_level,
            expected_criteria=list(answer.expected_criteria),
            level_right=answer.level_right,
            criteria_overlap=answer.criteria_overlap,
            score=answer.score,
            answered_at=self.now(),
        )
        self._session.add(row)
        self._session.flush()
        self.record_event("drill_answer", row.id, "create", field="incident_id", new_value=str(answer.incident_id))
        return DrillAnswerRecord.from_row(row)
