"""Keeping the similar-case index in step with the knowledge base: build, load-or-rebuild, incremental add."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from kb import IndexCorrupt, IndexMismatch, KnowledgeBase
from kb.index import VectorIndex
from pipeline.embed import Embedder
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import incident_text

logger = logging.getLogger(__name__)


def build_index(
    kb: KnowledgeBase,
    embedder: Embedder,
    *,
    max_chars: int,
    batch_size: int = 64,
    progress: ProgressFactory = no_progress,
) -> VectorIndex:
    """A new index of every resolved incident, embedded (or taken from the cache) from the database."""
    # Read the version first: a write during the build then leaves the index marked stale, never wrongly fresh.
    index = VectorIndex(embedder.dim, model=embedder.name, corpus_version=kb.corpus_version())
    with progress(f"Embedding and indexing ({embedder.name})", kb.count_resolved()) as update:
        for batch in kb.resolved_texts():
            texts = [incident_text(title, body, max_chars) for _, title, body in batch]
            vectors = embedder.encode(texts, batch_size=batch_size, progress=update)
            index.add([incident_id for incident_id, _, _ in batch], vectors)
    return index


def open_index(
    kb: KnowledgeBase,
    embedder: Embedder,
    path: Path,
    *,
    max_chars: int,
    batch_size: int = 64,
    progress: ProgressFactory = no_progress,
) -> tuple[VectorIndex, str | None]:
    """The saved index if it fits the model and the database; otherwise a rebuilt one and a message saying why."""
    try:
        index = VectorIndex.load(path)
        index.check(model=embedder.name, dim=embedder.dim, corpus_version=kb.corpus_version())
        return index, None
    except FileNotFoundError:
        reason = f"there was no index at {path} yet"
    except (IndexCorrupt, IndexMismatch) as exc:
        reason = str(exc)
    index = build_index(kb, embedder, max_chars=max_chars, batch_size=batch_size, progress=progress)
    index.save(path)
    message = f"Rebuilt the similar-case index ({len(index)} resolved incidents) because {reason}."
    logger.warning(message)
    return index, message


def add_to_index(
    kb: KnowledgeBase, index: VectorIndex, embedder: Embedder, incident_ids: Sequence[int], *, max_chars: int
) -> None:
    """Add (or refresh) these incidents in the index and mark it as reflecting the database as it is now."""
    records = kb.incidents(incident_ids)
    texts = [incident_text(r.title, r.body, max_chars) for r in records]
    index.add([r.id for r in records], embedder.encode(texts))
    index.corpus_version = kb.corpus_version()
