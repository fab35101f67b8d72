"""Problem records and the incidents linked to them: how they are kept (mixed into ``Writer``) and found (mixed into
``KnowledgeBase``). Storage only: who may change a problem's status and which incidents hear of its resolution are
the pipeline's rules (``pipeline.knowledge.problems``).

Every change is in the event log under the entity ``problem`` (with old and new value), and linking or unlinking
an incident is in the incident's history too (``problem_linked``, ``problem_unlinked``), so its page shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb import models
from kb.errors import IncidentNotFound, InvalidValue, StaleEdit
from kb.models import in_batches
from kb.problem_models import Problem, ProblemLink
from kb.records import _Record
from words import Phrase

PROBLEM_STATUSES = ("open", "known_error", "resolved")
MAX_TITLE_CHARS = 200
# Root cause, workaround, description: a page or two each; more is a paste gone wrong.
MAX_TEXT_CHARS = 20_000
EDITABLE = ("title", "description", "root_cause", "workaround", "status", "owner")
NEW_FIELDS = ("description", "root_cause", "workaround", "owner")
# What the incident's history and the notices call a link to a problem.
LINK_FIELD = "problems_record"


@dataclass(frozen=True, slots=True)
class ProblemRecord(_Record):
    """A problem and the incidents linked to it (ids, in the order they were linked)."""

    id: int
    title: str
    description: str
    root_cause: str
    workaround: str
    status: str
    owner: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    version: int
    linked: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ProblemLinkRecord(_Record):
    incident_id: int
    problem_id: int
    linked_by: str
    linked_at: dt.datetime


def _checked(field: str, value: Any) -> Any:
    """A field's value as it is kept, or InvalidValue saying what is allowed."""
    if field == "status":
        if value not in PROBLEM_STATUSES:
            raise InvalidValue("problems_bad_status", value=value, allowed=list(PROBLEM_STATUSES))
        return value
    if field == "owner":
        return (value or "").strip() or None
    text = (value or "").strip()
    limit = MAX_TITLE_CHARS if field == "title" else MAX_TEXT_CHARS
    if len(text) > limit:
        raise InvalidValue("problems_text_long", what=Phrase(f"problems_{field}"), chars=len(text), limit=limit)
    if field == "title" and not text:
        raise InvalidValue("required_empty", what=Phrase("problems_title"))
    return text


