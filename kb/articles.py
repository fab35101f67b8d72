"""Knowledge articles: how they are kept (mixed into ``Writer``) and read (mixed into ``KnowledgeBase``).

Storage only: every save is a new version row, never an overwrite; each change is in the event log as the
article's (entity ``article``). Who may publish, which status may follow which, and what a draft is made from are
the pipeline's rules (``pipeline.knowledge.articles``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kb.article_models import Article, ArticleVersion
from kb.errors import StaleEdit
from kb.models import Incident
from kb.records import _Record
from kb.vocab import RESOLVED_STATUSES, check, required
from words import PhrasedError

ARTICLE_STATUSES = ("draft", "in_review", "published", "retired")


class ArticleNotFound(PhrasedError, KeyError):
    """No article has the given id, or no version the given number."""


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What an article says: the four parts a version holds."""

    title: str
    symptoms: str
    cause: str
    fix: str


@dataclass(frozen=True, slots=True)
class ArticleRecord(_Record):
    id: int
    language: str
    category: str | None
    status: str
    source_incident_id: int | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    current_version: int
    published_version: int | None
    published_by: str | None
    published_at: dt.datetime | None

    @property
    def searchable(self) -> bool:
        """Whether readers and search see it: a version was published and the article is not retired."""
        return self.published_version is not None and self.status != "retired"


@dataclass(frozen=True, slots=True)
class ArticleVersionRecord(_Record):
    article_id: int
    number: int
    title: str
    symptoms: str
    cause: str
    fix: str
    edited_by: str
    edited_at: dt.datetime

    @property
    def text(self) -> ArticleText:
        return ArticleText(self.title, self.symptoms, self.cause, self.fix)


@dataclass(frozen=True, slots=True)
class ArticleEntry:
    """An article with one of its versions (the current one in lists, the published one for search)."""

    article: ArticleRecord
    version: ArticleVersionRecord


def _entries(s: Session, query) -> list[ArticleEntry]:
    return [
        ArticleEntry(ArticleRecord.from_row(a), ArticleVersionRecord.from_row(v)) for a, v in s.execute(query).all()
    ]


