"""What stands before every operation: the request body's size and encoding (checked before any of it is parsed),
the bearer token, and the rate limit per token.

The body is read here in full, up to ``max_body_bytes`` and no further, whether or not the client said how long it
is (a chunked body has no Content-Length), and only unencoded: a gzip body of a few kilobytes may unpack to
gigabytes, so none is let in. The rate limit is a token bucket per API token in this process's memory: a server
of several API processes allows each its own share.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import RateLimited, language, problem
from pipeline.access import Account
from pipeline.access.tokens import authenticate
from pipeline.workspace import Workspace
from words import Phrase

_IDENTITY = ("", "identity")
# Every response: never sniffed as another type, never kept by a cache (it is one account's view).
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


class BodyLimit:
    """ASGI middleware: 415 for a body with a Content-Encoding, 413 for one over ``max_bytes``; else the body,
    read whole, is handed on to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        lang, path = language(headers), scope["path"]
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding not in _IDENTITY:
            refused = problem(415, Phrase("api_encoding_refused", encoding=encoding[:40]), path=path, lang=lang)
            await refused(scope, receive, _with_headers(send))
            return
        too_large = problem(413, Phrase("api_body_too_large", limit=self.max_bytes), path=path, lang=lang)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await too_large(scope, receive, _with_headers(send))
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:  # the rest is never read
                await too_large(scope, receive, _with_headers(send))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, given = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal given
            if given:
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, _with_headers(send))


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *_HEADERS]
        await send(message)

    return sending


class RateLimiter:
    """A token bucket per API token: ``per_minute`` requests at once at most, refilled evenly over a minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60  # per second
        self._buckets: dict[int, tuple[float, float]] = {}  # token id -> (requests left, when counted)
        self._lock = threading.Lock()

    def take(self, key: int) -> None:
        """Count one request of token ``key``; RateLimited if its bucket is empty."""
        now = time.monotonic()
        with self._lock:
            left, then = self._buckets.get(key, (self.per_minute, now))
            left = min(self.per_minute, left + (now - then) * self._rate)
            if left < 1:
                self._buckets[key] = (left, now)
                raise RateLimited(math.ceil((1 - left) / self._rate), self.per_minute)
            self._buckets[key] = (left - 1, now)


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


_bearer = HTTPBearer(auto_error=False, description="An API token: `incident-kb users token NAME` issues one.")


def account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ws: Annotated[Workspace, Depends(workspace)],
) -> Account:
    """The account the request's bearer token acts as (401 otherwise), within its rate limit (429 otherwise)."""
    actor, token = authenticate(ws.kb, credentials.credentials if credentials else None)
    request.app.state.limiter.take(token.id)
    return actor