class ProblemReads:
    """The problems' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def problem(self, problem_id: int) -> ProblemRecord:
        """The problem with its linked incidents; InvalidValue if there is none with this id."""
        found = self.problems(ids=[problem_id])
        if not found:
            raise InvalidValue("problems_not_found", id=problem_id)
        return found[0]

    def problems(self, *, statuses: Collection[str] = (), ids: Sequence[int] | None = None) -> list[ProblemRecord]:
        """The problems in these statuses (all without), or with these ids, oldest first."""
        query = select(Problem).order_by(Problem.id)
        if statuses:
            query = query.where(Problem.status.in_(list(statuses)))
        if ids is not None:
            query = query.where(Problem.id.in_(list(ids)))
        with self._read() as s:
            rows = s.scalars(query).all()
            linked: dict[int, list[int]] = {row.id: [] for row in rows}
            links = select(ProblemLink.problem_id, ProblemLink.incident_id).order_by(
                ProblemLink.linked_at, ProblemLink.incident_id
            )
            for batch in in_batches(list(linked)):
                for problem_id, incident_id in s.execute(links.where(ProblemLink.problem_id.in_(batch))):
                    linked[problem_id].append(incident_id)
            return [ProblemRecord.from_row(row, linked=tuple(linked[row.id])) for row in rows]

    def problem_links(self, incident_ids: Sequence[int]) -> dict[int, ProblemLinkRecord]:
        """The links of those of these incidents that are linked to a problem, by incident id."""
        found = {}
        with self._read() as s:
            for batch in in_batches(list(incident_ids)):
                query = select(ProblemLink).where(ProblemLink.incident_id.in_(batch))
                found.update({row.incident_id: ProblemLinkRecord.from_row(row) for row in s.scalars(query)})
        return found

    def count_problems(self) -> int:
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(Problem))


class ProblemWrites:
    """The problems' writes, for ``Writer``; each is in the event log."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]
    last_event: Callable[[str, int], models.Event | None]

    def _problem(self, problem_id: int, expected_version: int | None = None) -> Problem:
        """The problem's row, locked until this transaction ends; StaleEdit if it is no longer at the version the
        caller saw (naming who changed it last, and when)."""
        row = self._session.get(Problem, problem_id, with_for_update=True)
        if row is None:
            raise InvalidValue("problems_not_found", id=problem_id)
        if expected_version is not None and row.version != expected_version:
            last = self.last_event("problem", problem_id)
            raise StaleEdit("problems_stale_edit", problem=problem_id, who=last.actor, at=last.at)
        return row

    def _record(self, row: Problem) -> ProblemRecord:
        links = select(ProblemLink.incident_id).where(ProblemLink.problem_id == row.id)
        linked = self._session.scalars(links.order_by(ProblemLink.linked_at, ProblemLink.incident_id)).all()
        return ProblemRecord.from_row(row, linked=tuple(linked))

    def problem_now(self, problem_id: int, expected_version: int | None = None) -> ProblemRecord:
        """The problem as this transaction sees it (locked); StaleEdit if it is no longer at ``expected_version``."""
        return self._record(self._problem(problem_id, expected_version))

    def add_problem(self, title: str, *, created_by: str, **fields: Any) -> ProblemRecord:
        """A new open problem (``fields``: ``NEW_FIELDS``)."""
        unknown = set(fields) - set(NEW_FIELDS)
        if unknown:
            raise TypeError(f"cannot set {sorted(unknown)} on a new problem; valid: {', '.join(NEW_FIELDS)}")
        now = self.now()
        row = Problem(
            title=_checked("title", title),
            description=_checked("description", fields.get("description")),
            root_cause=_checked("root_cause", fields.get("root_cause")),
            workaround=_checked("workaround", fields.get("workaround")),
            owner=_checked("owner", fields.get("owner")),
            status="open",
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        self.record_event("problem", row.id, "create", field="title", new_value=row.title)
        for field in NEW_FIELDS:  # what it was made with, as later changes are: the log holds every value it had
            if getattr(row, field):
                self.record_event("problem", row.id, "create", field=field, new_value=getattr(row, field))
        return self._record(row)

    def update_problem(
        self, problem_id: int, *, expected_version: int | None = None, **changes: Any
    ) -> tuple[ProblemRecord, dict[str, tuple[Any, Any]]]:
        """Change some fields of a problem, each change logged with its old and new value; resolving sets
        ``resolved_at``, reopening clears it. The problem as it is now, and what changed (field -> (old, new))."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise TypeError(f"cannot edit {sorted(unknown)}; editable fields: {', '.join(EDITABLE)}")
        row = self._problem(problem_id, expected_version)
        changed = {}
        for field, value in changes.items():
            new, old = _checked(field, value), getattr(row, field)
            if new != old:
                changed[field] = (old, new)
        if not changed:
            return self._record(row), changed
        for field, (old, new) in changed.items():
            setattr(row, field, new)
            self.record_event("problem", row.id, "update", field=field, old_value=old, new_value=new)
        if "status" in changed:
            row.resolved_at = self.now() if row.status == "resolved" else None
        row.updated_at = self.now()
        self._session.flush()
        return self._record(row), changed

    def link_incident(self, problem_id: int, incident_id: int, *, linked_by: str) -> bool:
        """Link an incident to a problem; False if it already was. Refused if it is linked to another problem."""
        self._problem(problem_id)
        # Locked as a claim locks it: two links of one incident at once cannot both pass the check below.
        if self._session.get(models.Incident, incident_id, with_for_update=True) is None:
            raise IncidentNotFound("incident_not_found", id=incident_id)
        link = self._session.get(ProblemLink, incident_id)
        if link is not None and link.problem_id == problem_id:
            return False
        if link is not None:
            raise InvalidValue("problems_linked_elsewhere", case=incident_id, problem=link.problem_id)
        self._session.add(
            ProblemLink(problem_id=problem_id, incident_id=incident_id, linked_by=linked_by, linked_at=self.now())
        )
        self._session.flush()
        self.record_event("problem", problem_id, "link", field="incident", new_value=str(incident_id))
        self.record_event("incident", incident_id, "problem_linked", field=LINK_FIELD, new_value=str(problem_id))
        return True

    def unlink_incident(self, problem_id: int, incident_id: int) -> None:
        """Take an incident off a problem; refused if it is not linked to that problem."""
        self._problem(problem_id)
        link = self._session.get(ProblemLink, incident_id)
        if link is None or link.problem_id != problem_id:
            raise InvalidValue("problems_not_linked", case=incident_id, problem=problem_id)
        self._session.delete(link)
        self._session.flush()
        self.record_event("problem", problem_id, "unlink", field="incident", old_value=str(incident_id))
        self.record_event("incident", incident_id, "problem_unlinked", field=LINK_FIELD, old_value=str(problem_id))
