"""The operations under ``/api/v1``: each reads its input, calls one pipeline function as the account the token
acts for (which checks the role), and answers with a typed model."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.guards import account, workspace
from api.schemas import (
    CaseFileOut,
    CaseList,
    CaseRef,
    FiledOut,
    IncidentOut,
    MessageOut,
    NewIncident,
    NewMessage,
    SearchOut,
    SuggestionOut,
    SuggestRequest,
    ThresholdChange,
    ThresholdsOut,
    TriageOut,
)
from pipeline import jobs
from pipeline.access import Account
from pipeline.channels import service
from pipeline.desk import casework
from pipeline.triage.thresholds import Thresholds
from pipeline.workspace import Workspace
from words import PhrasedError

MAX_ID = 2**31 - 1  # the largest id a case or a version can have on every database
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
Actor = Annotated[Account, Depends(account)]
Ws = Annotated[Workspace, Depends(workspace)]

router = APIRouter()


class CursorInvalid(PhrasedError, ValueError):
    """A cursor this API did not give."""


def _cursor(below: int) -> str:
    return base64.urlsafe_b64encode(f"below:{below}".encode()).decode().rstrip("=")


def _below(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if kind == "below" and value.isdigit() and 0 < int(value) <= MAX_ID:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise CursorInvalid("api_cursor_invalid")


@router.post("/incidents", status_code=201, response_model=FiledOut, summary="File a report")
def file_incident(new: NewIncident, actor: Actor, ws: Ws) -> FiledOut:
    """File a report as the Intake page does; answers with the new case, the suggestions stored for it (a value
    when sure, else not sure), the similar resolved cases and the earlier open case it may duplicate."""
    filed = service.file_report(
        ws,
        actor=actor,
        title=new.title,
        body=new.body,
        requester_email=new.requester_email,
        labels=new.labels.model_dump(exclude_none=True),
    )
    return FiledOut(
        id=filed.case.id,
        incident=IncidentOut.of(filed.case),
        suggestions=[SuggestionOut.stored(s) for s in filed.suggestions],
        similar=[CaseRef.of(c) for c in filed.similar],
        possible_duplicate=IncidentOut.of(filed.duplicate) if filed.duplicate else None,
    )


@router.get("/incidents/{incident_id}", response_model=CaseFileOut, summary="A case with its messages")
def get_incident(incident_id: CaseId, actor: Actor, ws: Ws) -> CaseFileOut:
    case = casework.case_file(ws, incident_id)
    return CaseFileOut(
        incident=IncidentOut.of(case.incident),
        messages=[MessageOut.of(m) for m in case.messages],
        suggestions=[SuggestionOut.stored(s) for s in case.suggestions.values()],
    )


@router.get("/incidents", response_model=CaseList, summary="Cases, newest first, a page at a time")
def list_incidents(
    actor: Actor,
    ws: Ws,
    status: Annotated[str | None, Query(max_length=30, description="Only cases in this status.")] = None,
    assignee: Annotated[str | None, Query(max_length=200, description="Only cases this person holds.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=100, description="next_cursor of the previous page.")] = None,
) -> CaseList:
    below = _below(cursor) if cursor else None
    page = service.case_page(ws, limit=limit, below=below, status=status, assignee=assignee)
    following = _cursor(page.next_below) if page.next_below is not None else None
    return CaseList(items=[IncidentOut.of(c) for c in page.cases], next_cursor=following)


@router.post(
    "/incidents/{incident_id}/messages", status_code=201, response_model=IncidentOut, summary="A note or a reply"
)
def add_message(incident_id: CaseId, message: NewMessage, actor: Actor, ws: Ws) -> IncidentOut:
    """Record an internal note, or reply to the requester (the case then waits for them); answers with the case as
    it is now."""
    if message.kind == "note":
        casework.note(ws, incident_id, message.body, actor=actor)
        return IncidentOut.of(ws.kb.incident(incident_id))
    # Through the worker's queue, as the case page does: the mail goes out now, not within the minute.
    case = jobs.reply(ws, incident_id, actor=actor, subject=message.subject, body=message.body, version=message.version)
    return IncidentOut.of(case)


@router.get("/search", response_model=SearchOut, summary="Cases like a query, in either language")
def search(
    actor: Actor,
    ws: Ws,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchOut:
    found = ws.search(q, k=limit)
    return SearchOut(resolved=[CaseRef.of(c) for c in found.resolved], open=[CaseRef.of(c) for c in found.open])


@router.post("/suggest", response_model=TriageOut, summary="What the assistant makes of a text; files nothing")
def suggest(request: SuggestRequest, actor: Actor, ws: Ws) -> TriageOut:
    result = ws.triage(request.text, fold=False)
    return TriageOut(
        suggestions=[SuggestionOut.made(s) for s in result.suggestions.values()],
        similar=[CaseRef.of(c) for c in result.similar],
        possible_duplicates=[CaseRef.of(c) for c in result.duplicates],
    )


def _thresholds(t: Thresholds) -> ThresholdsOut:
    classes = {target: dict(labels) for target, labels in t.class_thresholds.items()}
    return ThresholdsOut(
        version=t.version, default_precision=t.default_precision, precision=dict(t.precision), class_thresholds=classes
    )


@router.get("/thresholds", response_model=ThresholdsOut, summary="The thresholds in force (leads and admins)")
def get_thresholds(actor: Actor, ws: Ws) -> ThresholdsOut:
    return _thresholds(service.thresholds(ws, actor=actor))


@router.put("/thresholds", response_model=ThresholdsOut, summary="Change the thresholds (leads and admins)")
def put_thresholds(change: ThresholdChange, actor: Actor, ws: Ws) -> ThresholdsOut:
    """A new version of the thresholds with these changes, in force for the very next suggestion."""
    classes = {(target, label): v for target, labels in change.class_thresholds.items() for label, v in labels.items()}
    return _thresholds(
        service.set_thresholds(ws, actor=actor, precision=change.precision, classes=classes, note=change.note)
    )
