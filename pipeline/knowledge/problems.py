"""Problem management: a problem record gathers the incidents that share a root cause, by hand or from a recurring
cluster of the trends page; once its cause and a workaround are known it is a known error, whose workaround triage
shows for a new report like its cases; resolving it tells the holders of its open incidents.

Who may do what (checked here, whatever page, command or script asks):

- agents (and leads, admins) create problems, link and unlink incidents, and write a problem's title,
  description, root cause and workaround while it is open; they may take on a problem nobody owns (as its owner),
  and give it back;
- leads and admins change the status (open, known error, resolved, and back), give a problem to someone else, and
  edit the root cause and workaround of a known error or a resolved problem: what triage shows was vetted by one.

A known error needs a workaround. Every edit is made against the version the person saw (StaleEdit otherwise).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kb import IncidentNotFound, IncidentRecord, InvalidValue, UserNotFound, Writer
from kb.models import utcnow
from kb.problems import LINK_FIELD, MAX_TITLE_CHARS, PROBLEM_STATUSES, ProblemRecord
from kb.vocab import RESOLVED_STATUSES
from pipeline.access.accounts import AGENTS, LEADS, Account, require, write_as
from pipeline.triage.search import SimilarCase
from pipeline.workspace import Workspace

logger = logging.getLogger(__name__)

__all__ = [
    "PROBLEM_STATUSES",
    "SORTS",
    "KnownErrorMatch",
    "ProblemRecord",
    "ProblemRow",
    "create",
    "edit",
    "from_cluster",
    "known_errors_for",
    "link",
    "listing",
    "of_case",
    "problem_for_cases",
    "unlink",
]

SORTS = ("age", "linked")
# What only a lead may change once a lead vetted it (the problem is a known error or resolved).
_VETTED = ("root_cause", "workaround")
_DECIDE = "problems_decide"  # action_problems_decide: what a refusal names
_WORK = "problems_work"


@dataclass(frozen=True)
class ProblemRow:
    """A problem as the review lists it: how long it has been open (until resolved), how many incidents it has."""

    problem: ProblemRecord
    age: dt.timedelta
    linked: int


@dataclass(frozen=True)
class KnownErrorMatch:
    """A known error whose linked ``case`` is among a report's similar cases, ``similarity`` alike."""

    problem: ProblemRecord
    case: IncidentRecord
    similarity: float


def listing(
    ws: Workspace, statuses: Collection[str] = (), *, sort: Literal["age", "linked"] = "age"
) -> list[ProblemRow]:
    """The problems in these statuses (all without), the oldest first, or those with most incidents linked first
    (then the oldest)."""
    if sort not in SORTS:
        raise InvalidValue("problems_bad_sort", sort=sort, allowed=list(SORTS))
    now = utcnow()
    rows = [
        ProblemRow(p, (p.resolved_at or now) - p.created_at, len(p.linked)) for p in ws.kb.problems(statuses=statuses)
    ]
    if sort == "linked":
        return sorted(rows, key=lambda r: (-r.linked, r.problem.created_at, r.problem.id))
    return sorted(rows, key=lambda r: (r.problem.created_at, r.problem.id))


def create(
    ws: Workspace,
    title: str,
    *,
    actor: Account,
    description: str = "",
    root_cause: str = "",
    workaround: str = "",
    case_ids: Sequence[int] = (),
) -> ProblemRecord:
    """A new open problem, with these incidents linked (refused whole if one is linked to another problem)."""
    with write_as(ws.kb, actor, AGENTS, _WORK) as w:
        problem = w.add_problem(
            title, description=description, root_cause=root_cause, workaround=workaround, created_by=actor.name
        )
        for case_id in case_ids:
            _link(w, problem.id, case_id, actor)
        return w.problem_now(problem.id)


def from_cluster(ws: Workspace, label: str, case_ids: Sequence[int], *, actor: Account) -> ProblemRecord:
    """A problem made from a recurring cluster (the trends page passes its label and cases): the cases not yet
    linked to another problem are linked to it. Where none is left (the cluster was made a problem since the page
    was drawn: a second click, another lead), the problem its cases are linked to, not an empty one."""
    linked = ws.kb.problem_links(case_ids)
    free = [case_id for case_id in case_ids if case_id not in linked]
    if linked and not free:
        require(actor, AGENTS, _WORK)
        return problem_for_cases(ws, case_ids)
    return create(ws, label[:MAX_TITLE_CHARS], actor=actor, case_ids=free)


def problem_for_cases(ws: Workspace, case_ids: Sequence[int]) -> ProblemRecord | None:
    """The problem most of these cases are linked to (a cluster already made a problem), or None."""
    counts: dict[int, int] = {}
    for link in ws.kb.problem_links(case_ids).values():
        counts[link.problem_id] = counts.get(link.problem_id, 0) + 1
    if not counts:
        return None
    return ws.kb.problem(max(counts, key=lambda p: (counts[p], -p)))


