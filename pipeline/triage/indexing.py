"""Keeping the similar-case index in step with the knowledge base: encode, build, load-or-rebuild, add."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from kb import IncidentRecord, IndexCorrupt, IndexMismatch, KnowledgeBase, Writer, pgvector
from kb.pgvector import PgVectorIndex
from kb.retrieval import ENGLISH, MEANING, Calibration, Query, SearchIndex
from kb.vocab import RESOLVED_STATUSES
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import detect_language, incident_text, passages
from pipeline.triage.embed import Embedder
from words import Phrase

logger = logging.getLogger(__name__)

# Where a database keeps what processes need to attach to its shared index (``kb_meta``): which build it is,
# and its calibration.
SHARED_BUILD = "search_build"


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
        engine: Engine | None = None,
        progress: ProgressFactory = no_progress,
    ) -> SearchIndex:
        """A new search index of these texts (``calibration``, ``engine``: see ``SearchIndex.build``)."""
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
            engine=engine,
        )


def build_index(
    kb: KnowledgeBase, encoders: Encoders, *, max_chars: int, progress: ProgressFactory = no_progress
) -> SearchIndex:
    """A new index of every resolved incident, embedded (or taken from the cache) from the database. On PostgreSQL
    its vectors replace those stored there, for every process (``kb.pgvector``)."""
    # Read the version first: a write during the build then leaves the index marked stale, never wrongly fresh.
    version = kb.corpus_version()
    engine = kb.engine if kb.is_postgresql else None
    handled = pgvector.generation(engine) if engine is not None else 0
    ids, texts = _resolved_texts(kb, max_chars)
    index = encoders.index(ids, texts, corpus_version=version, engine=engine, progress=progress)
    if index.shared:  # what other processes need to attach to it without embedding anything
        index.source = uuid.uuid4().hex  # a new build: processes attached to the one before attach again
        with kb.write("search index") as w:
            w.set_meta(SHARED_BUILD, json.dumps({"build": index.source, "calibration": index.calibration_.to_json()}))
            pgvector.settle_until(w.connection(), handled)
    return index


def _resolved_texts(kb: KnowledgeBase, max_chars: int) -> tuple[list[int], list[str]]:
    rows = [row for batch in kb.resolved_texts() for row in batch]
    return [i for i, _, _ in rows], [incident_text(title, body, max_chars) for _, title, body in rows]


def open_shared_index(
    kb: KnowledgeBase, encoders: Encoders, *, max_chars: int, progress: ProgressFactory = no_progress
) -> tuple[SearchIndex, Phrase | None]:
    """PostgreSQL's index: the vectors stored in the database, with this process's lexical view made from the
    texts, and brought up to date (``sync_shared_index``); built whole (with a notice) only when the database has
    none for the configured models."""
    build = kb.meta(SHARED_BUILD)
    stored = {
        view: PgVectorIndex(kb.engine, view, encoders.dims[view], model=name).models()
        for view, name in encoders.models.items()
    }
    if build is None or any(models != {encoders.models[view]} for view, models in stored.items()):
        index = build_index(kb, encoders, max_chars=max_chars, progress=progress)
        reason = Phrase("index_none_in_database", models=", ".join(encoders.models.values()))
        notice = Phrase("index_rebuilt", count=len(index), reason=reason)
        logger.warning("%s", notice)
        return index, notice
    return sync_shared_index(
        kb, _attach(kb, encoders, json.loads(build), max_chars), encoders, max_chars=max_chars
    ), None


def _attach(kb: KnowledgeBase, encoders: Encoders, build: dict, max_chars: int) -> SearchIndex:
    """This process's memory of the stored build ``build`` (the vectors stay in the database)."""
    ids, texts = _resolved_texts(kb, max_chars)
    languages = [detect_language(t) for t in texts]
    calibration = Calibration.from_json(build["calibration"])
    index = SearchIndex.attach(
        ids, texts, languages, models=encoders.models, dims=encoders.dims, calibration=calibration, engine=kb.engine
    )
    index.source = build["build"]
    return index


def sync_shared_index(
    kb: KnowledgeBase, index: SearchIndex, encoders: Encoders, *, max_chars: int, pending: bool = True
) -> SearchIndex:
    """A shared index brought up to date: the vectors still pending written (cases imported, edited or reopened
    since; not with ``pending`` False), then what every process changed since this one last looked taken into
    memory. After a whole new build elsewhere, this process's memory is made again from it."""
    version = kb.corpus_version()  # first: a change during the sync leaves the index stale, never wrongly fresh
    build = json.loads(kb.meta(SHARED_BUILD) or "{}")
    if build and build["build"] != index.source:  # another process rebuilt everything: what it dropped, drop too
        index = _attach(kb, encoders, build, max_chars)
    todo = pgvector.pending(kb.engine) if pending else []
    if todo:
        ids = [i for i, _ in todo]
        records = [r for r in kb.incidents(ids) if r.status in RESOLVED_STATUSES]
        texts = [incident_text(r.title, r.body, max_chars) for r in records]
        _, meaning, passages = encoders.documents(texts)
        with kb.engine.begin() as connection:
            index.unstore(ids, connection=connection)
            index.store([r.id for r in records], meaning, passages, connection=connection)
            pgvector.settle(connection, ids, [g for _, g in todo])  # unless changed again meanwhile
    # What every process stored or removed (this one's too), into memory.
    stored, removed, index.seq = index.views[MEANING].changes(index.seq)
    index.forget(removed)
    records = kb.incidents(stored)
    texts = [incident_text(r.title, r.body, max_chars) for r in records]
    index.remember([r.id for r in records], texts, [detect_language(t) for t in texts])
    index.corpus_version = version
    return index


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
    """The saved index if it fits the models and the database; otherwise a rebuilt one and a notice saying why.
    On PostgreSQL, the index stored in the database (``open_shared_index``; ``path`` is not used)."""
    if kb.is_postgresql:
        return open_shared_index(kb, encoders, max_chars=max_chars, progress=progress)
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
    kb: KnowledgeBase,
    index: SearchIndex,
    encoders: Encoders,
    records: Sequence[IncidentRecord],
    *,
    max_chars: int,
    writer: Writer | None = None,
) -> None:
    """Add (or refresh) these incidents in the index and mark it as reflecting the database as it is now.

    With ``writer`` (a shared index), their vectors are written in its transaction and taken off the pending list
    there; the next search takes them into memory (``sync_shared_index``) once that transaction has committed.
    """
    texts = [incident_text(r.title, r.body, max_chars) for r in records]
    ids = [r.id for r in records]
    languages, meaning, passages = encoders.documents(texts)
    if writer is None:
        index.add(ids, texts, languages, meaning, passages)
        index.corpus_version = kb.corpus_version()
        return
    index.store(ids, meaning, passages, connection=writer.connection())
    pgvector.settle(writer.connection(), ids)
