"""A SQLite file of vectors keyed by (model, SHA-256 of the text): no text is embedded twice across runs."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_sha256)
) WITHOUT ROWID
"""


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Vectors already computed, shared by every embedder and process on this machine.

    A cache file that cannot be read is set aside (renamed ``*.corrupt``) and a new one started: it only
    holds derived data.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            logger.warning("embedding cache %s is unreadable (%s); moved it to %s", self.path, exc, aside)
            self.path.replace(aside)
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        return db

    def get_many(self, model: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Position in ``texts`` -> vector, for the texts already cached for ``model``."""
        positions: dict[bytes, list[int]] = {}
        for i, text in enumerate(texts):
            positions.setdefault(_key(text), []).append(i)
        keys = list(positions)
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = self._db.execute(
                    f"SELECT text_sha256, vector FROM vectors WHERE model = ? "
                    f"AND text_sha256 IN ({','.join('?' * len(chunk))})",
                    [model, *chunk],
                )
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    for i in positions[key]:
                        found[i] = vector
        return found

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (model, _key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def close(self) -> None:
        self._db.close()
