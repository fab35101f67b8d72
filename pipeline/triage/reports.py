"""What the models see of reports: their texts and their embeddings, and the one way stored incidents become that."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb import IncidentRecord
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import incident_text
from pipeline.triage.embed import Embedder
from words import Phrase


@dataclass(frozen=True)
class Reports:
    """Texts and their embeddings (one row per text)."""

    texts: Sequence[str]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.vectors):
            raise ValueError(f"{len(self.texts)} texts but {len(self.vectors)} vectors")

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: np.ndarray) -> Reports:
        return Reports([self.texts[i] for i in rows], self.vectors[rows])


def embed_incidents(
    embedder: Embedder,
    incidents: Sequence[IncidentRecord],
    *,
    max_chars: int,
    batch_size: int = 64,
    step: Phrase | None = None,
    progress: ProgressFactory = no_progress,
) -> Reports:
    """Stored incidents as the models see them: each one's ``incident_text``, embedded (or taken from the cache).

    ``step`` names the work in the progress display (by default: embedding with the model's name).
    """
    texts = [incident_text(i.title, i.body, max_chars) for i in incidents]
    with progress(step or Phrase("progress_embedding", model=embedder.name), len(texts)) as update:
        vectors = embedder.encode(texts, batch_size=batch_size, progress=update)
    return Reports(texts, vectors.reshape(len(texts), embedder.dim))
