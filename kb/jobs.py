"""Jobs of the background worker: how they are kept (mixed into ``Writer``) and found (mixed into
``KnowledgeBase``). Storage only: what a job does, who may ask for one and when one counts as interrupted are the
pipeline's rules (``pipeline.jobs``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, defer

from kb.errors import JobNotFound
from kb.models import Job, in_batches
from kb.records import JobRecord

STATUSES = ("queued", "running", "done", "failed")
# What the worker may change of a job as it goes; who asked and what for stay as they were.
_PROGRESS = {"status", "finished_at", "step", "done", "total", "result", "error", "payload"}


class JobReads:
    """The jobs' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def job(self, job_id: int) -> JobRecord:
        with self._read() as s:
            return JobRecord.from_row(_row(s, job_id))

    def job_payload(self, job_id: int) -> bytes | None:
        """What the job works on (an uploaded file), if it still has it."""
        with self._read() as s:
            return s.scalar(select(Job.payload).where(Job.id == _row(s, job_id).id))

    def jobs(
        self, *, kinds: tuple[str, ...] = (), statuses: tuple[str, ...] = (), limit: int = 50, results: bool = True
    ) -> list[JobRecord]:
        """The newest jobs first, optionally only those of ``kinds`` and in ``statuses``; without ``results``, their
        results are not read (a report's may be megabytes), and are None in the records."""
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        if statuses:
            query = query.where(Job.status.in_(statuses))
        if not results:
            query = query.options(defer(Job.result, raiseload=True))
        given = {} if results else {"result": None}
        with self._read() as s:
            return [JobRecord.from_row(row, **given) for row in s.scalars(query)]


class JobWrites:
    """The jobs' writes, for ``Writer``."""

    _session: Session

    def add_job(
        self, kind: str, args: dict, *, created_by: str, created_by_id: int | None, payload: bytes | None = None
    ) -> int:
        job = Job(
            kind=kind,
            args=args,
            status="queued",
            created_by=created_by,
            created_by_id=created_by_id,
            payload=payload,
            attempts=0,
            done=0,
        )
        self._session.add(job)
        self._session.flush()
        return job.id

    def take_job(self, job_id: int, *, worker: str, at: dt.datetime) -> bool:
        """Mark a queued job as running in ``worker``; whether this call took it. One conditional UPDATE, so of
        two workers given the same job (the queue may deliver it twice) only one takes it, on SQLite as on
        PostgreSQL."""
        query = update(Job).where(Job.id == job_id, Job.status == "queued")
        values = {"status": "running", "worker": worker, "started_at": at, "attempts": Job.attempts + 1}
        return self._conditional(query.values(**values))

    def requeue_job(self, job_id: int, *, worker: str) -> bool:
        """Put back in the queue a job still running in ``worker`` (a worker that is gone); whether it was."""
        query = update(Job).where(Job.id == job_id, Job.status == "running", Job.worker == worker)
        return self._conditional(query.values(status="queued", step=None, done=0, total=None))

    def _conditional(self, query) -> bool:
        return self._session.execute(query.execution_options(synchronize_session=False)).rowcount == 1

    def update_job(self, job_id: int, **changes: Any) -> JobRecord:
        unknown = set(changes) - _PROGRESS
        if unknown:
            raise TypeError(f"cannot change {sorted(unknown)} of a job; can: {', '.join(sorted(_PROGRESS))}")
        if changes.get("status", "queued") not in STATUSES:
            raise ValueError(f"job status {changes['status']!r} is not one of {STATUSES}")
        row = _row(self._session, job_id)
        for field, value in changes.items():
            setattr(row, field, value)
        self._session.flush()
        return JobRecord.from_row(row)

    def reassign_job(self, job_id: int, *, created_by: str, created_by_id: int | None) -> None:
        """Make the job asked for by someone else (who asked for it again), who it then runs as."""
        row = _row(self._session, job_id)
        row.created_by, row.created_by_id = created_by, created_by_id
        self._session.flush()

    def delete_jobs(self, job_ids: list[int]) -> None:
        """Forget these jobs, record and all (reports a newer one replaced)."""
        for batch in in_batches(job_ids):
            self._session.execute(delete(Job).where(Job.id.in_(batch)).execution_options(synchronize_session=False))

    def locked_job(self, job_id: int) -> JobRecord:
        """The job as it is now, locked until this transaction ends."""
        return JobRecord.from_row(_row(self._session, job_id, lock=True))


def _row(session: Session, job_id: int, *, lock: bool = False) -> Job:
    row = session.get(Job, job_id, with_for_update=lock, populate_existing=True)
    if row is None:
        raise JobNotFound("job_not_found", id=job_id)
    return row
