"""``VectorIndex``: faiss over the vectors of one embedding model, keyed by integer ids; index files.

An index file (``write_arrays`` / ``read_arrays``) is written to a temporary name and renamed, so a crash
mid-write leaves the previous file whole.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from kb.errors import IndexCorrupt

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: the calibration is typed (kb.retrieval.Calibration)
IVF_FROM = 20_000
IVF_PROBES = 32
# A filter that lets through at least this share of the vectors is searched by walking the index unfiltered and
# keeping what passes (``nearest_passing``): testing most of a million ids against the filter cost more than the
# search (faiss, probing every list: 300 ms; pgvector, sending the list: 2.4 s at p99).
WIDE_SHARE = 0.1
# Such a walk first fetches twice what it needs at the filter's share; where the query's neighbourhood is mostly
# what the filter refuses, this many times more, as long as a walk fetches at most WALK_MOST (half of pgvector's
# default hnsw.max_scan_tuples).
WIDER_BY = 16
WALK_MOST = 10_000


class VectorIndex:
    """Exact inner-product search over unit vectors (cosine similarity), one vector per incident id.

    Parameters
    ----------
    dim : int
        Length of the vectors.
    model : str
        Name of the embedding model that made the vectors.

    Examples
    --------
    >>> index = VectorIndex(2, model="toy")
    >>> index.add([7, 9], np.array([[1, 0], [0, 1]], dtype=np.float32))
    >>> [(i, round(s, 2)) for i, s in index.search(np.array([0.8, 0.6], dtype=np.float32), k=2)]
    [(7, 0.8), (9, 0.6)]
    """

    def __init__(self, dim: int, *, model: str) -> None:
        self.dim = dim
        self.model = model
        self._faiss = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(cls, ids: Sequence[int], vectors: np.ndarray, *, model: str) -> VectorIndex:
        """An index of these vectors: exact while small, inverted lists (IVF) from ``IVF_FROM`` vectors on.

        A flat scan of 100,000 vectors takes about 20 ms on two cores; probing ``IVF_PROBES`` of about
        4 sqrt(n) lists takes under 1 ms and finds nearly all of the same neighbours.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = cls(vectors.shape[1], model=model)
        if len(vectors) >= IVF_FROM:
            lists = int(4 * np.sqrt(len(vectors)))
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(index.dim), index.dim, lists, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), lists * 40), replace=False)
            ivf.train(vectors[np.sort(sample)])
            ivf.nprobe = IVF_PROBES
            index._faiss = ivf
        index.add(ids, vectors)
        return index

    def __len__(self) -> int:
        return self._faiss.ntotal

    def __repr__(self) -> str:
        return f"VectorIndex(n={len(self)}, dim={self.dim}, model={self.model!r})"

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

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest ids to one query vector with their similarity, best first; only ``allowed`` ids."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dim)
        k = min(k, len(self))
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        if allowed is None:
            return self._search(query, k)
        allowed = np.asarray(allowed, dtype=np.int64)
        if isinstance(self._faiss, faiss.IndexIVF):
            share = len(allowed) / len(self)
            if share >= WIDE_SHARE:
                passed = nearest_passing(lambda n: self._search(query, n), allowed, k, share, len(self))
                if passed is not None:
                    return passed
            # A filter may keep only a few cases, far from the lists nearest the query: probe every list (the
            # selector is checked before any distance is computed, so this stays cheap for a narrow one).
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allowed), nprobe=self._faiss.nlist)
        else:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        return self._search(query, k, params)

    def _search(self, query: np.ndarray, k: int, params=None) -> list[tuple[int, float]]:
        scores, ids = self._faiss.search(query, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"faiss": faiss.serialize_index(self._faiss)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, dim: int, model: str) -> VectorIndex:
        index = cls(dim, model=model)
        index._faiss = faiss.deserialize_index(arrays["faiss"])
        if index._faiss.d != dim:
            raise ValueError(f"vectors of dimension {index._faiss.d}, expected {dim}")
        return index


def nearest_passing(
    walk: Callable[[int], list[tuple[int, float]]], allowed: np.ndarray, k: int, share: float, size: float
) -> list[tuple[int, float]] | None:
    """The ``k`` nearest hits that are ``allowed`` (a ``share`` of ``size`` vectors), from unfiltered walks
    (``walk(n)``: the n nearest, best first) that go further out while too few pass; None where walks of
    ``WALK_MOST`` find too few (the caller then searches with the filter). A walk that comes back short counts
    as the whole index only if it asked for all of it: dead rows and pgvector's memory cap can end one early."""
    fetch = int(np.ceil(2 * k / share))
    while fetch <= WALK_MOST:
        hits = walk(fetch)
        passed = [hit for hit, ok in zip(hits, np.isin([key for key, _ in hits], allowed), strict=True) if ok]
        if len(passed) >= k or len(hits) < fetch >= size:
            return passed[:k]
        fetch *= WIDER_BY
    return None


def close_pairs(
    ids: Sequence[int], vectors: np.ndarray, threshold: float, *, batch: int = 1024, step=None
) -> list[tuple[int, int, float]]:
    """Every pair of rows at least ``threshold`` similar (inner product), as (id, id, similarity), each pair once.

    ``step``, if given, hears of each row done (a progress callback).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    pairs = []
    for start in range(0, len(vectors), batch):
        limits, scores, rows = index.range_search(vectors[start : start + batch], threshold)
        for q in range(len(limits) - 1):
            for j, score in zip(rows[limits[q] : limits[q + 1]], scores[limits[q] : limits[q + 1]], strict=True):
                if j > start + q:
                    pairs.append((int(ids[start + q]), int(ids[j]), float(score)))
        if step is not None:
            step(len(limits) - 1)
    return pairs


def temporary_name(path: Path) -> Path:
    """Where a file is written before it replaces ``path``: beside it, named for the writing process, so that
    ``remove_stale_temporaries`` can tell one a dead process left from one still being written."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the half-written files that processes killed mid-write left in ``folder``; returns them."""
    removed = []
    for tmp in folder.glob("*.tmp-*"):
        pid = tmp.name.rsplit(".tmp-", 1)[1]
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with this id runs (a file's or a job's writer, say)."""
    if pid <= 0:  # 0 and -1 mean process groups to os.kill, never one process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def write_arrays(path: str | Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON, with the format version) and named arrays to ``path`` atomically: readers see the old
    file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "format": FORMAT_VERSION}
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def read_arrays(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """What ``write_arrays`` wrote; raises IndexCorrupt naming the file if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if not data.startswith(b"PK\x03\x04"):  # every index is a zip archive (.npz); numpy's message misleads
            raise IndexCorrupt("index_not_ours", path=str(path))
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except (FileNotFoundError, IndexCorrupt):
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise IndexCorrupt("index_unreadable", path=str(path), error=f"{type(exc).__name__}: {exc}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise IndexCorrupt("index_format", path=str(path), found=meta.get("format"), expected=FORMAT_VERSION)
    return meta, arrays


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
