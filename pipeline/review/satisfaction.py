"""Requesters' satisfaction, for leads: per agent (who held the case when it was resolved) and per category, how
many were asked, how many answered, and the share of good answers; the comments, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kb.ratings import RatingRecord
from pipeline.access.accounts import LEADS, Account, require
from pipeline.workspace import Workspace

COMMENTS_LISTED = 50


@dataclass(frozen=True)
class SatisfactionRow:
    """The ratings of one agent or category: asked, answered, good and bad; shares None where nothing counts."""

    name: str | None  # None: no agent held the case, or it had no category
    asked: int
    answered: int
    good: int

    @property
    def bad(self) -> int:
        return self.answered - self.good

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @property
    def good_share(self) -> float | None:
        return self.good / self.answered if self.answered else None


@dataclass(frozen=True)
class Satisfaction:
    """The period's ratings as the review shows them."""

    overall: SatisfactionRow
    by_agent: list[SatisfactionRow]
    by_category: list[SatisfactionRow]
    comments: list[RatingRecord]  # answered with a comment, newest first


def _rows(ratings: Iterable[RatingRecord], key: Callable[[RatingRecord], str | None]) -> list[SatisfactionRow]:
    groups: dict[str | None, list[RatingRecord]] = {}
    for r in ratings:
        groups.setdefault(key(r), []).append(r)
    rows = [_row(name, group) for name, group in groups.items()]
    return sorted(rows, key=lambda row: (-row.answered, -row.asked, row.name or ""))


def _row(name: str | None, ratings: list[RatingRecord]) -> SatisfactionRow:
    answered = [r for r in ratings if r.answered_at is not None]
    return SatisfactionRow(name, len(ratings), len(answered), sum(r.score == "good" for r in answered))


def satisfaction(
    ws: Workspace, *, actor: Account, since: dt.date | None = None, until: dt.date | None = None
) -> Satisfaction:
    """The ratings asked for between ``since`` and ``until`` (dates of the resolution notice, inclusive)."""
    require(actor, LEADS, "review")
    start = dt.datetime.combine(since, dt.time.min, dt.UTC) if since else None
    ratings = ws.kb.ratings(since=start)
    if until is not None:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, dt.UTC)
        ratings = [r for r in ratings if r.asked_at < end]
    comments = sorted((r for r in ratings if r.comment), key=lambda r: r.answered_at, reverse=True)
    return Satisfaction(
        _row(None, ratings),
        _rows(ratings, lambda r: r.agent),
        _rows(ratings, lambda r: r.category),
        comments[:COMMENTS_LISTED],
    )
