"""Similar-case search: the resolved incidents closest in meaning to a new report."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from kb import IncidentRecord, KnowledgeBase
from kb.index import VectorIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimilarCase:
    incident: IncidentRecord
    similarity: float


def similar_cases(kb: KnowledgeBase, index: VectorIndex, vector: np.ndarray, *, k: int) -> list[SimilarCase]:
    """The ``k`` resolved incidents nearest to a report's embedding, best first."""
    hits = index.search(vector, k)
    records = {r.id: r for r in kb.incidents([incident_id for incident_id, _ in hits])}
    # An id the database no longer has is skipped: the index is derived data and may lag a moment behind.
    return [SimilarCase(records[i], score) for i, score in hits if i in records]
