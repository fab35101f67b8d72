"""Published articles found beside similar cases: the same query, the same views and scales as the case index
(``kb.retrieval``), so an article's similarity reads like a case's; and one ranked list of both, the article first
when the two are equally similar (within ``articles.tie_margin``): a reviewed answer beats a single precedent.

Articles are few. Their vectors are kept in this process by (article id, published version) and the small index
over them is made again whenever that set changes (one small query tells): the database is the source of truth,
a new published version replaces its article's vectors, and a retired or unpublished article is never found.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb import IncidentRecord
from kb.articles import ArticleEntry
from kb.retrieval import Calibration, Query, SearchIndex
from pipeline.text import clean_report, incident_text
from pipeline.triage.fold import FoldedCase
from pipeline.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArticleHit:
    """A published article found for a query, with the version search read."""

    entry: ArticleEntry
    similarity: float


Found = ArticleHit | FoldedCase


@dataclass(frozen=True)
class _Embedded:
    text: str
    language: str
    meaning: np.ndarray
    passages: np.ndarray | None


class _ArticleIndex:
    """One workspace's published articles, embedded once per (article id, version), and their search index."""

    def __init__(self) -> None:
        self.vectors: dict[tuple[int, int], _Embedded] = {}
        self.key: tuple = ()
        self.calibration: Calibration | None = None
        self.index: SearchIndex | None = None
        self.entries: dict[int, ArticleEntry] = {}
        self.lock = threading.Lock()

    def current(self, ws: Workspace) -> tuple[SearchIndex | None, dict[int, ArticleEntry]]:
        key = tuple(ws.kb.published_keys())
        calibration = ws.index().calibration_  # the case index's scales: a rebuilt case index brings new ones
        with self.lock:
            if key != self.key or calibration is not self.calibration:
                self._rebuild(ws, calibration)
                self.key, self.calibration = key, calibration
            return self.index, self.entries

    def _rebuild(self, ws: Workspace, calibration: Calibration) -> None:
        entries = ws.kb.published_articles()
        keys = [(e.article.id, e.version.number) for e in entries]
        missing = [(k, e) for k, e in zip(keys, entries, strict=True) if k not in self.vectors]
        if missing:
            texts = [article_text(e, ws.settings.max_report_chars) for _, e in missing]
            languages, meaning, passages = ws.encoders.documents(texts)
            for n, (k, _) in enumerate(missing):
                self.vectors[k] = _Embedded(texts[n], languages[n], meaning[n], passages[n])
        self.vectors = {k: self.vectors[k] for k in keys}  # an older version's vectors go
        self.entries = {e.article.id: e for e in entries}
        if not entries:
            self.index = None
            return
        kept = [self.vectors[k] for k in keys]
        encoders = ws.encoders
        self.index = SearchIndex.build(
            [e.article.id for e in entries],
            [v.text for v in kept],
            [v.language for v in kept],
            np.vstack([v.meaning for v in kept]),
            [v.passages for v in kept],
            models=encoders.models,
            dims=encoders.dims,
            calibration=calibration,
        )
        logger.info("article index made of %d published articles", len(entries))


_INDEXES: weakref.WeakKeyDictionary[Workspace, _ArticleIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def article_text(entry: ArticleEntry, max_chars: int) -> str:
    """What stands for an article in search: its title and symptoms, as a case's title and report stand for it."""
    return incident_text(entry.version.title, entry.version.symptoms, max_chars)


def _index_of(ws: Workspace) -> _ArticleIndex:
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(ws, _ArticleIndex())


def _query(ws: Workspace, report: str | IncidentRecord) -> Query:
    """The query a report (typed) or a stored case searches with: the same text the case search embeds."""
    max_chars = ws.settings.max_report_chars
    if isinstance(report, IncidentRecord):
        return ws.encoders.query(clean_report(incident_text(report.title, report.body, max_chars)))
    return ws.encoders.query(clean_report(report)[:max_chars])


def similar_articles(
    ws: Workspace, report: str | IncidentRecord, *, k: int | None = None, categories: Sequence[str] = ()
) -> list[ArticleHit]:
    """The published articles (in ``categories``, when given) most like a report or a stored case, best first: at
    most ``k`` (the settings' ``articles.shown``), none less similar than ``articles.min_similarity``. ReportError
    for an empty report."""
    s = ws.settings.articles
    query = _query(ws, report)
    index, entries = _index_of(ws).current(ws)
    # The categories choose among all articles, not among the best few of every category.
    allowed = [i for i, e in entries.items() if e.article.category in categories] if categories else None
    if index is None or allowed == []:
        return []
    hits = index.search(query, k or s.shown, ws.settings.search_weights, allowed=allowed)
    return [
        ArticleHit(entries[hit.id], min(1.0, hit.similarity))
        for hit in hits
        if hit.id in entries and hit.similarity >= s.min_similarity
    ]


def ranked(articles: Sequence[ArticleHit], cases: Sequence[FoldedCase], *, tie_margin: float) -> list[Found]:
    """Articles and similar cases in one list. The cases keep their order (folded, diverse fixes favoured); each
    article comes before the first case it is at least as similar to, give or take ``tie_margin``."""
    pending = sorted(articles, key=lambda a: -a.similarity)
    out: list[Found] = []
    for case in cases:
        while pending and pending[0].similarity + tie_margin >= case.lead.similarity:
            out.append(pending.pop(0))
        out.append(case)
    return out + pending


def search_with_articles(
    ws: Workspace, report: str, cases: Sequence[FoldedCase], *, categories: Sequence[str] = ()
) -> list[Found]:
    """The published articles like ``report`` (in ``categories``, when given) ranked among the similar ``cases``
    found for it."""
    hits = similar_articles(ws, report, categories=categories)
    return ranked(hits, cases, tie_margin=ws.settings.articles.tie_margin)
