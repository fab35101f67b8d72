"""Notices' storage: each person's choice of which notices they get on which channel, the admins' wording of
notices, and the event log read past a point (what notices are derived from). Reads are mixed into
``KnowledgeBase``, writes into ``Writer``; which notices exist and who gets them are ``pipeline.channels``' rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kb.channel_models import NoticeChoice, NoticeTemplate
from kb.models import Event, utcnow
from kb.records import EventRecord, NoticeTemplateRecord


class NoticeReads:
    """The notices' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def notice_choices(self, user_id: int) -> dict[tuple[str, str], bool]:
        """What a person chose: (kind, channel) -> wanted; a pair not there was never chosen (the default holds)."""
        query = select(NoticeChoice).where(NoticeChoice.user_id == user_id)
        with self._read() as s:
            return {(row.kind, row.channel): row.wanted for row in s.scalars(query)}

    def notice_templates(self) -> list[NoticeTemplateRecord]:
        """The admins' wordings, by kind and language."""
        query = select(NoticeTemplate).order_by(NoticeTemplate.kind, NoticeTemplate.language)
        with self._read() as s:
            return [NoticeTemplateRecord.from_row(row) for row in s.scalars(query)]

    def newest_event_id(self) -> int:
        """The id of the last event logged (0 in an empty log)."""
        with self._read() as s:
            return s.scalar(select(func.max(Event.id))) or 0

    def events_after(self, event_id: int, *, limit: int = 500) -> list[EventRecord]:
        """Up to ``limit`` events logged after ``event_id``, oldest first."""
        query = select(Event).where(Event.id > event_id).order_by(Event.id).limit(limit)
        with self._read() as s:
            return [EventRecord.from_row(row) for row in s.scalars(query)]

    def events_between(self, first_id: int, last_id: int, *, since: dt.datetime) -> list[EventRecord]:
        """The events with ids in ``(first_id, last_id]`` logged at ``since`` or later, oldest first."""
        query = select(Event).where(Event.id > first_id, Event.id <= last_id, Event.at >= since).order_by(Event.id)
        with self._read() as s:
            return [EventRecord.from_row(row) for row in s.scalars(query)]


class NoticeWrites:
    """The notices' writes, for ``Writer``."""

    _session: Session

    def set_notice_choice(self, user_id: int, kind: str, channel: str, wanted: bool) -> None:
        self._session.merge(NoticeChoice(user_id=user_id, kind=kind, channel=channel, wanted=wanted))
        self._session.flush()

    def save_notice_template(self, kind: str, language: str, *, subject: str, body: str, updated_by: str) -> None:
        """Word a kind of notice in a language (replacing an earlier wording)."""
        query = select(NoticeTemplate).where(NoticeTemplate.kind == kind, NoticeTemplate.language == language)
        row = self._session.scalar(query) or NoticeTemplate(kind=kind, language=language)
        row.subject, row.body, row.updated_by, row.updated_at = subject, body, updated_by, utcnow()
        self._session.add(row)
        self._session.flush()

    def delete_notice_template(self, kind: str, language: str) -> None:
        """Back to the built-in wording."""
        self._session.execute(
            delete(NoticeTemplate).where(NoticeTemplate.kind == kind, NoticeTemplate.language == language)
        )
