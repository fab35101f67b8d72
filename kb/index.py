"""``VectorIndex``: faiss over the vectors of resolved incidents, keyed by incident id.

The index is derived data: it records the embedding model and the database state (corpus version) it was
built from, so that a stale or foreign index is noticed and rebuilt from the database. It is saved as one file,
written to a temporary name and renamed, so a crash mid-write leaves the previous file whole.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from kb.errors import IndexCorrupt, IndexMismatch

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


class VectorIndex:
    """Exact inner-product search over unit vectors (cosine similarity), one vector per incident id.

    Parameters
    ----------
    dim : int
        Length of the vectors.
    model : str
        Name of the embedding model that made the vectors.
    corpus_version : str
        The database state the vectors reflect (``KnowledgeBase.corpus_version()``).

    Examples
    --------
    >>> index = VectorIndex(2, model="toy")
    >>> index.add([7, 9], np.array([[1, 0], [0, 1]], dtype=np.float32))
    >>> [(i, round(s, 2)) for i, s in index.search(np.array([0.8, 0.6], dtype=np.float32), k=2)]
    [(7, 0.8), (9, 0.6)]
    """

    def __init__(self, dim: int, *, model: str, corpus_version: str = "") -> None:
        self.dim = dim
        self.model = model
        self.corpus_version = corpus_version
        self._faiss = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return self._faiss.ntotal

    def __repr__(self) -> str:
        return f"VectorIndex(n={len(self)}, dim={self.dim}, model={self.model!r})"

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._faiss.id_map).astype(np.int64)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add vectors for these incident ids, replacing any vectors they already had."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids) == 0:
            return
        self.remove(ids)
        self._faiss.add_with_ids(vectors, ids)

    def remove(self, ids: Sequence[int]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and len(self):
            self._faiss.remove_ids(faiss.IDSelectorBatch(ids))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest incident ids to one query vector with their similarity, best first."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dim)
        k = min(k, len(self))
        if k <= 0:
            return []
        scores, ids = self._faiss.search(query, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def check(self, *, model: str, dim: int, corpus_version: str) -> None:
        """Raise IndexMismatch saying what differs, if this index does not fit the model and database."""
        if (self.model, self.dim) != (model, dim):
            raise IndexMismatch(
                f"the index was built with embedding model {self.model} (dimension {self.dim}), "
                f"but the configured model is {model} (dimension {dim})"
            )
        if self.corpus_version != corpus_version:
            raise IndexMismatch(
                f"the index reflects database state {self.corpus_version or 'unknown'}, "
                f"but the database is now at {corpus_version}"
            )

    def save(self, path: str | Path) -> None:
        """Write the index to ``path`` atomically: readers see the old file or the new one, never a torn one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "model": self.model,
            "dim": self.dim,
            "corpus_version": self.corpus_version,
            "count": len(self),
        }
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                    faiss=faiss.serialize_index(self._faiss),
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index saved by ``save``; raises IndexCorrupt naming the file if it cannot be read."""
        path = Path(path)
        try:
            data = path.read_bytes()
            if not data.startswith(b"PK\x03\x04"):  # every index is a zip archive (.npz); numpy's message misleads
                raise IndexCorrupt(f"index file {path} cannot be read (it is not an incident-kb index file)")
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes())
                raw = z["faiss"]
            if meta.get("format") != FORMAT_VERSION:
                raise IndexCorrupt(f"index file {path} has format {meta.get('format')}, expected {FORMAT_VERSION}")
            index = cls(int(meta["dim"]), model=meta["model"], corpus_version=meta["corpus_version"])
            index._faiss = faiss.deserialize_index(raw)
        except (FileNotFoundError, IndexCorrupt):
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
            raise IndexCorrupt(f"index file {path} cannot be read ({type(exc).__name__}: {exc})") from exc
        if index._faiss.d != index.dim or index._faiss.ntotal != meta["count"]:
            raise IndexCorrupt(f"index file {path} does not match its own header")
        return index


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
