"""Recurring problems: clusters of similar incidents in a period, the candidates for a problem record.

Cases are embedded with the multilingual model (so a Japanese and an English report of the same trouble meet) and
grouped by average-linkage clustering: every case of a cluster is, on average, at least ``problem_similarity``
similar to the others. Each cluster is labelled with its most telling words: the words its cases use much more
than the period's other cases (class-based TF-IDF).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from kb import CaseFilter
from pipeline.progress import ProgressFactory, no_progress
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

# Average linkage keeps an n x n distance matrix: about 100 MB at this size, seconds on a laptop.
MAX_CASES = 5000
LABEL_WORDS = 4
# Words: Latin-script words and codes with at least one letter (0x80070005, 10GB; not bare numbers), runs of
# katakana, runs of two or more kanji (Japanese compounds such as 印刷 or 承認; the kana around them are grammar).
_WORDS = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9+#._-]*[A-Za-z0-9]|[ァ-ヴー]{2,}|[一-龯々]{2,}")
_STOP_WORDS = ENGLISH_STOP_WORDS | {"hi", "hello", "thanks", "thank", "please", "regards", "today", "since"}


class PeriodTooLong(PhrasedError, ValueError):
    """More cases in the period than clustering can take at once."""


@dataclass(frozen=True)
class ProblemCandidate:
    """A cluster of similar cases: its label, its telling words and its cases (id, title, language, category,
    status, created_at; the most typical case first)."""

    label: str
    words: list[str]
    cases: pd.DataFrame
    similarity: float  # the mean similarity of its cases to each other

    @property
    def size(self) -> int:
        return len(self.cases)

    @property
    def languages(self) -> dict[str, int]:
        return self.cases["language"].value_counts().to_dict()


def words(text: str) -> list[str]:
    """The content words of a report, English lower-cased.

    >>> words("プリンターで印刷できない: Error 0x80070005 on the printer")
    ['プリンター', '印刷', 'error', '0x80070005', 'printer']
    """
    found = (w.lower() for w in _WORDS.findall(text))
    return [w for w in found if w not in _STOP_WORDS]


def telling_words(cluster_texts: list[str], all_texts: list[str], n: int = LABEL_WORDS) -> list[str]:
    """The words a cluster's texts use much more than the others: the share of its texts that use a word, times
    how rare the word is among all texts (each word counted once per text)."""
    in_cluster = Counter(w for text in cluster_texts for w in set(words(text)))
    overall = Counter(w for text in all_texts for w in set(words(text)))
    score = {w: c / len(cluster_texts) * math.log(len(all_texts) / overall[w]) for w, c in in_cluster.items() if c > 1}
    return sorted(score, key=lambda w: (-score[w], w))[:n]


def check_period(ws: Workspace, since: dt.date | None, until: dt.date | None) -> list[int]:
    """The cases created in the period, if clustering can take them at once (PeriodTooLong if not): a page checks
    this before it asks the worker for the period's problems."""
    ids = ws.kb.incident_ids(CaseFilter(since=since, until=until))
    if len(ids) > MAX_CASES:
        raise PeriodTooLong("period_too_long", cases=len(ids), limit=MAX_CASES)
    return ids


def recurring_problems(
    ws: Workspace,
    since: dt.date | None = None,
    until: dt.date | None = None,
    *,
    top: int = 10,
    progress: ProgressFactory = no_progress,
) -> list[ProblemCandidate]:
    """The ``top`` largest clusters of similar cases created between ``since`` and ``until`` (both included),
    largest first; clusters smaller than the settings' ``problem_min_cases`` are left out."""
    ids = check_period(ws, since, until)
    min_cases = ws.settings.problem_min_cases
    if len(ids) < min_cases:
        return []
    cases = ws.kb.incidents(ids)
    reports = ws.embed_incidents(cases, step=Phrase("progress_reading_period"), progress=progress)
    texts, vectors = list(reports.texts), reports.vectors
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - ws.settings.problem_similarity
    ).fit_predict(vectors)
    table = pd.DataFrame(
        {
            "id": [c.id for c in cases],
            "title": [c.title for c in cases],
            "language": [c.language for c in cases],
            "category": [c.category for c in cases],
            "status": [c.status for c in cases],
            "created_at": [c.created_at for c in cases],
        }
    )
    sizes = Counter(labels)
    found = []
    for label, size in sizes.most_common(top):
        if size < min_cases:
            break
        members = np.flatnonzero(labels == label)
        similarity = vectors[members] @ vectors[members].T
        typical = members[np.argsort(-similarity.mean(axis=1), kind="stable")]
        telling = telling_words([texts[i] for i in members], texts)
        found.append(
            ProblemCandidate(
                label=" · ".join(telling) or table.at[typical[0], "title"],
                words=telling,
                cases=table.iloc[typical].reset_index(drop=True),
                similarity=float((similarity.sum() - size) / (size * size - size)),
            )
        )
    return found
