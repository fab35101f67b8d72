"""``SearchIndex``: similar-case search that combines three views of each incident, keyed by incident id.

- **meaning**: the multilingual model's vector of the whole text, the only view that links Japanese and English;
- **english**: the English model's vectors of the text's passages, so that the point of a long report is not
  lost to the model's truncation (an incident scores by its best passage); English texts only;
- **lexical**: character n-grams (``kb.lexical``), for error codes, product names and exact phrases.

How the views are combined was chosen by measurement (README, "How similar-case search works"). Between two
texts in the same language, each view's score is put on the multilingual model's scale (by the mean and spread
of that view over random pairs of the same language in this knowledge base) and the views are averaged with the
weights for that language. Between two languages only the meaning view can judge; its scores for such pairs run
lower than for same-language pairs of the same closeness, so they are lifted by that measured gap. The fused
similarity therefore stays on one scale, readable as a cosine similarity and comparable across reports.

The index is derived data: it records the models and the database state (corpus version) it was built from,
so a stale or foreign index is noticed and rebuilt from the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine

from kb.errors import IndexCorrupt, IndexMismatch
from kb.index import VectorIndex, read_arrays, write_arrays
from kb.lexical import LexicalIndex
from kb.pgvector import PgVectorIndex

MEANING, ENGLISH, LEXICAL = "meaning", "english", "lexical"
# The English view keeps at most this many passage vectors per incident (ids are incident id * PASSAGES + n).
PASSAGES = 8
# Random pairs per language used to put the views on one scale.
CALIBRATION_PAIRS = 2000


@dataclass(frozen=True)
class Query:
    """A report as the index searches it: its text, language and one vector per embedding view."""

    text: str
    language: str
    meaning: np.ndarray
    english: np.ndarray | None = None  # only for English reports, when an English model is configured


@dataclass(frozen=True)
class Hit:
    id: int
    similarity: float


@dataclass(frozen=True)
class Scale:
    """Where a view's scores lie between random pairs of texts of one language: their mean and spread."""

    mean: float
    spread: float


