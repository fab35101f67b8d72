"""The requester's satisfaction link (``pipeline.channels.ratings``): the one part of the API that takes no bearer
token, since the link's own token is the credential. GET shows what the link asks and changes nothing (mail
scanners follow links); POST records the answer, once.

A browser (a client preferring ``text/html``) gets the question as a page (``api.rating_page``) whose plain form
posts the answer here, as ``application/x-www-form-urlencoded``, and a page again after it: thanks, or the refusal
in words. Any other client gets JSON, and problem details for a refusal, as everywhere in the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import rating_page
from api.guards import workspace
from api.problems import RESPONSES, language, status_of
from pipeline.access.tokens import MAX_TOKEN_CHARS
from pipeline.channels import ratings
from pipeline.channels.ratings import RatingView, Score
from pipeline.workspace import Workspace
from words import PhrasedError

router = APIRouter(tags=["satisfaction"])
Token = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN_CHARS, pattern=r"^[A-Za-z0-9_-]+$")]
Ws = Annotated[Workspace, Depends(workspace)]
FORM = "application/x-www-form-urlencoded"


class RatingIn(BaseModel):
    """The one question's answer: good or bad, and a comment if the requester likes."""

    model_config = ConfigDict(extra="forbid")

    score: Score
    comment: str = Field("", max_length=ratings.MAX_COMMENT_CHARS)


class RatingOut(BaseModel):
    """What a link asks about, and its answer once given."""

    case: int
    title: str
    scores: list[str]
    expires_at: dt.datetime
    answered: bool
    score: str | None = None
    comment: str | None = None

    @classmethod
    def of(cls, view: RatingView) -> RatingOut:
        r = view.rating
        return cls(
            case=r.incident_id,
            title=view.case.title,
            scores=list(ratings.SCORES),
            expires_at=r.expires_at,
            answered=r.answered_at is not None,
            score=r.score,
            comment=r.comment,
        )


_PAGE = {rating_page.MEDIA_TYPE: {"schema": {"type": "string"}}}
# Each answer a browser may get as a page instead.
_AS_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": _PAGE},
    **{s: {**RESPONSES[s], "content": {**RESPONSES[s]["content"], **_PAGE}} for s in (404, 409, 422)},
}
_BODY = RatingIn.model_json_schema()
_ANSWER_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}, FORM: {"schema": _BODY}}}
}


async def posted(request: Request) -> Any:
    """The answer as posted: a form's fields (the last value of each) or the JSON document. The body was read
    whole, within the size limit, before this (``api.guards.BodyLimit``)."""
    body = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM:
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
        except (UnicodeDecodeError, ValueError) as exc:
            error = {"type": "value_error", "loc": ("body",), "msg": f"Not a form: {str(exc)[:100]}", "input": None}
            raise RequestValidationError([error]) from exc
        return {name: values[-1] for name, values in fields.items()}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": None}]
        ) from exc


def _language(ws: Workspace, token: str, request: Request) -> str:
    """The case's language, or the reader's when the link leads to no case."""
    try:
        return ratings.look(ws, token).case.language
    except ratings.RatingLinkRefused:
        return language(request.headers)


def _refused(ws: Workspace, token: str, request: Request, exc: PhrasedError) -> HTMLResponse:
    status = status_of(exc)
    if status == 500:
        raise exc
    return rating_page.refused(exc.phrase, _language(ws, token, request), status)


@router.get("/ratings/{token}", response_model=RatingOut, responses=_AS_PAGE, summary="See a satisfaction question")
def see_rating(token: Token, ws: Ws, request: Request) -> Any:
    """The case a satisfaction link is about and whether it was answered; changes nothing. 404 for a link that is
    unknown or whose time is over. A browser gets the question as a page with a form that answers it."""
    if not rating_page.wanted(request.headers):
        return RatingOut.of(ratings.look(ws, token))
    try:
        return rating_page.question(ratings.look(ws, token))
    except ratings.RatingLinkRefused as exc:
        return _refused(ws, token, request, exc)


@router.post(
    "/ratings/{token}",
    response_model=RatingOut,
    responses=_AS_PAGE,
    openapi_extra=_ANSWER_BODY,
    summary="Answer a satisfaction question",
)
def answer_rating(token: Token, ws: Ws, request: Request, fields: Annotated[Any, Depends(posted)]) -> Any:
    """Record the requester's answer (JSON, or a form's fields), once: 409 if the link was answered already, 404 if
    it is unknown or its time is over, 422 for a score not on the scale or a comment too long. A browser gets a page
    that thanks them, or says why not."""
    if not rating_page.wanted(request.headers):
        try:
            answer = RatingIn.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
        ratings.answer(ws, token, answer.score, answer.comment)
        return RatingOut.of(ratings.look(ws, token))
    given = fields if isinstance(fields, dict) else {}
    try:
        ratings.answer(ws, token, str(given.get("score", "")), str(given.get("comment") or ""))
        return rating_page.answered(ratings.look(ws, token))
    except PhrasedError as exc:
        return _refused(ws, token, request, exc)