def of_case(ws: Workspace, incident_id: int) -> ProblemRecord | None:
    """The problem the incident is linked to, if any."""
    link = ws.kb.problem_links([incident_id]).get(incident_id)
    return None if link is None else ws.kb.problem(link.problem_id)


def link(ws: Workspace, problem_id: int, incident_id: int, *, actor: Account) -> ProblemRecord:
    """Link an incident to the problem (nothing changes if it already is); refused if it is linked to another."""
    with write_as(ws.kb, actor, AGENTS, _WORK) as w:
        _link(w, problem_id, incident_id, actor)
        return w.problem_now(problem_id)


def _link(w: Writer, problem_id: int, incident_id: int, actor: Account) -> None:
    try:
        w.link_incident(problem_id, incident_id, linked_by=actor.name)
    except IncidentNotFound:  # a number someone typed: a value refused, not a page that is not there
        raise InvalidValue("problems_no_case", case=incident_id) from None


def unlink(ws: Workspace, problem_id: int, incident_id: int, *, actor: Account) -> ProblemRecord:
    """Take an incident off the problem."""
    with write_as(ws.kb, actor, AGENTS, _WORK) as w:
        w.unlink_incident(problem_id, incident_id)
        return w.problem_now(problem_id)


def edit(
    ws: Workspace,
    problem_id: int,
    *,
    actor: Account,
    version: int,
    title: str | None = None,
    description: str | None = None,
    root_cause: str | None = None,
    workaround: str | None = None,
    status: str | None = None,
    owner: str | None = None,
) -> ProblemRecord:
    """Change a problem's fields (None: leave it; ``owner`` "" gives it to nobody) against the ``version`` shown.

    Resolving it records, on each of its incidents still open, that its problem was resolved: the channels tell
    each one's holder (``problem_resolved``).
    """
    given = dict(
        title=title, description=description, root_cause=root_cause, workaround=workaround, status=status, owner=owner
    )
    changes = {field: value for field, value in given.items() if value is not None}
    if owner:
        _check_owner(ws, owner)
    with write_as(ws.kb, actor, AGENTS, _WORK) as w:
        before = w.problem_now(problem_id, version)
        after, changed = w.update_problem(problem_id, **changes)
        _check_role(actor, before, changed)
        if after.status == "known_error" and not after.workaround:
            raise InvalidValue("problems_known_error_needs_workaround", problem=problem_id)
        if "status" in changed and after.status == "resolved":
            open_cases = [i for i in after.linked if w.incident(i).status not in RESOLVED_STATUSES]
            for case_id in open_cases:
                w.record_event("incident", case_id, "problem_resolved", field=LINK_FIELD, new_value=str(problem_id))
        return after


def _check_owner(ws: Workspace, name: str) -> None:
    try:
        user = ws.kb.user(name.strip())
    except UserNotFound:
        raise InvalidValue("problems_unknown_owner", name=name) from None
    if not user.active:
        raise InvalidValue("problems_unknown_owner", name=name)


def _check_role(actor: Account, before: ProblemRecord, changed: dict) -> None:
    """PermissionDenied (the write rolls back) where an agent changed what only a lead may."""
    if "status" in changed:
        require(actor, LEADS, _DECIDE)
    if "owner" in changed:
        old, new = changed["owner"]
        # Taking on a problem nobody owns, or giving it back, as a case is claimed; taking one from its owner is
        # giving it to someone else.
        if (old, new) not in ((None, actor.name), (actor.name, None)):
            require(actor, LEADS, _DECIDE)
    if before.status != "open" and set(_VETTED) & set(changed):
        require(actor, LEADS, _DECIDE)


def known_errors_for(ws: Workspace, similar: Iterable[SimilarCase]) -> list[KnownErrorMatch]:
    """The known errors whose linked cases are among a report's similar cases (those triage found: no second
    search), each with its most similar such case; the most similar first."""
    ranked = sorted(similar, key=lambda c: -c.similarity)
    links = ws.kb.problem_links([c.incident.id for c in ranked])
    wanted = sorted({link.problem_id for link in links.values()})
    known = {p.id: p for p in ws.kb.problems(statuses=("known_error",), ids=wanted)} if wanted else {}
    found: dict[int, KnownErrorMatch] = {}
    for c in ranked:
        link = links.get(c.incident.id)
        if link is not None and link.problem_id in known and link.problem_id not in found:
            found[link.problem_id] = KnownErrorMatch(known[link.problem_id], c.incident, c.similarity)
    return list(found.values())
