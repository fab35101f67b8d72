"""``PgVectorIndex``: one view's vectors in PostgreSQL, searched by pgvector's HNSW index on cosine distance.

On PostgreSQL the similar-case vectors live in the database itself (table ``search_vectors``, revision 0010),
not in a file per process: every app process searches the same rows, and a resolution writes its vectors in its
own transaction, so a case resolved in one process is found by the next search in any other. It keeps
``kb.index.VectorIndex``'s contract (ids, unit vectors, similarity = cosine, best first, an ``allowed`` filter),
so ``kb.retrieval.SearchIndex`` fuses its views the same way on either backend.

Rows are never deleted by ``remove`` but marked ``removed`` with a new ``seq``: another process that last saw
``seq`` n asks for the rows past n (``changes``) and learns what was added and what was taken out alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from kb.errors import PgVectorMissing, connection_lost_named
from kb.index import WIDE_SHARE, nearest_passing

TABLE = "search_vectors"
TABLES = (TABLE, "search_pending")
# How many candidates HNSW keeps while it walks the graph: at least the number asked for (pgvector caps it at 1000).
# bench/scale.py, a million vectors: recall@10 0.84 at 100, 0.94 at 400, for a few milliseconds more.
EF_SEARCH_MIN = 400
# A filter that lets through less than WIDE_SHARE of a view's vectors is searched exactly (each allowed vector,
# found by key): an index walk would pass over ever more vectors the filter refuses before it found enough (on
# a million, a filter of 5 % took seconds at p99 and still missed some), while an exact search of a few
# thousand takes milliseconds. Wider filters walk the HNSW graph unfiltered and keep what passes
# (``kb.index.nearest_passing``); only where that finds too few is the list of allowed ids sent with the walk
# (on a million, that list alone took seconds: 2.4 s at p99 for a filter of 95 %).


class PgVectorIndex:
    """The vectors of one view (``meaning``, ``english``) of the search index, in ``search_vectors``."""

    def __init__(self, engine: Engine, view: str, dim: int, *, model: str) -> None:
        self.engine = engine
        self.view = view
        self.dim = dim
        self.model = model
        self._cast = f"embedding::vector({dim})"  # what the view's HNSW index is on
        self._where = engine.url.render_as_string(hide_password=True)  # as a lost connection's message names it

    @classmethod
    def build(cls, engine: Engine, view: str, ids: Sequence[int], vectors: np.ndarray, *, model: str) -> PgVectorIndex:
        """Replace every vector of this view with these, in one transaction (other processes see the old rows or
        the new, never a mix), and make sure the view's HNSW index exists."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = cls(engine, view, vectors.shape[1], model=model)
        with index._connection() as connection:
            connection.execute(text(f"DELETE FROM {TABLE} WHERE view = :view"), {"view": view})
            index._copy(connection, np.asarray(ids, dtype=np.int64), vectors)
            # An expression index per view and length: views of different models share the table.
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {TABLE}_{view}_{index.dim} ON {TABLE} "
                    f"USING hnsw ((embedding::vector({index.dim})) vector_cosine_ops) "
                    f"WHERE view = '{view}' AND NOT removed"
                )
            )
        return index

    def __len__(self) -> int:
        with self._connection() as connection:
            query = text(f"SELECT count(*) FROM {TABLE} WHERE view = :view AND NOT removed")
            return connection.execute(query, {"view": self.view}).scalar_one()

    def __repr__(self) -> str:
        return f"PgVectorIndex(view={self.view!r}, dim={self.dim}, model={self.model!r})"

    def add(self, ids: Sequence[int], vectors: np.ndarray, *, connection: Connection | None = None) -> None:
        """Store vectors for these ids, replacing any they had; in ``connection``'s transaction when given."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        with self._connection(connection) as c:
            rows = [
                {"view": self.view, "key": int(i), "model": self.model, "embedding": v}
                for i, v in zip(ids, vectors, strict=True)
            ]
            if rows:
                c.execute(
                    text(
                        f"INSERT INTO {TABLE} (view, key, model, embedding) "
                        "VALUES (:view, :key, :model, :embedding) ON CONFLICT (view, key) DO UPDATE SET "
                        "model = excluded.model, embedding = excluded.embedding, removed = false, "
                        f"seq = nextval('{TABLE}_seq')"
                    ),
                    rows,
                )

    def remove(self, ids: Sequence[int], *, connection: Connection | None = None) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        with self._connection(connection) as c:
            c.execute(
                text(
                    f"UPDATE {TABLE} SET removed = true, seq = nextval('{TABLE}_seq') "
                    "WHERE view = :view AND key = ANY(:keys) AND NOT removed"
                ),
                {"view": self.view, "keys": ids.tolist()},
            )

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest ids to one query vector with their similarity, best first; only ``allowed`` ids.

        A filter is a condition of the same query, and pgvector's iterative scan walks on through the graph until
        ``k`` rows pass it, so a narrow filter does not starve the result.
        """
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        cast = self._cast
        where = "view = :view AND NOT removed"
        params: dict[str, Any] = {"view": self.view, "query": np.asarray(vector, dtype=np.float32), "k": k}
        with self._connection() as c:
            if allowed is None:
                return self._walk(c, where, params)
            allowed = np.asarray(allowed, dtype=np.int64)
            size = self._size(c)
            share = len(allowed) / size
            if share < WIDE_SHARE:  # found by key, every one measured
                query = (
                    f"WITH allowed AS MATERIALIZED (SELECT key, embedding FROM {TABLE} WHERE {where} "
                    f"AND key = ANY(:keys)) SELECT key, 1 - ({cast} <=> :query) AS similarity FROM allowed "
                    f"ORDER BY {cast} <=> :query LIMIT :k"
                )
                return [(int(key), float(s)) for key, s in c.execute(text(query), params | {"keys": allowed.tolist()})]
            passed = nearest_passing(lambda n: self._walk(c, where, params | {"k": n}), allowed, k, share, size)
            if passed is not None:
                return passed
            # Too few nearby: the walk goes on, testing each vector against the list, until enough pass.
            return self._walk(c, f"{where} AND key + 0 = ANY(:keys)", params | {"keys": allowed.tolist()})

    def _walk(self, connection: Connection, where: str, params: dict[str, Any]) -> list[tuple[int, float]]:
        """The nearest vectors that meet ``where``, by walking the HNSW graph, best first."""
        cast = self._cast
        # Both settings in one round trip, for this transaction only (SET LOCAL).
        connection.execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true), set_config('hnsw.iterative_scan', :scan, true)"),
            {"ef": str(min(1000, max(EF_SEARCH_MIN, params["k"]))), "scan": "relaxed_order"},
        )
        rows = connection.execute(
            text(
                f"SELECT key, 1 - ({cast} <=> :query) AS similarity FROM {TABLE} WHERE {where} "
                f"ORDER BY {cast} <=> :query LIMIT :k"
            ),
            params,
        ).all()
        # Relaxed order: nearly sorted by the index; sorted exactly here.
        return sorted(((int(key), float(s)) for key, s in rows), key=lambda hit: -hit[1])

    def _size(self, connection: Connection) -> float:
        """About how many vectors this view holds: its HNSW index's count as PostgreSQL last took it (a catalog
        read; counting the rows would scan them)."""
        query = text("SELECT reltuples FROM pg_class WHERE relname = :name")
        size = connection.execute(query, {"name": f"{TABLE}_{self.view}_{self.dim}"}).scalar()
        return float(size) if size and size > 0 else float("inf")  # never counted yet: no basis for a choice

    def models(self) -> set[str]:
        """The embedding models the stored vectors of this view were made with (one, unless the index is mixed)."""
        with self._connection() as c:
            query = text(f"SELECT DISTINCT model FROM {TABLE} WHERE view = :view AND NOT removed")
            return set(c.execute(query, {"view": self.view}).scalars())

    def changes(self, since: int) -> tuple[list[int], list[int], int]:
        """What changed after ``seq`` ``since``: (ids stored or replaced, ids removed, the newest ``seq``)."""
        with self._connection() as c:
            rows = c.execute(
                text(f"SELECT key, removed, seq FROM {TABLE} WHERE view = :view AND seq > :since ORDER BY seq"),
                {"view": self.view, "since": since},
            ).all()
        stored = [int(r.key) for r in rows if not r.removed]
        removed = [int(r.key) for r in rows if r.removed]
        return stored, removed, max((r.seq for r in rows), default=since)

    def newest(self) -> int:
        """The ``seq`` of the latest change to any view: where a reader that is up to date stands."""
        with self._connection() as c:
            return c.execute(text(f"SELECT coalesce(max(seq), 0) FROM {TABLE}")).scalar_one()

    @contextmanager
    def _connection(self, connection: Connection | None = None):
        """The caller's connection (its transaction), or a transaction of our own; pgvector's types registered."""
        if connection is not None:
            _register(connection)
            yield connection
            return
        with connection_lost_named(self._where), self.engine.begin() as own:
            _register(own)
            yield own

    def _copy(self, connection: Connection, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Bulk load with COPY in binary: a million vectors in minutes, where INSERTs would take hours."""
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {TABLE} (view, key, model, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["varchar", "int8", "varchar", "vector"])
            for key, vector in zip(ids.tolist(), vectors, strict=True):
                copy.write_row((self.view, key, self.model, vector))


def _register(connection: Connection) -> None:
    """Teach this database connection pgvector's types (once per connection), so numpy vectors bind as ``vector``."""
    pooled = connection.connection  # its ``info`` lives as long as the database connection does
    if not pooled.info.get("pgvector"):
        register_vector(pooled.driver_connection)
        pooled.info["pgvector"] = True


def ensure_extension(engine: Engine) -> None:
    """Create the ``vector`` extension if the database lacks it; PgVectorMissing, saying how to add it, if that
    is not possible (not installed on the server, or the app's role may not create extensions)."""
    with engine.connect() as c:
        if c.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first():
            return
        available = c.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    if not available:
        raise PgVectorMissing("pgvector_not_on_server", database=engine.url.database or "?")
    try:
        with engine.begin() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as exc:
        raise PgVectorMissing("pgvector_not_created", database=engine.url.database or "?", error=str(exc.orig)) from exc


def mark_pending(connection: Connection, incident_ids: Sequence[int]) -> None:
    """Note, in the writing transaction, that these incidents' vectors are to be (re)written or taken out."""
    connection.execute(
        text(
            "INSERT INTO search_pending (incident_id, generation) VALUES (:id, nextval('search_vectors_seq')) "
            "ON CONFLICT (incident_id) DO UPDATE SET generation = excluded.generation"
        ),
        [{"id": i} for i in incident_ids],
    )


def pending(engine: Engine, limit: int = 5000) -> list[tuple[int, int]]:
    """(incident id, generation) of cases whose vectors are still to be written, oldest first."""
    with engine.connect() as c:
        query = text("SELECT incident_id, generation FROM search_pending ORDER BY generation LIMIT :limit")
        return [(int(i), int(g)) for i, g in c.execute(query, {"limit": limit})]


def settle(connection: Connection, incident_ids: Sequence[int], generations: Sequence[int] | None = None) -> None:
    """Take these cases off the pending list, in the transaction that wrote their vectors; with ``generations``,
    only if nothing changed them again since they were read (a later change stays pending)."""
    if generations is None:
        ids = {"ids": list(incident_ids)}
        connection.execute(text("DELETE FROM search_pending WHERE incident_id = ANY(:ids)"), ids)
        return
    connection.execute(
        text("DELETE FROM search_pending WHERE incident_id = :id AND generation = :generation"),
        [{"id": i, "generation": g} for i, g in zip(incident_ids, generations, strict=True)],
    )


def generation(engine: Engine) -> int:
    """The latest number handed out to a change of the shared index or its pending list."""
    with engine.connect() as c:
        return c.execute(text("SELECT last_value FROM search_vectors_seq")).scalar_one()


def settle_until(connection: Connection, until: int) -> None:
    """Take off the pending list every case marked at or before ``until``: a full build read them afterwards."""
    connection.execute(text("DELETE FROM search_pending WHERE generation <= :until"), {"until": until})
