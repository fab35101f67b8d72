"""The HTTP API: another front end, beside the app, for systems rather than people. It calls the pipeline (which
checks every role) and reads its records; it never writes beneath it."""

from __future__ import annotations

from api.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]
