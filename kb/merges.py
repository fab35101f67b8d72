"""Duplicates merged into their original: how a merge is kept (mixed into ``Writer``) and found (mixed into
``KnowledgeBase``). Storage only: which merges are allowed is the pipeline's rule (``pipeline.desk.merge``).

The duplicate keeps its own messages; the original gets copies of them, each remembering where it came from. The
copies are inserted without the ORM, so they are not each logged as a new message (nor heard as a requester's
answer by the notices): the merge is one event in each case's history, which names what it carried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kb.attachments import AttachmentRecord
from kb.channel_models import Attachment
from kb.desk_extras_models import Merge, MergedMessage
from kb.models import Message, in_batches
from kb.records import MessageRecord, _Record


@dataclass(frozen=True, slots=True)
class MergeRecord(_Record):
    """A duplicate merged into its original, by whom and when."""

    duplicate_id: int
    original_id: int
    merged_by: str
    merged_at: dt.datetime


class MergeReads:
    """The merges' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def merge_of(self, duplicate_id: int) -> MergeRecord | None:
        """The merge of a case into its original, if it was merged."""
        with self._read() as s:
            row = s.get(Merge, duplicate_id)
            return None if row is None else MergeRecord.from_row(row)

    def merges_of(self, incident_ids: Sequence[int]) -> dict[int, int]:
        """Of these cases, those merged: duplicate id -> the id of the case it was merged into."""
        found: dict[int, int] = {}
        with self._read() as s:
            for batch in in_batches(list(incident_ids)):
                query = select(Merge.duplicate_id, Merge.original_id).where(Merge.duplicate_id.in_(batch))
                found.update(s.execute(query).all())
        return found

    def merged_into(self, original_id: int) -> list[MergeRecord]:
        """The cases merged into this one, oldest merge first."""
        query = select(Merge).where(Merge.original_id == original_id).order_by(Merge.merged_at, Merge.duplicate_id)
        with self._read() as s:
            return [MergeRecord.from_row(row) for row in s.scalars(query)]

    def copied_messages(self, incident_id: int) -> dict[int, int]:
        """Of a case's messages, those copied from a duplicate merged into it: message id -> the duplicate's id."""
        query = (
            select(MergedMessage.message_id, MergedMessage.from_incident_id)
            .join(Message, Message.id == MergedMessage.message_id)
            .where(Message.incident_id == incident_id)
        )
        with self._read() as s:
            return dict(s.execute(query).all())


class MergeWrites:
    """The merges' writes, for ``Writer``."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]

    def add_merge(self, duplicate_id: int, original_id: int) -> MergeRecord:
        """Record that ``duplicate_id`` was merged into ``original_id`` (in both cases' histories)."""
        row = Merge(
            duplicate_id=duplicate_id,
            original_id=original_id,
            merged_by=self._session.info["actor"],
            merged_at=self.now(),
        )
        self._session.add(row)
        self._session.flush()
        self.record_event("incident", duplicate_id, "merged_into", field="duplicate_of", new_value=str(original_id))
        return MergeRecord.from_row(row)

    def copy_message(self, message: MessageRecord, to_incident_id: int) -> int:
        """A copy of ``message`` on another case, as it was (kind, author, subject, text, times), remembering
        where it came from (a ``message.id`` of 0: the case's report, which is no message); its Message-ID stays
        with the original message only, so mail answering it still finds the case it came to. The copy's id."""
        values = dict(
            incident_id=to_incident_id,
            kind=message.kind,
            author=message.author,
            subject=message.subject,
            body=message.body,
            at=message.at,
            sent_at=message.sent_at,
        )
        copy = self._session.execute(insert(Message).values(**values).returning(Message.id)).scalar_one()
        self._session.execute(
            insert(MergedMessage).values(
                message_id=copy, from_incident_id=message.incident_id, from_message_id=message.id or None
            )
        )
        return copy

    def copy_attachment(self, attachment: AttachmentRecord, to_incident_id: int, message_id: int | None) -> None:
        """The same file (its bytes are kept once, by content) listed on another case too."""
        self._session.add(
            Attachment(
                incident_id=to_incident_id,
                message_id=message_id,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                sha256=attachment.sha256,
                created_by=attachment.created_by,
                created_at=attachment.created_at,
            )
        )
        self._session.flush()