@dataclass(frozen=True)
class Calibration:
    """What puts the views on one scale: per language, each view's ``Scale`` over random pairs of that language;
    and ``gap``, how much higher the meaning view scores pairs within a language than across two."""

    scales: Mapping[str, Mapping[str, Scale]] = field(default_factory=dict)  # language -> view -> scale
    gap: float = 0.0

    def to_json(self) -> dict:
        return {
            "gap": self.gap,
            "scales": {
                language: {view: [s.mean, s.spread] for view, s in views.items()}
                for language, views in self.scales.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Calibration:
        scales = {
            language: {view: Scale(*pair) for view, pair in views.items()} for language, views in data["scales"].items()
        }
        return cls(scales, float(data["gap"]))


@dataclass(frozen=True)
class Weights:
    """How much each view counts between two texts of the same language; ``english`` for English pairs."""

    english: Mapping[str, float]
    other: Mapping[str, float]

    def for_language(self, language: str) -> Mapping[str, float]:
        return self.english if language == "en" else self.other


class SearchIndex:
    """The three views of every indexed incident, their calibration, and the fused search over them.

    Build it with ``SearchIndex.build``; ``add`` and ``remove`` keep it current afterwards.
    """

    def __init__(
        self,
        *,
        models: Mapping[str, str],
        dims: Mapping[str, int],
        corpus_version: str = "",
        engine: Engine | None = None,
    ) -> None:
        self.models = dict(models)  # view -> embedding model name; no ENGLISH entry when there is no English model
        self.corpus_version = corpus_version
        # PostgreSQL: the vector views live in its search_vectors table, shared by every process (kb.pgvector);
        # otherwise in faiss, in this process's memory (and a file).
        self.engine = engine
        self.views: dict[str, VectorIndex | PgVectorIndex] = {
            view: self._view(view, dims[view], name) for view, name in self.models.items()
        }
        self.lexical = LexicalIndex()
        self.languages: dict[int, str] = {}
        self.calibration_ = Calibration()
        self.seq = 0  # shared views: the last change to them this process has taken in (PgVectorIndex.changes)
        self.source = ""  # shared views: which build of the stored vectors this process's memory was made from

    @property
    def shared(self) -> bool:
        """Whether the vectors live in the database, for every process, rather than in this one."""
        return self.engine is not None

    def _view(self, view: str, dim: int, model: str) -> VectorIndex | PgVectorIndex:
        if self.engine is None:
            return VectorIndex(dim, model=model)
        return PgVectorIndex(self.engine, view, dim, model=model)

    def __len__(self) -> int:
        return len(self.languages)

    def ids(self) -> list[int]:
        return sorted(self.languages)

    def __repr__(self) -> str:
        return f"SearchIndex(n={len(self)}, models={self.models})"

    @property
    def english(self) -> bool:
        return ENGLISH in self.models

    @classmethod
    def build(
        cls,
        ids: Sequence[int],
        texts: Sequence[str],
        languages: Sequence[str],
        meaning: np.ndarray,
        passages: Sequence[np.ndarray | None],
        *,
        models: Mapping[str, str],
        dims: Mapping[str, int],
        corpus_version: str = "",
        calibration: Calibration | None = None,
        engine: Engine | None = None,
    ) -> SearchIndex:
        """An index of these incidents; ``passages`` holds the English model's passage vectors (or None).

        ``calibration`` reuses another index's (``calibration_``): measured here otherwise. With ``engine`` (a
        PostgreSQL database) the vectors replace those stored there.
        """
        ids = np.asarray(ids, dtype=np.int64)
        rows = {MEANING: (ids, meaning.reshape(-1, dims[MEANING]))}
        if ENGLISH in models:
            rows[ENGLISH] = _passage_rows(ids, passages, dims[ENGLISH])
        views = {
            view: VectorIndex.build(*rows[view], model=models[view])
            if engine is None
            else PgVectorIndex.build(engine, view, *rows[view], model=models[view])
            for view in models
        }
        index = cls.attach(ids, texts, languages, models=models, dims=dims, calibration=calibration, engine=engine)
        index.views |= views
        index.calibration_ = calibration or _calibrate(ids, languages, meaning, passages, index.lexical)
        index.corpus_version = corpus_version
        return index

    @classmethod
    def attach(
        cls,
        ids: Sequence[int],
        texts: Sequence[str],
        languages: Sequence[str],
        *,
        models: Mapping[str, str],
        dims: Mapping[str, int],
        calibration: Calibration | None,
        engine: Engine | None = None,
    ) -> SearchIndex:
        """The in-memory parts (the lexical view, languages) of these incidents, over the vectors stored in
        ``engine`` (PostgreSQL) by another process's ``build``: a process starts without embedding anything."""
        index = cls(models=models, dims=dims, engine=engine)
        if engine is not None:
            index.seq = index.views[MEANING].newest()  # read before the texts: a change meanwhile is seen later
        index.lexical.fit(np.asarray(ids, dtype=np.int64), texts)
        index.languages = dict(zip(np.asarray(ids).tolist(), languages, strict=True))
        index.calibration_ = calibration or Calibration()
        return index

    def add(
        self,
        ids: Sequence[int],
        texts: Sequence[str],
        languages: Sequence[str],
        meaning: np.ndarray,
        passages: Sequence[np.ndarray | None],
    ) -> None:
        """Add incidents or replace what they had (the calibration stays as built)."""
        self.store(ids, meaning, passages)
        self.remember(ids, texts, languages)

    def remove(self, ids: Sequence[int]) -> None:
        self.unstore(ids)
        self.forget(ids)

    def store(
        self,
        ids: Sequence[int],
        meaning: np.ndarray,
        passages: Sequence[np.ndarray | None],
        *,
        connection: Connection | None = None,
    ) -> None:
        """Store these incidents' vectors, replacing what they had. Shared vectors are written in ``connection``'s
        transaction when given (the one that resolves the case); ``remember`` them once it has committed."""
        ids = np.asarray(ids, dtype=np.int64)
        self.unstore(ids, connection=connection)
        rows = {MEANING: (ids, meaning)}
        if self.english:
            rows[ENGLISH] = _passage_rows(ids, passages, self.views[ENGLISH].dim)
        for view, (keys, vectors) in rows.items():
            index = self.views[view]
            index.add(keys, vectors, connection=connection) if self.shared else index.add(keys, vectors)

    def unstore(self, ids: Sequence[int], *, connection: Connection | None = None) -> None:
        """Remove these incidents' vectors (in ``connection``'s transaction, for shared ones)."""
        ids = np.asarray(ids, dtype=np.int64)
        keys = {MEANING: ids} | ({ENGLISH: _passage_keys(ids)} if self.english else {})
        for view, index in self.views.items():
            index.remove(keys[view], connection=connection) if self.shared else index.remove(keys[view])

    def remember(self, ids: Sequence[int], texts: Sequence[str], languages: Sequence[str]) -> None:
        """Take these incidents into the parts held in memory (their vectors are already stored)."""
        ids = np.asarray(ids, dtype=np.int64)
        self.forget(ids)
        self.lexical.add(ids, texts)
        self.languages.update(zip(ids.tolist(), languages, strict=True))

    def forget(self, ids: Sequence[int]) -> None:
        """Drop these incidents from the parts held in memory (and so from every result)."""
        self.lexical.remove(np.asarray(ids, dtype=np.int64))
        for i in np.asarray(ids).tolist():
            self.languages.pop(i, None)

    def search(
        self, query: Query, k: int, weights: Weights, *, allowed: Sequence[int] | None = None, depth: int = 100
    ) -> list[Hit]:
        """The ``k`` incidents most similar to ``query``, best first; only ``allowed`` ids when given.

        Each view proposes its ``depth`` best; a view that did not propose a candidate scores it at the lowest
        score it proposed (it was at most that close).
        """
        depth = max(depth, 4 * k)
        allow = None if allowed is None else np.asarray(allowed, dtype=np.int64)
        found: dict[str, dict[int, float]] = {
            MEANING: dict(self.views[MEANING].search(query.meaning, depth, allow)),
            LEXICAL: dict(self.lexical.search(query.text, depth, allow)),
        }
        if self.english and query.english is not None:
            best: dict[int, float] = {}
            keys = None if allow is None else _passage_keys(allow)
            for key, score in self.views[ENGLISH].search(query.english, depth * 2, keys):
                best.setdefault(key // PASSAGES, score)  # best passage first
            found[ENGLISH] = best
        floor = {view: min(scores.values(), default=0.0) for view, scores in found.items()}
        same_weights = weights.for_language(query.language)
        scales = self.calibration_.scales.get(query.language, {})
        hits = []
        for incident in set().union(*found.values()):
            language = self.languages.get(incident)
            if language is None:
                continue
            views = {view: scores.get(incident, floor[view]) for view, scores in found.items()}
            if language != query.language:
                similarity = views[MEANING] + self.calibration_.gap
            else:
                similarity = _fuse(views, same_weights, scales)
            hits.append(Hit(incident, float(similarity)))
        hits.sort(key=lambda h: (-h.similarity, h.id))
        return hits[:k]

    def check(self, *, models: Mapping[str, str], corpus_version: str) -> None:
        """Raise IndexMismatch saying what differs, if this index does not fit the models and database."""
        if self.models != dict(models):
            raise IndexMismatch("index_other_models", built=_describe(self.models), configured=_describe(models))
        if self.corpus_version != corpus_version:
            raise IndexMismatch("index_stale", built=self.corpus_version or "?", now=corpus_version)

    def save(self, path: str | Path) -> None:
        """Write the index to one file, atomically (a crash mid-write leaves the previous file whole)."""
        meta = {
            "models": self.models,
            "dims": {view: index.dim for view, index in self.views.items()},
            "corpus_version": self.corpus_version,
            "calibration": self.calibration_.to_json(),
            "count": len(self),
        }
        arrays = {f"{view}.{name}": a for view, index in self.views.items() for name, a in index.to_arrays().items()}
        arrays |= {f"lexical.{name}": a for name, a in self.lexical.to_arrays().items()}
        arrays["languages.ids"] = np.fromiter(self.languages, dtype=np.int64, count=len(self.languages))
        arrays["languages.codes"] = np.array(list(self.languages.values()), dtype="<U8")
        write_arrays(path, meta, arrays)

    @classmethod
    def load(cls, path: str | Path) -> SearchIndex:
        """Read an index written by ``save``; raises IndexCorrupt naming the file if it cannot be read."""
        meta, arrays = read_arrays(path)
        try:
            index = cls(models=meta["models"], dims=meta["dims"], corpus_version=meta["corpus_version"])
            for view, name in index.models.items():
                part = {key.split(".", 1)[1]: a for key, a in arrays.items() if key.startswith(f"{view}.")}
                index.views[view] = VectorIndex.from_arrays(part, dim=meta["dims"][view], model=name)
            index.lexical = LexicalIndex.from_arrays(
                {key.split(".", 1)[1]: a for key, a in arrays.items() if key.startswith("lexical.")}
            )
            codes = arrays["languages.codes"].tolist()
            index.languages = dict(zip(arrays["languages.ids"].tolist(), codes, strict=True))
            index.calibration_ = Calibration.from_json(meta["calibration"])
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise IndexCorrupt("index_unreadable", path=str(path), error=f"{type(exc).__name__}: {exc}") from exc
        if len(index) != meta["count"] or len(index.views[MEANING]) != meta["count"]:
            raise IndexCorrupt("index_header", path=str(path))
        return index


def _describe(models: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({view})" for view, name in models.items())


def _passage_keys(ids: np.ndarray) -> np.ndarray:
    return (ids[:, None] * PASSAGES + np.arange(PASSAGES)).ravel()


def _passage_rows(ids: np.ndarray, passages: Sequence[np.ndarray | None], dim: int) -> tuple[np.ndarray, np.ndarray]:
    keys, rows = [], []
    for incident, vectors in zip(ids.tolist(), passages, strict=True):
        if vectors is not None:
            vectors = vectors[:PASSAGES]
            keys.append(incident * PASSAGES + np.arange(len(vectors)))
            rows.append(vectors)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return np.concatenate(keys), np.vstack(rows).astype(np.float32)


def _fuse(views: Mapping[str, float], weights: Mapping[str, float], scales: Mapping[str, Scale]) -> float:
    """Weighted mean of the views on the meaning view's scale (without a scale, a view counts as is)."""
    meaning = scales.get(MEANING, Scale(0.0, 1.0))
    total = weighted = 0.0
    for view, score in views.items():
        weight = weights.get(view, 0.0)
        if weight <= 0:
            continue
        if view != MEANING and view in scales:  # too few texts to calibrate on: the raw cosine it is
            score = meaning.mean + meaning.spread * (score - scales[view].mean) / scales[view].spread
        total += weight
        weighted += weight * score
    return weighted / total if total else views[MEANING]


def _calibrate(
    ids: np.ndarray,
    languages: Sequence[str],
    meaning: np.ndarray,
    passages: Sequence[np.ndarray | None],
    lexical: LexicalIndex,
) -> Calibration:
    """Mean and spread of each view over random pairs of texts in the same language; the cross-language gap."""
    rng = np.random.default_rng(0)
    codes = np.asarray(languages)
    scales: dict[str, dict[str, Scale]] = {}
    gap = 0.0
    same_means = []
    for language in sorted(set(languages)):
        members = np.flatnonzero(codes == language)
        if len(members) < 3:
            continue
        a = rng.choice(members, CALIBRATION_PAIRS)
        b = rng.choice(members, CALIBRATION_PAIRS)
        keep = a != b
        a, b = a[keep], b[keep]
        scores = {MEANING: np.einsum("ij,ij->i", meaning[a], meaning[b])}
        scores[LEXICAL] = lexical.pair_scores(ids[a], ids[b])
        if language == "en" and all(passages[i] is not None for i in members):
            scores[ENGLISH] = np.array([float((passages[j] @ passages[i][0]).max()) for i, j in zip(a, b, strict=True)])
        scales[language] = {view: Scale(float(s.mean()), float(s.std()) or 1.0) for view, s in scores.items() if len(s)}
        same_means.append(scores[MEANING].mean())
    distinct = sorted(set(languages))
    if len(distinct) > 1 and same_means:
        a = rng.integers(0, len(ids), CALIBRATION_PAIRS)
        b = rng.integers(0, len(ids), CALIBRATION_PAIRS)
        cross = codes[a] != codes[b]
        if cross.sum() >= 10:
            cross_mean = np.einsum("ij,ij->i", meaning[a[cross]], meaning[b[cross]]).mean()
            gap = float(np.mean(same_means) - cross_mean)
    return Calibration(scales, gap)
