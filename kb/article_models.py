"""The tables of knowledge articles: an article (its language, category, status and which of its versions is
current and which published) and its versions, each save a new row that is never overwritten."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.models import Base, UTCDateTime, utcnow


class Article(Base):
    """A knowledge article. ``current_version`` is the newest save; ``published_version`` the one readers and search
    see (None until a lead publishes one). ``version`` counts changes, against stale edits."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # draft, in_review, published, retired
    source_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    published_version: Mapped[int | None] = mapped_column(Integer)
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ArticleVersion(Base):
    """One saved text of an article: what it says, who wrote it and when."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    symptoms: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str] = mapped_column(String(200))
    edited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
