"""Requesters' satisfaction ratings of resolved cases: how a rating request and its answer are kept (mixed into
``Writer``) and read (mixed into ``KnowledgeBase``). Storage only, and only ever a link token's SHA-256: when a
link is refused (unknown, expired, answered), what a score may be and when a link is made are the pipeline's rules
(``pipeline.channels.ratings``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.channel_models import Delivery
from kb.desk_extras_models import Rating
from kb.errors import InvalidValue, StaleEdit
from kb.records import _Record


@dataclass(frozen=True, slots=True)
class RatingRecord(_Record):
    """One rating request: the case, who held it and its category at the resolution, and the answer if any."""

    id: int
    incident_id: int
    asked_at: dt.datetime
    expires_at: dt.datetime
    agent: str | None
    category: str | None
    score: str | None
    comment: str | None
    answered_at: dt.datetime | None


class RatingReads:
    """The ratings' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def rating_by_hash(self, token_hash: str) -> RatingRecord | None:
        with self._read() as s:
            row = s.scalar(select(Rating).where(Rating.token_hash == token_hash))
            return None if row is None else RatingRecord.from_row(row)

    def ratings(self, *, since: dt.datetime | None = None) -> list[RatingRecord]:
        """Every rating request (asked since ``since``, if given), oldest first."""
        query = select(Rating).order_by(Rating.asked_at, Rating.id)
        if since is not None:
            query = query.where(Rating.asked_at >= since)
        with self._read() as s:
            return [RatingRecord.from_row(row) for row in s.scalars(query)]


class RatingWrites:
    """The ratings' writes, for ``Writer``; each is in the case's history."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]

    def add_rating(
        self, incident_id: int, token_hash: str, *, expires_at: dt.datetime, agent: str | None, category: str | None
    ) -> RatingRecord:
        row = Rating(
            incident_id=incident_id,
            token_hash=token_hash,
            asked_at=self.now(),
            expires_at=expires_at,
            agent=agent,
            category=category,
        )
        self._session.add(row)
        self._session.flush()
        self.record_event("incident", incident_id, "rating_asked", new_value=str(row.id))
        return RatingRecord.from_row(row)

    def renew_rating(self, delivery_id: int, token_hash: str, *, expires_at: dt.datetime) -> RatingRecord | None:
        """Give the rating asked with a delivery a new token (its hash replaces the last one, whose link no longer
        answers) and time; None if none was asked with it. A notice and its rating are added in one transaction, one
        rating for each delivery added: a case's n-th delivery of that purpose and channel asked its n-th rating."""
        delivery = self._session.get(Delivery, delivery_id)
        if delivery is None:
            raise InvalidValue("out_delivery_not_found", id=delivery_id)
        if delivery.incident_id is None:
            return None
        nth = self._session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.incident_id == delivery.incident_id,
                Delivery.purpose == delivery.purpose,
                Delivery.channel == delivery.channel,
                Delivery.id <= delivery.id,
            )
        )
        query = select(Rating).where(Rating.incident_id == delivery.incident_id).order_by(Rating.id)
        row = self._session.scalar(query.offset(nth - 1).limit(1).with_for_update())
        if row is None:
            return None
        row.token_hash, row.expires_at = token_hash, expires_at
        self._session.flush()
        self.record_event("incident", row.incident_id, "rating_link_sent", new_value=str(row.id))
        return RatingRecord.from_row(row)

    def answer_rating(self, rating_id: int, score: str, comment: str | None) -> RatingRecord:
        """Record the requester's answer, once: StaleEdit if it was answered already (a second request that read
        the row before the first committed finds it answered here, under the row's lock)."""
        row = self._session.get(Rating, rating_id, with_for_update=True)
        if row is None:
            raise InvalidValue("desk_rating_not_found", id=rating_id)
        if row.answered_at is not None:
            raise StaleEdit("desk_rating_already_answered")
        row.score, row.comment, row.answered_at = score, comment, self.now()
        self._session.flush()
        self.record_event("incident", row.incident_id, "rated", field="score", new_value=score)
        return RatingRecord.from_row(row)
