"""Mail that came in: which case a mail (by its Message-ID) was filed on or answers, and the mail of polled
mailboxes that could not be filed, for an admin (read here, mixed into ``KnowledgeBase``; written through
``Writer``). Storage only: when a mail counts as filed and what is tried again are the pipeline's rules
(``pipeline.channels.inbound``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.channel_models import InboundMail
from kb.errors import InvalidValue
from kb.models import Incident, Message
from kb.records import _Record

# A mail filed as a new case keeps its Message-ID in the case's import key; one too long for the column, its
# SHA-256 (two long ids that begin alike must not pass for one mail).
MAIL_KEY_PREFIX = "mail:"
MAIL_KEY_CHARS = 90


def mail_import_key(mail_id: str) -> str:
    """The import key of the case a mail with ``mail_id`` became."""
    if len(mail_id) > MAIL_KEY_CHARS:
        return f"{MAIL_KEY_PREFIX}sha256:{hashlib.sha256(mail_id.encode()).hexdigest()}"
    return f"{MAIL_KEY_PREFIX}{mail_id}"


@dataclass(frozen=True, slots=True)
class InboundMailRecord(_Record):
    """A mail of a polled mailbox that could not be filed: where it is, what it says it is, and why (a phrase)."""

    id: int
    mailbox: str
    uidvalidity: int
    uid: int
    mail_id: str | None
    sender: str
    subject: str
    reason: dict
    attempts: int
    first_seen_at: dt.datetime
    last_tried_at: dt.datetime
    settled_at: dt.datetime | None


class InboundReads:
    """The reads of mail that came in, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def case_of_mail(self, mail_ids: Collection[str]) -> int | None:
        """The case one of these Message-IDs belongs to: a message of it carries the id, or the case was filed
        from that mail; the newest such case if several. None if none does."""
        ids = [i for i in mail_ids if i]
        if not ids:
            return None
        with self._read() as s:
            by_message = s.scalar(
                select(Message.incident_id).where(Message.mail_id.in_(ids)).order_by(Message.id.desc()).limit(1)
            )
            if by_message is not None:
                return by_message
            keys = [mail_import_key(i) for i in ids]
            return s.scalar(select(Incident.id).where(Incident.import_key.in_(keys)).order_by(Incident.id.desc()))

    def unfiled_mail(self, *, settled: bool = False) -> list[InboundMailRecord]:
        """Mail that could not be filed and is still waiting (or, with ``settled``, every such mail ever), the
        most recently tried first."""
        query = select(InboundMail).order_by(InboundMail.last_tried_at.desc(), InboundMail.id.desc())
        if not settled:
            query = query.where(InboundMail.settled_at.is_(None))
        with self._read() as s:
            return [InboundMailRecord.from_row(row) for row in s.scalars(query)]

    def unfiled_mail_at(self, mailbox: str, uidvalidity: int, uid: int) -> InboundMailRecord | None:
        with self._read() as s:
            row = s.scalar(_at(mailbox, uidvalidity, uid))
            return None if row is None else InboundMailRecord.from_row(row)


def _at(mailbox: str, uidvalidity: int, uid: int):
    return select(InboundMail).where(
        InboundMail.mailbox == mailbox, InboundMail.uidvalidity == uidvalidity, InboundMail.uid == uid
    )


class InboundWrites:
    """The writes of mail that came in, for ``Writer``."""

    _session: Session

    def note_unfiled_mail(
        self,
        mailbox: str,
        uidvalidity: int,
        uid: int,
        *,
        reason: dict,
        at: dt.datetime,
        mail_id: str | None = None,
        sender: str = "",
        subject: str = "",
    ) -> InboundMailRecord:
        """Record a failed try at filing a mail: the first (a new row) or one more (attempts counted, the reason
        replaced by the latest); a mail dismissed or filed before and failing again is waiting again."""
        row = self._session.scalar(_at(mailbox, uidvalidity, uid))
        if row is None:
            row = InboundMail(
                mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, attempts=0, first_seen_at=at, reason=reason
            )
            self._session.add(row)
        row.mail_id, row.sender, row.subject = mail_id and mail_id[:255], sender[:320], subject
        row.reason, row.attempts, row.last_tried_at, row.settled_at = reason, row.attempts + 1, at, None
        self._session.flush()
        return InboundMailRecord.from_row(row)

    def settle_unfiled_mail(self, *, at: dt.datetime, row_id: int | None = None, where: tuple | None = None) -> bool:
        """Mark a mail waiting in the list as settled (filed at last, or dismissed), by its row id or its place
        ``(mailbox, uidvalidity, uid)``; whether one was waiting."""
        if row_id is not None:
            row = self._session.get(InboundMail, row_id)
            if row is None:
                raise InvalidValue("inbound_mail_not_found", id=row_id)
        else:
            row = self._session.scalar(_at(*where)) if where else None
        if row is None or row.settled_at is not None:
            return False
        row.settled_at = at
        self._session.flush()
        return True
