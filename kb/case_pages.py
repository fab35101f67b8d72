"""Cases a page at a time, for a caller that walks the whole list (the HTTP API): newest first, each page starting
below the last id the previous one returned (a keyset), so a case filed meanwhile never shifts a page and every
case is returned once. Mixed into ``KnowledgeBase``."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kb.models import Incident
from kb.records import IncidentRecord


class CasePageReads:
    """The case pages' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def incident_page(
        self,
        *,
        limit: int,
        below: int | None = None,
        statuses: Collection[str] = (),
        assignee: str | None = None,
    ) -> list[IncidentRecord]:
        """Up to ``limit`` incidents with an id below ``below`` (None: from the newest), highest id first, only
        those in ``statuses`` and held by ``assignee`` when given."""
        query = select(Incident).options(joinedload(Incident.requester)).order_by(Incident.id.desc()).limit(limit)
        if below is not None:
            query = query.where(Incident.id < below)
        if statuses:
            query = query.where(Incident.status.in_(list(statuses)))
        if assignee is not None:
            query = query.where(Incident.assignee == assignee)
        with self._read() as s:
            return [IncidentRecord.from_row(row) for row in s.scalars(query)]
