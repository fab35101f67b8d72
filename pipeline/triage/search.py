"""Similar-case search: the resolved incidents closest to a new report, and open cases that may be its twin."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb import CaseFilter, IncidentRecord, KnowledgeBase
from kb.retrieval import Query, SearchIndex, Weights

if TYPE_CHECKING:
    from pipeline.triage.fold import FoldedCase

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimilarCase:
    incident: IncidentRecord
    similarity: float
    possible_duplicate: bool = False  # an open case this close to the report


@dataclass(frozen=True)
class SearchResult:
    """What a search finds: resolved cases (knowledge), and open cases kept apart, duplicates flagged."""

    resolved: list[SimilarCase]
    open: list[SimilarCase]
    # The resolved cases as shown: near-identical ones folded, different fixes favoured (``fold.py``).
    folded: tuple[FoldedCase, ...] = ()

    @property
    def duplicates(self) -> list[SimilarCase]:
        return [case for case in self.open if case.possible_duplicate]


def similar_cases(
    kb: KnowledgeBase,
    index: SearchIndex,
    query: Query,
    weights: Weights,
    *,
    k: int,
    where: CaseFilter | None = None,
    duplicate_similarity: float | None = None,
) -> list[SimilarCase]:
    """The ``k`` incidents of ``index`` most similar to a report, best first, among those ``where`` lets through.

    With ``duplicate_similarity``, cases at least that similar are marked as possible duplicates.
    """
    allowed = kb.incident_ids(where) if where else None
    hits = index.search(query, k, weights, allowed=allowed)
    records = {r.id: r for r in kb.incidents([hit.id for hit in hits])}
    # An id the database no longer has is skipped: the index is derived data and may lag a moment behind.
    return [
        SimilarCase(
            records[hit.id],
            min(1.0, hit.similarity),  # on a cosine scale; a near-identical text can land a hair above 1
            duplicate_similarity is not None and hit.similarity >= duplicate_similarity,
        )
        for hit in hits
        if hit.id in records
    ]
