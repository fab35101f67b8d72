"""Jobs of the background worker: how they are kept (mixed into ``Writer``) and found (mixed into
``KnowledgeBase``). Storage only: what a job does, who may ask for one and when one counts as interrupted are the
pipeline's rules (``pipeline.jobs``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import JobNotFound
from kb.models import Job
from kb.records import JobRecord

STATUSES = ("queued", "running", "done", "failed")
# What the worker may change of a job as it goes; who asked and what for stay as they were.
_PROGRESS = {"status", "started_at", "finished_at", "worker", "attempts", "step", "done", "total", "result", "error"}


class JobReads:
    """The jobs' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def job(self, job_id: int) -> JobRecord:
        with self._read() as s:
            row = s.get(Job, job_id)
            if row is None:
                raise JobNotFound("job_not_found", id=job_id)
            return JobRecord.from_row(row)

    def jobs(self, *, statuses: tuple[str, ...] = (), limit: int = 50) -> list[JobRecord]:
        """The newest jobs first, optionally only those in ``statuses``."""
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if statuses:
            query = query.where(Job.status.in_(statuses))
        with self._read() as s:
            return [JobRecord.from_row(row) for row in s.scalars(query)]


class JobWrites:
    """The jobs' writes, for ``Writer``."""

    _session: Session

    def add_job(self, kind: str, args: dict, *, created_by: str) -> int:
        job = Job(kind=kind, args=args, status="queued", created_by=created_by)
        self._session.add(job)
        self._session.flush()
        return job.id

    def job_for_update(self, job_id: int) -> JobRecord:
        """The job as it is now, locked until this transaction ends (so two workers cannot both take it)."""
        return JobRecord.from_row(self._job_row(job_id))

    def _job_row(self, job_id: int) -> Job:
        row = self._session.get(Job, job_id, with_for_update=True)
        if row is None:
            raise JobNotFound("job_not_found", id=job_id)
        return row

    def update_job(self, job_id: int, **changes: Any) -> JobRecord:
        unknown = set(changes) - _PROGRESS
        if unknown:
            raise TypeError(f"cannot change {sorted(unknown)} of a job; can: {', '.join(sorted(_PROGRESS))}")
        if changes.get("status", "queued") not in STATUSES:
            raise ValueError(f"job status {changes['status']!r} is not one of {STATUSES}")
        row = self._job_row(job_id)
        for field, value in changes.items():
            setattr(row, field, value)
        self._session.flush()
        return JobRecord.from_row(row)
