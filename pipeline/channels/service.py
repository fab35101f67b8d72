"""What another system asks of the desk through the HTTP API, beyond what the pages already call: filing a report
and hearing at once what the assistant makes of it, the cases a page at a time, and the thresholds for a lead.

Every change goes through the same pipeline functions as the app's pages (``intake.submit``, ``casework``,
``change_thresholds``), with the same role checks; this module only puts together what a single answer carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kb import IncidentRecord, InvalidValue, SuggestionRecord
from pipeline.access.accounts import LEADS, Account, require
from pipeline.desk import intake
from pipeline.triage.search import SimilarCase
from pipeline.triage.thresholds import Thresholds, change_thresholds
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class Filed:
    """A report just filed: the new case, the suggestions stored for it, the similar resolved cases and the
    earlier open case it may duplicate."""

    case: IncidentRecord
    suggestions: list[SuggestionRecord]
    similar: list[SimilarCase]
    duplicate: IncidentRecord | None


@dataclass(frozen=True)
class CasePage:
    """One page of cases, newest first; ``next_below`` is where the next page starts (None: this was the last)."""

    cases: list[IncidentRecord]
    next_below: int | None


def file_report(
    ws: Workspace,
    *,
    actor: Account,
    title: str,
    body: str,
    requester_email: str,
    labels: Mapping[str, str],
    k: int | None = None,
) -> Filed:
    """File a report as the Intake page does, with the ``labels`` its sender already knows (category, priority,
    escalation level: kept, never replaced by a suggestion); the category must be one the knowledge base knows."""
    category = labels.get("category")
    if category is not None and category not in (known := ws.kb.categories()):
        raise InvalidValue("value_not_in_vocabulary", field="category", allowed=known, value=repr(category))
    case_id = intake.submit(
        ws, actor=actor, title=title, body=body, requester_email=requester_email, labels=dict(labels)
    )
    case = ws.kb.incident(case_id)
    duplicate = ws.kb.incident(case.duplicate_of) if case.duplicate_of is not None else None
    return Filed(case, ws.kb.suggestions(case_id), ws.similar_cases(case, k=k), duplicate)


def case_page(
    ws: Workspace, *, limit: int, below: int | None = None, status: str | None = None, assignee: str | None = None
) -> CasePage:
    """Up to ``limit`` cases with an id below ``below``, newest first, only those in ``status`` (a status of the
    workflow) and held by ``assignee`` when given."""
    if status is not None and status not in ws.workflow.statuses:
        raise InvalidValue("status_unknown", status=status, known=list(ws.workflow.statuses))
    statuses = (status,) if status is not None else ()
    cases = ws.kb.incident_page(limit=limit + 1, below=below, statuses=statuses, assignee=assignee)
    more = len(cases) > limit
    return CasePage(cases[:limit], cases[limit - 1].id if more else None)


def thresholds(ws: Workspace, *, actor: Account) -> Thresholds:
    """The thresholds in force, for a lead or an admin (as the review shows them)."""
    require(actor, LEADS, "review")
    return ws.thresholds()


def set_thresholds(
    ws: Workspace,
    *,
    actor: Account,
    precision: Mapping[str, float],
    classes: Mapping[tuple[str, str], float | None],
    note: str = "",
) -> Thresholds:
    """A new version of the thresholds with these changes (as on the Thresholds page), in force at once."""
    change_thresholds(ws.kb, ws.settings, actor=actor, precision=precision, classes=classes, note=note)
    return ws.thresholds()
