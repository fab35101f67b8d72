"""Attachments kept with cases: how they are stored (mixed into ``Writer``) and read (mixed into ``KnowledgeBase``).

The bytes are named by their SHA-256 and kept once, however many cases carry them: beside a SQLite database as
files (``<database>.files/ab/<sha256>``, written to a temporary file and renamed, so a crash leaves no half file),
on PostgreSQL in ``attachment_blobs``, where every app process and worker reads the same. A file name is only a
label: nothing on disk is ever named after it. Storage only: who may read them and how big one may be are the
pipeline's rules (``pipeline.desk.attachments``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kb.channel_models import Attachment, AttachmentBlob
from kb.errors import InvalidValue
from kb.records import _Record


@dataclass(frozen=True, slots=True)
class AttachmentRecord(_Record):
    """One file kept with a case (``filename`` is the sender's label, never a path)."""

    id: int
    incident_id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_by: str
    created_at: dt.datetime


def files_folder(engine: Engine) -> Path | None:
    """Where a SQLite database keeps attachment files (``<db file>.files``); None on a server database."""
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(f"{engine.url.database}.files")


def _blob_path(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256


class AttachmentReads:
    """The attachments' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]
    engine: Engine

    def attachments(self, incident_id: int) -> list[AttachmentRecord]:
        """The files kept with a case, in the order they came."""
        query = select(Attachment).where(Attachment.incident_id == incident_id).order_by(Attachment.id)
        with self._read() as s:
            return [AttachmentRecord.from_row(row) for row in s.scalars(query)]

    def attachment(self, attachment_id: int) -> AttachmentRecord:
        with self._read() as s:
            row = s.get(Attachment, attachment_id)
            if row is None:
                raise InvalidValue("attachment_not_found", id=attachment_id)
            return AttachmentRecord.from_row(row)

    def attachment_bytes(self, sha256: str) -> bytes:
        """The bytes kept under ``sha256``."""
        folder = files_folder(self.engine)
        if folder is not None:
            return _blob_path(folder, sha256).read_bytes()
        with self._read() as s:
            data = s.scalar(select(AttachmentBlob.data).where(AttachmentBlob.sha256 == sha256))
        if data is None:
            raise InvalidValue("attachment_bytes_missing", sha256=sha256)
        return bytes(data)


class AttachmentWrites:
    """The attachments' writes, for ``Writer``."""

    _session: Session

    def add_attachment(
        self,
        incident_id: int,
        *,
        filename: str,
        content_type: str,
        data: bytes,
        created_by: str,
        message_id: int | None = None,
    ) -> AttachmentRecord:
        """Keep ``data`` with a case (once per content); ``filename`` is stored as a label only."""
        sha256 = hashlib.sha256(data).hexdigest()
        folder = files_folder(self._session.get_bind())
        if folder is not None:
            _write_once(_blob_path(folder, sha256), data)
        elif self._session.get(AttachmentBlob, sha256) is None:
            self._session.add(AttachmentBlob(sha256=sha256, data=data))
        row = Attachment(
            incident_id=incident_id,
            message_id=message_id,
            filename=filename[:255],
            content_type=content_type[:100],
            size=len(data),
            sha256=sha256,
            created_by=created_by[:320],
        )
        self._session.add(row)
        self._session.flush()
        return AttachmentRecord.from_row(row)


def _write_once(path: Path, data: bytes) -> None:
    """Write a content-addressed file unless it is there: to a temporary file beside it, then renamed. A file left
    by a transaction rolled back afterwards is harmless: it holds exactly the bytes its name says."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
