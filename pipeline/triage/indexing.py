"""Keeping the similar-case index in step with the knowledge base: encode, build, load-or-rebuild, add."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb import IncidentRecord, IndexCorrupt, IndexMismatch, KnowledgeBase
from kb.retrieval import ENGLISH, MEANING, Calibration, Query, SearchIndex
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import detect_language, incident_text, passages
from pipeline.triage.embed import Embedder
from words import Phrase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoders:
    """The embedding models behind search: the multilingual one, and the English one when configured."""

    meaning: Embedder
    english: Embedder | None = None
    batch_size: int = 64

    @property
    def models(self) -> dict[str, str]:
        return {view: e.name for view, e in self._views.items()}

    @property
    def dims(self) -> dict[str, int]:
        return {view: e.dim for view, e in self._views.items()}

    @property
    def _views(self) -> dict[str, Embedder]:
        return {MEANING: self.meaning} | ({ENGLISH: self.english} if self.english is not None else {})

    def query(self, text: str) -> Query:
        """A report as the index searches it (the English model only reads English reports)."""
        language = detect_language(text)
        english = self.english.encode(text) if self.english is not None and language == "en" else None
        return Query(text, language, self.meaning.encode(text), english)

    def documents(
        self, texts: Sequence[str], *, progress: ProgressFactory = no_progress
    ) -> tuple[list[str], np.ndarray, list[np.ndarray | None]]:
        """Each text's language, multilingual vector, and English passage vectors (None if not English)."""
        languages = [detect_language(t) for t in texts]
        with progress(Phrase("progress_embedding", model=self.meaning.name), len(texts)) as step:
            meaning = self.meaning.encode(texts, batch_size=self.batch_size, progress=step)
        found: list[np.ndarray | None] = [None] * len(texts)
        english = [i for i, language in enumerate(languages) if language == "en"]
        if self.english is not None and english:
            pieces = [passages(texts[i]) for i in english]
            flat = [p for parts in pieces for p in parts]
            with progress(Phrase("progress_embedding_passages", model=self.english.name), len(flat)) as step:
                vectors = self.english.encode(flat, batch_size=self.batch_size, progress=step)
            bounds = np.cumsum([0] + [len(parts) for parts in pieces])
            for n, i in enumerate(english):
                found[i] = vectors[bounds[n] : bounds[n + 1]]
        return languages, meaning, found

    def index(
        self,
        ids: Sequence[int],
        texts: Sequence[str],
        *,
        corpus_version: str = "",
        calibration: Calibration | None = None,
        progress: ProgressFactory = no_progress,
    ) -> SearchIndex:
        """A new search index of these texts (``calibration``: see ``SearchIndex.build``)."""
        languages, meaning, found = self.documents(texts, progress=progress)
        return SearchIndex.build(
            ids,
            texts,
            languages,
            meaning,
            found,
            models=self.models,
            dims=self.dims,
            corpus_version=corpus_version,
            calibration=calibration,
        )


def build_index(
    kb: KnowledgeBase, encoders: Encoders, *, max_chars: int, progress: ProgressFactory = no_progress
) -> SearchIndex:
    """A new index of every resolved incident, embedded (or taken from the cache) from the database."""
    # Read the version first: a write during the build then leaves the index marked stale, never wrongly fresh.
    version = kb.corpus_version()
    rows = [row for batch in kb.resolved_texts() for row in batch]
    texts = [incident_text(title, body, max_chars) for _, title, body in rows]
    return encoders.index([i for i, _, _ in rows], texts, corpus_version=version, progress=progress)


def index_of(
    encoders: Encoders, incidents: Sequence[IncidentRecord], *, max_chars: int, calibration: Calibration | None = None
) -> SearchIndex:
    """A new index of these incidents (the open cases, say), on ``calibration``'s scales if given."""
    texts = [incident_text(i.title, i.body, max_chars) for i in incidents]
    return encoders.index([i.id for i in incidents], texts, calibration=calibration)


def open_index(
    kb: KnowledgeBase,
    encoders: Encoders,
    path: Path,
    *,
    max_chars: int,
    progress: ProgressFactory = no_progress,
) -> tuple[SearchIndex, Phrase | None]:
    """The saved index if it fits the models and the database; otherwise a rebuilt one and a notice saying why."""
    try:
        index = SearchIndex.load(path)
        index.check(models=encoders.models, corpus_version=kb.corpus_version())
        return index, None
    except FileNotFoundError:
        reason = Phrase("index_missing", path=str(path))
    except (IndexCorrupt, IndexMismatch) as exc:
        reason = exc.phrase
    index = build_index(kb, encoders, max_chars=max_chars, progress=progress)
    index.save(path)
    notice = Phrase("index_rebuilt", count=len(index), reason=reason)
    logger.warning("%s", notice)
    return index, notice


def add_to_index(
    kb: KnowledgeBase, index: SearchIndex, encoders: Encoders, incident_ids: Sequence[int], *, max_chars: int
) -> None:
    """Add (or refresh) these incidents in the index and mark it as reflecting the database as it is now."""
    records = kb.incidents(incident_ids)
    texts = [incident_text(r.title, r.body, max_chars) for r in records]
    index.add([r.id for r in records], texts, *encoders.documents(texts))
    index.corpus_version = kb.corpus_version()
