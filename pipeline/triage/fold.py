"""Similar cases that show different fixes: near-identical results fold into one entry, and the list favours
resolutions unlike those above (maximal marginal relevance).

A desk that meets the same problem every week holds it many times, nearly word for word; listed one by one, such
cases fill the top of the list with one fix. Folded, an entry says how often the problem happened, how often each
fix resolved it and its newest case. Ordered by maximal marginal relevance, each next entry is the one that best
trades closeness to the report against likeness of its usual resolution to those already shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb import IncidentRecord
from pipeline.triage.search import SimilarCase


@dataclass(frozen=True)
class Fix:
    """One way the cases of an entry were resolved: the words of its first case, and how many cases it resolved."""

    resolution: str
    count: int


@dataclass(frozen=True)
class FoldedCase:
    """An entry of the similar-case list: near-identical cases, the most similar first (the one shown)."""

    cases: tuple[SimilarCase, ...]
    fixes: tuple[Fix, ...]  # most frequent first; cases without a resolution are not counted

    @property
    def lead(self) -> SimilarCase:
        return self.cases[0]

    @property
    def newest(self) -> IncidentRecord:
        return max((c.incident for c in self.cases), key=lambda i: (i.created_at, i.id))


def groups(languages: Sequence[str], vectors: np.ndarray, same: float) -> list[list[int]]:
    """Positions of a ranked list, grouped: each joins the first group whose first member is in its language and
    at least ``same`` alike (cosine of unit ``vectors``); groups in the order of their first member."""
    out: list[list[int]] = []
    for i in range(len(languages)):
        home = next((g for g in out if languages[g[0]] == languages[i] and vectors[g[0]] @ vectors[i] >= same), None)
        if home is None:
            out.append([i])
        else:
            home.append(i)
    return out


def diverse_order(relevance: Sequence[float], fix_vectors: np.ndarray, diversity: float) -> list[int]:
    """Maximal marginal relevance: the most relevant first, then each time the one with the best
    ``(1 - diversity) * relevance - diversity * (likeness of its fix to the most alike one shown)``.
    A zero fix vector (no resolution) is like nothing.

    >>> diverse_order([0.9, 0.85, 0.6], np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 0.3)
    [0, 2, 1]
    >>> diverse_order([0.9, 0.85, 0.6], np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 0.0)
    [0, 1, 2]
    """
    likeness = np.maximum(np.asarray(fix_vectors, dtype=float) @ np.asarray(fix_vectors, dtype=float).T, 0.0)
    closest = np.zeros(len(relevance))  # each one's likeness to the most alike fix shown so far
    rest, chosen = list(range(len(relevance))), []
    while rest:
        best = max(rest, key=lambda i: ((1 - diversity) * relevance[i] - diversity * closest[i], -i))
        chosen.append(best)
        rest.remove(best)
        closest = np.maximum(closest, likeness[best])
    return chosen


def fold(
    cases: Sequence[SimilarCase],
    case_vectors: np.ndarray,
    resolution_vectors: np.ndarray,
    *,
    same: float,
    diversity: float,
    k: int,
) -> list[FoldedCase]:
    """The first ``k`` entries of a ranked list of similar ``cases``: folded and ordered as the module says.
    ``case_vectors`` and ``resolution_vectors`` are unit vectors of their texts and resolutions (zeros where a case
    has no resolution), one row per case."""
    if not cases:
        return []
    entries = []
    for members in groups([c.incident.language for c in cases], case_vectors, same):
        fixes = groups(["" for _ in members], resolution_vectors[members], same)
        fixes = [[members[j] for j in g] for g in fixes if cases[members[g[0]]].incident.resolution]
        fixes.sort(key=len, reverse=True)  # stable: among equals, the closer case's fix first
        entries.append(
            (
                FoldedCase(
                    tuple(cases[i] for i in members),
                    tuple(Fix(cases[g[0]].incident.resolution or "", len(g)) for g in fixes),
                ),
                resolution_vectors[fixes[0][0]] if fixes else np.zeros(resolution_vectors.shape[1]),
            )
        )
    order = diverse_order(
        [entry.lead.similarity for entry, _ in entries],
        np.array([v for _, v in entries]).reshape(len(entries), -1),
        diversity,
    )
    return [entries[i][0] for i in order[:k]]
