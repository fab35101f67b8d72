"""The HTTP API's application: everything under ``/api/v1``, its OpenAPI description at ``/api/v1/openapi.json``
(read at ``/api/v1/docs``), every error as problem details, bodies capped, requests limited per token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import problems, ratings, routes
from api.guards import BodyLimit, RateLimiter
from pipeline.settings import Settings
from pipeline.workspace import Workspace

PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, workspace: Workspace | None = None) -> FastAPI:
    """The API on ``workspace`` (one opened from ``settings`` if None, and closed with the app), its limits from
    ``settings`` (the workspace's if None)."""
    ws = workspace or Workspace(settings)
    limits = (settings or ws.settings).api

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if workspace is None:
            ws.close()

    app = FastAPI(
        title="incident-kb",
        version="1",
        summary="File and find incidents, hear the assistant's suggestions, and (leads) set its thresholds.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.workspace = ws
    app.state.limiter = RateLimiter(limits.requests_per_minute)
    app.include_router(routes.router, prefix=PREFIX, responses=problems.RESPONSES)
    app.include_router(ratings.router, prefix=PREFIX, responses=problems.RESPONSES)
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    return app
