"""Similar-case search: the resolved incidents closest in meaning to a new report."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kb import IncidentRecord, KnowledgeBase
from kb.index import VectorIndex
from pipeline.embed import Embedder
from pipeline.text import clean_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimilarCase:
    incident: IncidentRecord
    similarity: float


def similar_cases(
    kb: KnowledgeBase, index: VectorIndex, embedder: Embedder, report: str, *, k: int, max_chars: int
) -> list[SimilarCase]:
    """The ``k`` resolved incidents most similar to ``report``, best first; raises ReportError if it is empty."""
    query = clean_report(report)[:max_chars]
    hits = index.search(embedder.encode(query), k)
    records = {r.id: r for r in kb.incidents([incident_id for incident_id, _ in hits])}
    # An id the database no longer has is skipped: the index is derived data and may lag a moment behind.
    return [SimilarCase(records[i], score) for i, score in hits if i in records]