class ArticleReads:
    """The articles' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def article(self, article_id: int) -> ArticleRecord:
        with self._read() as s:
            row = s.get(Article, article_id)
            if row is None:
                raise ArticleNotFound("article_not_found", id=article_id)
            return ArticleRecord.from_row(row)

    def article_version(self, article_id: int, number: int) -> ArticleVersionRecord:
        with self._read() as s:
            row = s.scalar(
                select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.number == number)
            )
            if row is None:
                raise ArticleNotFound("article_version_not_found", id=article_id, number=number)
            return ArticleVersionRecord.from_row(row)

    def article_versions(self, article_id: int) -> list[ArticleVersionRecord]:
        """Every saved version of an article, newest first."""
        with self._read() as s:
            rows = s.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == article_id)
                .order_by(ArticleVersion.number.desc())
            )
            return [ArticleVersionRecord.from_row(row) for row in rows]

    def article_list(
        self,
        *,
        statuses: Collection[str] = (),
        languages: Collection[str] = (),
        source_incident_id: int | None = None,
    ) -> list[ArticleEntry]:
        """Articles with their current version, most recently changed first, among those the filters let through."""
        query = select(Article, ArticleVersion).join(
            ArticleVersion,
            and_(ArticleVersion.article_id == Article.id, ArticleVersion.number == Article.current_version),
        )
        if statuses:
            query = query.where(Article.status.in_(list(statuses)))
        if languages:
            query = query.where(Article.language.in_(list(languages)))
        if source_incident_id is not None:
            query = query.where(Article.source_incident_id == source_incident_id)
        with self._read() as s:
            return _entries(s, query.order_by(Article.updated_at.desc(), Article.id.desc()))

    def published_keys(self) -> list[tuple[int, int]]:
        """(id, published version) of every article search may find, by id: one small query that tells a cache of
        their vectors whether it is still current."""
        query = (
            select(Article.id, Article.published_version)
            .where(Article.published_version.is_not(None), Article.status != "retired")
            .order_by(Article.id)
        )
        with self._read() as s:
            return [tuple(row) for row in s.execute(query)]

    def published_articles(self) -> list[ArticleEntry]:
        """Every article search may find, with its published version, by id."""
        query = (
            select(Article, ArticleVersion)
            .join(
                ArticleVersion,
                and_(ArticleVersion.article_id == Article.id, ArticleVersion.number == Article.published_version),
            )
            .where(Article.status != "retired")
            .order_by(Article.id)
        )
        with self._read() as s:
            return _entries(s, query)

    def resolved_by_category(self) -> dict[str, int]:
        """How many resolved cases each category holds."""
        query = (
            select(Incident.category, func.count())
            .where(Incident.status.in_(RESOLVED_STATUSES), Incident.category.is_not(None))
            .group_by(Incident.category)
        )
        with self._read() as s:
            return dict(s.execute(query).all())

    def article_categories(self) -> set[str]:
        """The categories that have an article search may find."""
        query = select(Article.category).where(
            Article.published_version.is_not(None), Article.status != "retired", Article.category.is_not(None)
        )
        with self._read() as s:
            return set(s.scalars(query.distinct()))


class ArticleWrites:
    """The articles' writes, for ``Writer``; each is in the event log under entity ``article``."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]

    def _article(self, article_id: int, expected_version: int | None) -> Article:
        """The article's row, locked until this transaction ends; StaleEdit if its newest version is no longer the
        one the caller saw (someone saved another meanwhile)."""
        row = self._session.get(Article, article_id, with_for_update=True)
        if row is None:
            raise ArticleNotFound("article_not_found", id=article_id)
        if expected_version is not None and row.current_version != expected_version:
            editor = self._session.scalar(
                select(ArticleVersion.edited_by).where(
                    ArticleVersion.article_id == article_id, ArticleVersion.number == row.current_version
                )
            )
            raise StaleEdit("article_stale", id=article_id, seen=expected_version, now=row.current_version, who=editor)
        return row

    def locked_article(self, article_id: int, expected_version: int | None = None) -> ArticleRecord:
        """The article as this transaction sees it, locked until it ends (a rule checked on it holds for the
        change that follows); StaleEdit if its newest version is no longer ``expected_version``."""
        return ArticleRecord.from_row(self._article(article_id, expected_version))

    def _add_version(self, row: Article, number: int, text: ArticleText) -> None:
        self._session.add(
            ArticleVersion(
                article_id=row.id,
                number=number,
                title=required("what_article_title", text.title),
                symptoms=text.symptoms.strip(),
                cause=text.cause.strip(),
                fix=required("what_article_fix", text.fix),
                edited_by=self._session.info["actor"],
                edited_at=self.now(),
            )
        )
        self._session.flush()
        self.record_event("article", row.id, "article_version", field="version", new_value=str(number))

    def add_article(
        self, text: ArticleText, *, language: str, category: str | None = None, source_incident_id: int | None = None
    ) -> ArticleRecord:
        """A new article in draft, its first version ``text``."""
        check("language", language)
        now = self.now()
        row = Article(
            language=language,
            category=(category or "").strip() or None,
            status="draft",
            source_incident_id=source_incident_id,
            created_by=self._session.info["actor"],
            created_at=now,
            updated_at=now,
            current_version=1,
        )
        self._session.add(row)
        self._session.flush()
        source = "" if source_incident_id is None else str(source_incident_id)
        self.record_event("article", row.id, "article_created", field="source_incident", new_value=source)
        self._add_version(row, 1, text)
        return ArticleRecord.from_row(row)

    def save_article(
        self, article_id: int, text: ArticleText, *, expected_version: int, status: str | None = None
    ) -> ArticleRecord:
        """Save ``text`` as the article's next version (the ones before stay as they were); StaleEdit if the
        caller's view was not of its newest version. ``status``: the article's status from now on."""
        row = self._article(article_id, expected_version)
        row.current_version += 1
        row.updated_at = self.now()
        self._add_version(row, row.current_version, text)
        if status is not None:
            self._set_status(row, status)
        return ArticleRecord.from_row(row)

    def set_article_status(
        self, article_id: int, status: str, *, expected_version: int, publish: bool = False
    ) -> ArticleRecord:
        """Move the article to ``status``; with ``publish``, its newest version becomes the one readers see."""
        row = self._article(article_id, expected_version)
        self._set_status(row, status)
        if publish:
            row.published_version, row.published_by, row.published_at = (
                row.current_version,
                self._session.info["actor"],
                self.now(),
            )
            self.record_event(
                "article", row.id, "article_published", field="version", new_value=str(row.current_version)
            )
        self._session.flush()
        return ArticleRecord.from_row(row)

    def _set_status(self, row: Article, status: str) -> None:
        if status not in ARTICLE_STATUSES:  # a programming error: the pipeline's workflow names the statuses
            raise ValueError(f"article status {status!r}; valid: {', '.join(ARTICLE_STATUSES)}")
        if row.status != status:
            old, row.status, row.updated_at = row.status, status, self.now()
            self._session.flush()
            self.record_event("article", row.id, "article_status", field="status", old_value=old, new_value=status)
