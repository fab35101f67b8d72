"""What goes out (reply mails, notices by e-mail and to the chat): how deliveries are kept (mixed into ``Writer``)
and found (mixed into ``KnowledgeBase``). Storage only: what is sent, how and how often it is tried are the
pipeline's rules (``pipeline.channels.deliver``).

A delivery is added once per key (the unique constraint decides, so two workers adding the same notice at once
make one row), taken for sending by one worker only (a compare-and-set on its attempts), and then recorded as
sent, refused (tried again later) or failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kb.channel_models import Delivery
from kb.errors import InvalidValue
from kb.models import Message, utcnow
from kb.records import DeliveryRecord, NewDelivery

STATUSES = ("pending", "sent", "failed")
CHANNELS = ("email", "chat")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class DeliveryReads:
    """The deliveries' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def delivery(self, delivery_id: int) -> DeliveryRecord:
        with self._read() as s:
            return DeliveryRecord.from_row(_row(s, delivery_id))

    def deliveries(self, incident_id: int) -> list[DeliveryRecord]:
        """A case's deliveries (its replies' mails and its notices), oldest first."""
        query = select(Delivery).where(Delivery.incident_id == incident_id).order_by(Delivery.id)
        with self._read() as s:
            return [DeliveryRecord.from_row(row) for row in s.scalars(query)]

    def due_deliveries(
        self, now: dt.datetime, *, channels: tuple[str, ...] = CHANNELS, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Pending deliveries on ``channels`` whose next try is due at ``now``, oldest first."""
        query = (
            select(Delivery)
            .where(
                Delivery.status == "pending",
                Delivery.channel.in_(channels),
                or_(Delivery.next_try_at.is_(None), Delivery.next_try_at <= now),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
        with self._read() as s:
            return [DeliveryRecord.from_row(row) for row in s.scalars(query)]


class DeliveryWrites:
    """The deliveries' writes, for ``Writer``."""

    _session: Session

    def add_delivery(self, new: NewDelivery) -> tuple[DeliveryRecord, bool]:
        """The delivery with ``new.key``: added pending now, or the one already there; and whether it was added.
        ``INSERT ... ON CONFLICT DO NOTHING``: of two transactions adding the same key, the second waits for the
        first and adds nothing."""
        if new.channel not in CHANNELS:
            raise InvalidValue("out_unknown_channel", channel=new.channel, known=list(CHANNELS))
        values = asdict(new) | {"status": "pending", "attempts": 0, "created_at": utcnow()}
        insert = _INSERTS[self._session.bind.dialect.name](Delivery).values(**values)
        inserted = insert.on_conflict_do_nothing(index_elements=["key"]).returning(Delivery.id)
        added = self._session.execute(inserted).scalar() is not None
        row = self._session.scalar(
            select(Delivery).where(Delivery.key == new.key).execution_options(populate_existing=True)
        )
        return DeliveryRecord.from_row(row), added

    def take_delivery(self, delivery: DeliveryRecord, *, until: dt.datetime) -> bool:
        """Take a pending delivery for sending, as it was read (its attempts), counting the try and keeping other
        workers off it ``until`` then (a worker killed mid-send leaves it due again); whether this call took it.
        One conditional UPDATE, so of two workers only one takes it, on SQLite as on PostgreSQL."""
        query = update(Delivery).where(
            Delivery.id == delivery.id, Delivery.status == "pending", Delivery.attempts == delivery.attempts
        )
        values = {"attempts": Delivery.attempts + 1, "next_try_at": until}
        return self._conditional(query.values(**values))

    def delivery_sent(self, delivery_id: int, *, at: dt.datetime) -> DeliveryRecord:
        """The server accepted it at ``at``; a reply's message is then sent at that time (in the case's history)."""
        row = _row(self._session, delivery_id)
        row.status, row.sent_at, row.error, row.next_try_at = "sent", at, None, None
        if row.message_id is not None:
            message = self._session.get(Message, row.message_id)
            message.sent_at = at
        self._session.flush()
        return DeliveryRecord.from_row(row)

    def delivery_refused(self, delivery_id: int, *, error: dict, next_try_at: dt.datetime | None) -> DeliveryRecord:
        """It was refused (``error``, a phrase as a dict): tried again at ``next_try_at``, or (None) failed."""
        row = _row(self._session, delivery_id)
        row.error, row.next_try_at = error, next_try_at
        row.status = "pending" if next_try_at is not None else "failed"
        self._session.flush()
        return DeliveryRecord.from_row(row)

    def retry_delivery(self, delivery_id: int, *, at: dt.datetime) -> bool:
        """Make a failed delivery pending again from ``at``, its tries counted anew; whether it had failed."""
        query = update(Delivery).where(Delivery.id == _row(self._session, delivery_id).id, Delivery.status == "failed")
        return self._conditional(query.values(status="pending", attempts=0, next_try_at=at))

    def _conditional(self, query) -> bool:
        return self._session.execute(query.execution_options(synchronize_session=False)).rowcount == 1


def _row(session: Session, delivery_id: int) -> Delivery:
    row = session.get(Delivery, delivery_id, populate_existing=True)
    if row is None:
        raise InvalidValue("out_delivery_not_found", id=delivery_id)
    return row
