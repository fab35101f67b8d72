"""What the SLA clocks read of cases' histories: every status move of many cases at once, from the event log (mixed
into ``KnowledgeBase``). Which statuses stop a clock, and what that means for a deadline, is the pipeline's business
(``pipeline.desk.sla``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Event, in_batches


@dataclass(frozen=True)
class StatusMove:
    """A case's status changed from ``old`` to ``new`` at ``at``."""

    at: dt.datetime
    old: str | None
    new: str | None


class SlaReads:
    """The SLA clocks' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def status_moves(self, incident_ids: Sequence[int]) -> dict[int, list[StatusMove]]:
        """Every status move of these cases, oldest first; a case never moved is left out. One query per
        ``IN_BATCH`` cases, not one per case."""
        ids = list(dict.fromkeys(incident_ids))
        moves: dict[int, list[StatusMove]] = {}
        with self._read() as s:
            for batch in in_batches(ids):
                query = (
                    select(Event.entity_id, Event.at, Event.old_value, Event.new_value)
                    .where(
                        Event.entity == "incident",
                        Event.entity_id.in_(batch),
                        Event.action == "update",
                        Event.field == "status",
                    )
                    .order_by(Event.id)
                )
                for case, at, old, new in s.execute(query):
                    moves.setdefault(case, []).append(StatusMove(at, old, new))
        return moves
