"""Errors as RFC 9457 problem details (``application/problem+json``): every refusal the API gives, its own and
FastAPI's, says in words from the catalogue what was wrong, in English or (``Accept-Language: ja``) Japanese.

A pipeline error becomes the status its kind calls for: a refused token 401, a role that may not act 403, an
unknown case 404, a stale version or a claim someone else holds 409, bad input 422, a knowledge base or model not
available 503. Anything else is a 500 whose detail is only a reference to the server's log.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from kb import KnowledgeBaseBusy, KnowledgeBaseUnavailable, StaleEdit
from pipeline.access import PermissionDenied
from pipeline.access.tokens import TokenRefused
from pipeline.desk.casework import AlreadyClaimed
from pipeline.triage.training import SuggestionModelUnavailable
from words import LANGUAGES, Phrase, PhrasedError, say

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


class RateLimited(PhrasedError, RuntimeError):
    """Too many requests with one token; ``retry_after`` is the seconds until the next is allowed."""

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__("api_rate_limited", limit=limit, seconds=retry_after)
        self.retry_after = retry_after


# The first kind an error is an instance of decides its status.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (TokenRefused, 401),
    (RateLimited, 429),
    (PermissionDenied, 403),
    (StaleEdit, 409),
    (AlreadyClaimed, 409),
    (KnowledgeBaseBusy, 503),
    (KnowledgeBaseUnavailable, 503),
    (SuggestionModelUnavailable, 503),
    (LookupError, 404),
    (PermissionError, 403),
    (ValueError, 422),
    (RuntimeError, 409),
)


class FieldProblem(BaseModel):
    """One thing wrong with a request's input: where (``body.title``, ``query.limit``) and what."""

    field: str
    problem: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is the catalogue's code of the detail, ``errors`` lists each wrong field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    code: str | None = None
    errors: list[FieldProblem] | None = None


# How every operation's errors are described in the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503)
}


def language(headers: Any) -> str:
    """The reader's language from ``Accept-Language``: the most wanted one the catalogue has, English by default."""
    wanted = []
    for part in (headers.get("accept-language") or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            wanted.append((float(q), tag.strip().split("-")[0].lower()))
        except ValueError:
            continue
    return next((tag for _, tag in sorted(wanted, key=lambda w: -w[0]) if tag in LANGUAGES), "en")


def problem(
    status: int,
    detail: Phrase,
    *,
    path: str,
    lang: str,
    headers: dict[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"urn:incident-kb:problem:{detail.code}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=say(detail, lang),
        instance=path,
        code=detail.code,
        errors=errors,
    )
    headers = {"Content-Language": lang, **(headers or {})}
    return JSONResponse(body.model_dump(exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE)


def status_of(exc: PhrasedError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Answer every error with problem details."""

    @app.exception_handler(PhrasedError)
    async def phrased(request: Request, exc: PhrasedError) -> JSONResponse:
        status = status_of(exc)
        if status == 500:
            return await server_error(request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return problem(status, exc.phrase, path=request.url.path, lang=language(request.headers), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldProblem(field=_where(e.get("loc", ())), problem=e.get("msg", "")) for e in exc.errors()]
        listed = "; ".join(say("api_field_problem", "en", field=e.field, problem=e.problem) for e in errors)
        return problem(
            422,
            Phrase("api_invalid_request", problems=listed),
            path=request.url.path,
            lang=language(request.headers),
            errors=errors,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        status = exc.status_code
        known = {404: Phrase("api_not_found", path=request.url.path), 400: Phrase("api_body_unreadable")}
        detail = known.get(status) or Phrase("api_http_error", status=f"{status} {HTTPStatus(status).phrase}")
        return problem(status, detail, path=request.url.path, lang=language(request.headers), headers=exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        logger.error("request %s %s failed (reference %s)", request.method, request.url.path, reference, exc_info=exc)
        detail = Phrase("api_server_error", reference=reference)
        return problem(500, detail, path=request.url.path, lang=language(request.headers))
