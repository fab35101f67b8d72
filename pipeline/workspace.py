"""``Workspace``: the knowledge base, the embedding model and the index, opened from settings and kept in step.

The CLI opens one per command and the app one per server process. The index follows the database: before each
search it is checked against the database's corpus version (one small query) and rebuilt if another process
changed the knowledge meanwhile; a resolution made through the workspace is added to it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from typing import Any

import numpy as np

from kb import IncidentRecord, KnowledgeBase, ModelVersionRecord
from kb.index import VectorIndex
from pipeline.cases import CaseFile, case_file
from pipeline.embed import Embedder, load_embedder
from pipeline.embed_cache import EmbeddingCache
from pipeline.indexing import add_to_index, build_index, open_index
from pipeline.progress import ProgressFactory, no_progress
from pipeline.search import SimilarCase, similar_cases
from pipeline.settings import Settings
from pipeline.suggest import Triage, triage
from pipeline.text import clean_report
from pipeline.training import SuggestionModels, load_active, load_version, save_version, train_models

logger = logging.getLogger(__name__)


class Workspace:
    """Everything a command or a page needs, built lazily: opening it loads no model."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.kb = KnowledgeBase(self.settings.resolved_database_url)
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._models: SuggestionModels | None = None
        self._lock = threading.RLock()
        self.notices: list[str] = []

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._embedder is not None and self._embedder.cache is not None:
            self._embedder.cache.close()
        self.kb.close()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                s = self.settings
                cache = EmbeddingCache(s.embedding_cache_path)
                self._embedder = load_embedder(s.embedding_model, threads=s.threads, cache=cache)
            return self._embedder

    def _notice(self, message: str | None) -> None:
        if message:
            self.notices.append(message)

    def index_is_current(self) -> bool:
        """Whether the index is loaded and reflects the database as it is now (so ``index()`` is instant)."""
        return self._index is not None and self._index.corpus_version == self.kb.corpus_version()

    def index(self, progress: ProgressFactory = no_progress) -> VectorIndex:
        """The index, loaded once, and rebuilt (with a notice) whenever it does not match the database."""
        s = self.settings
        with self._lock:
            if self._index is None:
                self._index, message = open_index(
                    self.kb,
                    self.embedder,
                    s.resolved_index_path,
                    max_chars=s.max_report_chars,
                    batch_size=s.embed_batch_size,
                    progress=progress,
                )
                self._notice(message)
            elif not self.index_is_current():
                self._notice("The knowledge base changed since the index was loaded; rebuilt the index.")
                self._index = self.reindex(progress)
            return self._index

    def reindex(self, progress: ProgressFactory = no_progress) -> VectorIndex:
        """Rebuild the index from the database and save it; embeddings come from the cache where possible."""
        s = self.settings
        with self._lock:
            index = build_index(
                self.kb, self.embedder, max_chars=s.max_report_chars, batch_size=s.embed_batch_size, progress=progress
            )
            index.save(s.resolved_index_path)
            self._index = index
            return index

    def _query(self, report: str) -> tuple[str, np.ndarray]:
        """The report as searched (cleaned, cut to ``max_report_chars``) and its embedding; ReportError if empty."""
        text = clean_report(report)[: self.settings.max_report_chars]
        return text, self.embedder.encode(text)

    def _similar(self, vector: np.ndarray, k: int | None) -> list[SimilarCase]:
        with self._lock:  # faiss does not promise that a search may run while a resolution adds to the index
            return similar_cases(self.kb, self.index(), vector, k=k or self.settings.search_top_k)

    def similar_cases(self, report: str, *, k: int | None = None) -> list[SimilarCase]:
        """The resolved incidents most like ``report``; raises ReportError for an empty report."""
        return self._similar(self._query(report)[1], k)

    def suggestion_models(self) -> SuggestionModels:
        """The active trained version, loaded once; loaded again only when another version becomes active."""
        active = self.kb.active_model_version()
        with self._lock:
            if self._models is None or active is None or self._models.version != active.id:
                self._models = load_active(self.kb, self.embedder.name)
            return self._models

    def triage(self, report: str, *, ticked: Collection[str] | None = None, k: int | None = None) -> Triage:
        """Suggestions for a new report.

        Raises ReportError when the report is empty, SuggestionModelUnavailable when no model fits.
        """
        text, vector = self._query(report)
        models = self.suggestion_models()
        return triage(models, text, vector, self._similar(vector, k), self.settings, ticked=ticked)

    def train(self, *, actor: str, progress: ProgressFactory = no_progress) -> ModelVersionRecord:
        """Train every target on the knowledge base as it is now, save the version and make it active."""
        models = train_models(self.kb, self.embedder, self.settings, progress=progress)
        record = save_version(self.kb, models, self.settings, actor=actor)
        with self._lock:
            models.version, self._models = record.id, models  # already in memory: no need to read the file back
        return record

    def activate(self, version_id: int, *, actor: str) -> ModelVersionRecord:
        """Make an earlier (or newer) version the active one, after checking that it loads and fits."""
        models = load_version(self.kb.model_version(version_id), self.embedder.name)
        with self.kb.write(actor) as w:
            record = w.activate_model_version(version_id)
        with self._lock:
            self._models = models
        return record

    def case(self, incident_id: int) -> CaseFile:
        return case_file(self.kb, incident_id)

    def resolve(
        self, incident_id: int, *, actor: str, resolution: str, root_cause: str | None = None, **final_labels: Any
    ) -> IncidentRecord:
        """Resolve an incident and add it to the index at once, so the very next search can find it."""
        with self._lock:
            index = self.index()
            with self.kb.write(actor) as w:
                record = w.resolve_incident(incident_id, resolution=resolution, root_cause=root_cause, **final_labels)
            add_to_index(self.kb, index, self.embedder, [incident_id], max_chars=self.settings.max_report_chars)
            index.save(self.settings.resolved_index_path)
            return record
