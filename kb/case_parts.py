"""What belongs to one case besides its own fields: the conversation with the requester and the agents' notes,
the suggestions stored at intake with the agents' decisions, the hand-offs, and who follows it (read here, mixed
into ``KnowledgeBase``; written through ``Writer``, logged in the case's history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from kb.models import Event, Follower, Handoff, Incident, Message, Suggestion, in_batches
from kb.records import HandoffRecord, MessageRecord, SuggestionRecord

Part = Suggestion | Handoff
R = TypeVar("R", SuggestionRecord, HandoffRecord)


class CasePartReads:
    """The reads of cases' parts, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def followed_by(self, user: str) -> set[int]:
        """The cases ``user`` follows (those they escalated)."""
        with self._read() as s:
            return set(s.scalars(select(Follower.incident_id).where(Follower.user == user)))

    def followers(self, incident_id: int) -> list[str]:
        with self._read() as s:
            return list(s.scalars(select(Follower.user).where(Follower.incident_id == incident_id)))

    def messages(self, incident_ids: Sequence[int]) -> list[MessageRecord]:
        """The conversation of these cases, in time order."""
        query = select(Message).where(Message.incident_id.in_(list(incident_ids))).order_by(Message.at, Message.id)
        with self._read() as s:
            return [MessageRecord.from_row(row) for row in s.scalars(query)]

    def first_replies(self, incident_ids: Sequence[int]) -> dict[int, dt.datetime]:
        """When each of these cases first had a reply to its requester; cases without one are left out."""
        query = (
            select(Message.incident_id, func.min(Message.at))
            .where(Message.kind == "to_requester", Message.incident_id.in_(list(incident_ids)))
            .group_by(Message.incident_id)
        )
        with self._read() as s:
            return {incident_id: at for incident_id, at in s.execute(query)}

    def case_events(self, actions: Collection[str]) -> set[tuple[int, str, str | None]]:
        """(case id, action, field) of every event of these actions in any case's history."""
        query = select(Event.entity_id, Event.action, Event.field).where(
            Event.entity == "incident", Event.action.in_(list(actions))
        )
        with self._read() as s:
            return {tuple(row) for row in s.execute(query)}

    def suggestions(self, incident_id: int | None = None) -> list[SuggestionRecord]:
        """The stored suggestions of one case, or (without an id) of every case, oldest first."""
        return self._parts(Suggestion, SuggestionRecord, incident_id)

    def without_suggestions(self, incident_ids: Iterable[int], *, status: str | None = None) -> list[int]:
        """Those of the cases that have no stored suggestion (and are in ``status``, if given), each once, in the
        order given."""
        ids = list(dict.fromkeys(incident_ids))
        found: set[int] = set()
        unsuggested = ~exists().where(Suggestion.incident_id == Incident.id)
        with self._read() as s:
            for batch in in_batches(ids):
                query = select(Incident.id).where(Incident.id.in_(batch), unsuggested)
                found.update(s.scalars(query if status is None else query.where(Incident.status == status)))
        return [i for i in ids if i in found]

    def handoffs(self, incident_id: int | None = None) -> list[HandoffRecord]:
        """The escalations of one case, or (without an id) of every case, oldest first."""
        return self._parts(Handoff, HandoffRecord, incident_id)

    def _parts(self, table: type[Part], record: type[R], incident_id: int | None) -> list[R]:
        query = select(table).order_by(table.id)
        if incident_id is not None:
            query = query.where(table.incident_id == incident_id)
        with self._read() as s:
            return [record.from_row(row) for row in s.scalars(query)]
