"""``Workspace``: the knowledge base, the embedding models, the index and the suggestion models, opened from settings
and kept in step. The desk and the review work through it; the triage modules it composes never see it.

The CLI opens one per command and the app one per server process. The index of resolved cases follows the
database: before each search it is checked against the database's corpus version (one small query) and rebuilt if
another process changed the knowledge meanwhile; a resolution made through the workspace is added to it at once.
Open cases, searched for possible duplicates, are few: their index lives in memory and is rebuilt (from cached
embeddings) whenever the set of open cases or their text changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from kb import CaseFilter, IncidentRecord, InvalidValue, KnowledgeBase, ModelVersionRecord
from kb.index import remove_stale_temporaries
from kb.retrieval import Query, SearchIndex
from kb.vocab import RESOLVED_STATUSES
from pipeline.access.accounts import LEADS, Account, require, write_as
from pipeline.progress import ProgressFactory, no_progress
from pipeline.settings import Settings
from pipeline.text import clean_report, clean_text, incident_text
from pipeline.triage import versions
from pipeline.triage.embed import Combined, Embedder, load_embedder
from pipeline.triage.embed_cache import EmbeddingCache
from pipeline.triage.fold import FoldedCase, fold
from pipeline.triage.indexing import (
    Encoders,
    add_to_index,
    build_index,
    index_of,
    open_index,
    sync_shared_index,
)
from pipeline.triage.reports import Reports, embed_incidents
from pipeline.triage.search import SearchResult, SimilarCase, similar_cases
from pipeline.triage.suggest import Triage, triage
from pipeline.triage.thresholds import Thresholds
from pipeline.triage.training import SuggestionModels, SuggestionModelUnavailable, is_held_out, resolved_incidents
from pipeline.triage.training import train_models as _train_models
from pipeline.workflow import Workflow
from words import Phrase

logger = logging.getLogger(__name__)


# How many more similar cases than shown are searched for, so that folding near-identical ones still leaves enough.
FOLD_DEPTH = 3


class Workspace:
    """Everything a command or a page needs, built lazily: opening it loads no model."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.kb = KnowledgeBase(self.settings.resolved_database_url)
        # What processes killed mid-write left behind (an index or a model half saved) goes at start.
        for folder in {self.settings.resolved_index_path.parent, self.settings.resolved_model_dir}:
            if folder.is_dir():
                for path in remove_stale_temporaries(folder):
                    logger.info("removed %s, left by a process stopped while writing it", path)
        self._embedders: dict[str, Embedder] = {}
        self._index: SearchIndex | None = None
        self._open: tuple[tuple, SearchIndex] | None = None
        self._models: SuggestionModels | None = None
        self._lock = threading.RLock()
        self.notices: list[Phrase] = []

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for embedder in self._embedders.values():
            if embedder.cache is not None:
                embedder.cache.close()
        self.kb.close()

    # -- models and index ------------------------------------------------------------------------------------------
    def _load(self, model: str) -> Embedder:
        with self._lock:
            if model not in self._embedders:
                s = self.settings
                cache = EmbeddingCache(s.embedding_cache_path)
                self._embedders[model] = load_embedder(model, threads=s.threads, cache=cache)
            return self._embedders[model]

    @property
    def embedder(self) -> Embedder:
        """The multilingual model: search across languages, and the suggestion models' features."""
        return self._load(self.settings.embedding_model)

    @property
    def encoders(self) -> Encoders:
        s = self.settings
        english = self._load(s.english_model) if s.english_model else None
        return Encoders(self.embedder, english, s.embed_batch_size)

    @cached_property
    def suggestion_embedder(self) -> Embedder:
        """What the suggestion models read of a report's meaning: the multilingual and the English model side by
        side (``Combined``), or the multilingual one alone where no English model is configured. Made once: every
        suggestion asks for it."""
        english = self.encoders.english
        return Combined([self.embedder, english]) if english is not None else self.embedder

    @cached_property
    def workflow(self) -> Workflow:
        """The statuses and their moves, from settings (which do not change while the workspace is open)."""
        return Workflow.from_settings(self.settings)

    def embed_incidents(
        self,
        incidents: Sequence[IncidentRecord],
        *,
        embedder: Embedder | None = None,
        step: Phrase | None = None,
        progress: ProgressFactory = no_progress,
    ) -> Reports:
        """Stored incidents as the models see them (``triage.reports.embed_incidents``), with this workspace's
        settings and ``embedder`` (by default the multilingual model)."""
        s = self.settings
        return embed_incidents(
            embedder or self.embedder,
            incidents,
            max_chars=s.max_report_chars,
            batch_size=s.embed_batch_size,
            step=step,
            progress=progress,
        )

    def index_is_current(self) -> bool:
        """Whether the index is loaded and reflects the database as it is now (so ``index()`` is instant)."""
        return self._index is not None and self._index.corpus_version == self.kb.corpus_version()

    def index(self, progress: ProgressFactory = no_progress) -> SearchIndex:
        """The index, loaded once, and rebuilt (with a notice) whenever it does not match the database."""
        s = self.settings
        with self._lock:
            if self._index is None:
                self._index, notice = open_index(
                    self.kb, self.encoders, s.resolved_index_path, max_chars=s.max_report_chars, progress=progress
                )
                if notice is not None:
                    self.notices.append(notice)
            elif self._index.shared and not self.index_is_current():  # another process's change: take it in
                self._index = sync_shared_index(self.kb, self._index, self.encoders, max_chars=s.max_report_chars)
            elif not self.index_is_current():
                self.notices.append(Phrase("index_changed_elsewhere"))
                self._index = self.reindex(progress)
            return self._index

    def reindex(self, progress: ProgressFactory = no_progress) -> SearchIndex:
        """Rebuild the index from the database and save it; embeddings come from the cache where possible."""
        s = self.settings
        with self._lock:
            index = build_index(self.kb, self.encoders, max_chars=s.max_report_chars, progress=progress)
            if not index.shared:  # a shared index is stored in the database as it is built
                index.save(s.resolved_index_path)
            self._index = index
            return index

    def open_index(self) -> SearchIndex:
        """An in-memory index of the open cases, rebuilt when one is added, changed or resolved."""
        key = tuple(self.kb.open_versions())
        with self._lock:
            if self._open is None or self._open[0] != key:
                # Open cases are too few to measure the views' scales on: the knowledge base's scales make their
                # similarities read like those of resolved cases (so the duplicate threshold holds).
                index = index_of(
                    self.encoders,
                    self.kb.incidents([i for i, _ in key]),
                    max_chars=self.settings.max_report_chars,
                    calibration=self.index().calibration_,
                )
                self._open = key, index
            return self._open[1]

    # -- search and suggestions ------------------------------------------------------------------------------------
    def _query(self, report: str) -> Query:
        """A report as typed, cleaned and cut to ``max_report_chars``, embedded; ReportError if empty."""
        return self.encoders.query(clean_report(report)[: self.settings.max_report_chars])

    def _case_query(self, case: IncidentRecord) -> Query:
        """A stored case as it looks for its like: the same text that stands for it in the index."""
        return self.encoders.query(clean_report(incident_text(case.title, case.body, self.settings.max_report_chars)))

    def _similar(
        self, query: Query, k: int | None, where: CaseFilter | None = None, *, open_cases: bool = False
    ) -> list[SimilarCase]:
        """Resolved cases like the query or, with ``open_cases``, open ones (those this close flagged)."""
        s = self.settings
        with self._lock:  # faiss does not promise that a search may run while a resolution adds to the index
            return similar_cases(
                self.kb,
                self.open_index() if open_cases else self.index(),
                query,
                s.search_weights,
                k=k or s.search_top_k,
                where=where,
                duplicate_similarity=s.duplicate_similarity if open_cases else None,
            )

    def folded(self, cases: Sequence[SimilarCase], k: int | None = None) -> list[FoldedCase]:
        """The first ``k`` entries of a ranked list of cases, near-identical ones folded together and different
        resolutions favoured (``fold.py``; the settings' ``fold_similarity`` and ``fold_diversity``)."""
        s = self.settings
        texts = [incident_text(c.incident.title, c.incident.body, s.max_report_chars) for c in cases]
        fixes = [c.incident.resolution or "" for c in cases]
        # Unit vectors (the embedder's contract), from the embedding cache for the cases' texts.
        vectors = self.embedder.encode(texts + [f for f in fixes if f], batch_size=s.embed_batch_size)
        fix_vectors = np.zeros((len(cases), vectors.shape[1]), dtype=np.float32)
        fix_vectors[[i for i, f in enumerate(fixes) if f]] = vectors[len(cases) :]
        same, diversity = s.fold_similarity, s.fold_diversity
        return fold(cases, vectors[: len(cases)], fix_vectors, same=same, diversity=diversity, k=k or s.search_top_k)

    def similar_cases(self, report: str | IncidentRecord, *, k: int | None = None) -> list[SimilarCase]:
        """The resolved incidents most like a report (typed) or a stored case; ReportError for an empty report."""
        query = self._case_query(report) if isinstance(report, IncidentRecord) else self._query(report)
        return self._similar(query, k)

    def search(self, report: str, *, k: int | None = None, where: CaseFilter | None = None) -> SearchResult:
        """Resolved and open cases like ``report`` that pass ``where``; open ones this close are flagged.

        A status filter picks which of the two lists are searched. Raises ReportError for an empty report.
        """
        query = self._query(report)
        wanted = set(where.statuses) if where else set()
        done = set(RESOLVED_STATUSES)
        k = k or self.settings.search_top_k
        # Deeper than shown, so that the entries left once near-identical cases fold together still number k.
        resolved = self._similar(query, FOLD_DEPTH * k, where) if not wanted or wanted & done else []
        open_cases = self._similar(query, k, where, open_cases=True) if not wanted or wanted - done else []
        return SearchResult(resolved[:k], open_cases, tuple(self.folded(resolved, k)))

    def _signing_key(self) -> bytes:
        return versions.signing_key(self.settings)

    def suggestion_models(self) -> SuggestionModels:
        """The active trained version, loaded once; loaded again only when another version becomes active."""
        active = self.kb.active_model_version()
        with self._lock:
            if self._models is None or active is None or self._models.version != active.id:
                self._models = versions.load_active(self.kb, self.suggestion_embedder.name, self._signing_key())
            return self._models

    def thresholds(self) -> Thresholds:
        """The thresholds in force now: read on every use, so a lead's change holds for the very next suggestion."""
        return Thresholds.in_force(self.kb, self.settings)

    def triage(
        self,
        report: str | IncidentRecord,
        *,
        ticked: Collection[str] | None = None,
        k: int | None = None,
        where: CaseFilter | None = None,
        fold: bool = True,
    ) -> Triage:
        """Suggestions for a report (as typed) or a stored case, with the similar resolved cases (those passing
        ``where``) and the open cases it may duplicate (itself left out); with ``fold``, also those cases as a page
        shows them (``folded``), which work that shows nothing (intake, a replay) leaves out.

        Raises ReportError when the report is empty, SuggestionModelUnavailable when no model fits.
        """
        query = self._case_query(report) if isinstance(report, IncidentRecord) else self._query(report)
        models = self.suggestion_models()
        k = k or self.settings.search_top_k
        itself = report.id if isinstance(report, IncidentRecord) else None
        # A stored case is never its own precedent (a resolved one is in the index).
        deep = [c for c in self._similar(query, FOLD_DEPTH * k + 1, where) if c.incident.id != itself]
        vector = self.suggestion_embedder.encode(query.text)
        result = triage(
            models, query.text, vector, deep[:k], self.settings, thresholds=self.thresholds(), ticked=ticked
        )
        open_cases = self._similar(query, k, open_cases=True)
        duplicates = tuple(c for c in open_cases if c.possible_duplicate and c.incident.id != itself)
        return replace(result, duplicates=duplicates, folded=tuple(self.folded(deep, k)) if fold else ())

    # -- model versions --------------------------------------------------------------------------------------------
    def train(
        self,
        *,
        actor: Account,
        activate: bool = True,
        created_before: dt.datetime | None = None,
        progress: ProgressFactory = no_progress,
    ) -> ModelVersionRecord:
        """Train every target on the knowledge base as it is now (or on the cases created before ``created_before``)
        and save the version; by default make it active, else keep it as a candidate to compare with the active one.
        Leads and admins (asked before the minutes of training, not after)."""
        require(actor, LEADS, "train")
        embedder = self.suggestion_embedder
        models = _train_models(self.kb, embedder, self.settings, created_before=created_before, progress=progress)
        record = versions.save_version(self.kb, models, self.settings, actor=actor, activate=activate)
        if activate:
            with self._lock:
                models.version, self._models = record.id, models  # already in memory: no need to read the file back
        return record

    def activate(self, version_id: int, *, actor: Account) -> ModelVersionRecord:
        """Make an earlier (or newer) version the active one, if it may be (not discarded) and it loads and fits;
        otherwise nothing changes. Also how a lead rolls back; leads and admins."""
        with write_as(self.kb, actor, LEADS, "manage_models") as w:
            record = w.activate_model_version(version_id)
            # Inside the write: one that fails to load is not activated, and the version in force stays.
            models = versions.load_version(record, self.suggestion_embedder.name, self._signing_key())
        with self._lock:
            self._models = models
        return record

    def compare_versions(
        self, candidate: int, baseline: int | None = None, *, progress: ProgressFactory = no_progress
    ) -> versions.Comparison:
        """``candidate`` beside ``baseline`` (the active version by default) on today's held-out incidents, each at
        the thresholds in force."""
        if baseline is None:
            active = self.kb.active_model_version()
            if active is None:
                raise SuggestionModelUnavailable("nothing_active_to_compare")
            baseline = active.id

        def twins(version: int) -> SuggestionModels:
            record = self.kb.model_version(version)
            # The active version is already in memory: read from disk only the other one.
            if record.active:
                return self.suggestion_models()
            return versions.load_version(record, self.suggestion_embedder.name, self._signing_key())

        both = {"baseline": twins(baseline), "candidate": twins(candidate)}
        held = [i for i in resolved_incidents(self.kb) if is_held_out(i.id)]
        reports = self.embed_incidents(
            held, embedder=self.suggestion_embedder, step=Phrase("progress_embedding_held_out"), progress=progress
        )
        targets = versions.compare(both, held, reports, self.thresholds())
        return versions.Comparison(baseline=baseline, candidate=candidate, targets=targets)

    # -- resolving -------------------------------------------------------------------------------------------------
    def resolve(
        self,
        incident_id: int,
        *,
        actor: Account,
        resolution: str,
        root_cause: str | None = None,
        expected_version: int | None = None,
        **final_labels: Any,
    ) -> IncidentRecord:
        """Resolve a case the way the workflow's resolve move does, with how it was fixed, and add it to the index
        at once, so the very next search can find it. InvalidValue without a resolution, TransitionRefused where the
        workflow forbids it."""
        # Cleaned as reports are (``clean_text``): a control character stored here would reach an agent's terminal.
        resolution, root_cause = clean_text(resolution or ""), clean_text(root_cause or "") or None
        s = self.settings
        if not resolution:
            raise InvalidValue("resolution_needed")
        with self._lock:
            index = self.index()
            if index.shared:  # embedded now, into the cache, so that the case is not held locked while it is
                case = self.kb.incident(incident_id)
                self.encoders.documents([incident_text(case.title, case.body, s.max_report_chars)])
            with write_as(self.kb, actor) as w:
                case = w.incident(incident_id, expected_version)
                record = w.update_incident(
                    incident_id,
                    expected_version=expected_version,
                    status=self.workflow.resolved_status(case.status),
                    resolution=resolution,
                    root_cause=root_cause,
                    resolved_at=w.now(),
                    **final_labels,
                )
                if index.shared:  # its vectors commit with the resolution: every process finds it next search
                    add_to_index(self.kb, index, self.encoders, [record], max_chars=s.max_report_chars, writer=w)
            if index.shared:  # into memory; what others left pending waits for the next search, not this click
                self._index = sync_shared_index(
                    self.kb, index, self.encoders, max_chars=s.max_report_chars, pending=False
                )
            else:
                add_to_index(self.kb, index, self.encoders, [record], max_chars=s.max_report_chars)
                index.save(s.resolved_index_path)
            return record
