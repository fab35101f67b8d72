"""The requester's satisfaction with a resolved case: one question (good or bad, and a comment if they like),
offered by a link in the resolution notice and answered through the HTTP API (``api.ratings``).

Each resolution notice gets its own link: a random token of 256 bits of which the knowledge base keeps only the
SHA-256 (as it does an API token), so neither a copy of the database nor its event log can answer for anyone. A
link answers once, within ``api.rating_days`` of the notice; looking at it changes nothing (mail scanners follow
links), only the answer posted does. The agent who held the case and its category are kept as they were then.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from kb import IncidentRecord, InvalidValue, Writer
from kb.models import utcnow
from kb.ratings import RatingRecord
from pipeline.access.tokens import MAX_TOKEN_CHARS, token_hash
from pipeline.workspace import Workspace
from words import PhrasedError

Score = Literal["good", "bad"]
SCORES: tuple[Score, ...] = get_args(Score)
MAX_COMMENT_CHARS = 2_000
# Where a link points, under the API's base URL.
PATH = "/api/v1/ratings/"
# Who the event log says answered: the requester, whom a link does not name.
RATER = "requester (satisfaction link)"


class RatingLinkRefused(PhrasedError, LookupError):
    """No rating has this link, or its time is over."""


class RatingAnswered(PhrasedError, RuntimeError):
    """The link was answered already: an answer is recorded once."""


@dataclass(frozen=True)
class RatingAsk:
    """A rating about to be asked for with a resolution notice: its link (the token, shown in the mail only) and
    what is kept of it once the notice is made (``keep``)."""

    incident_id: int
    token: str
    link: str
    expires_at: dt.datetime
    agent: str | None
    category: str | None


@dataclass(frozen=True)
class RatingView:
    """What a link shows: the case it is about, and whether and how it was answered."""

    rating: RatingRecord
    case: IncidentRecord


def ask(ws: Workspace, case: IncidentRecord, now: dt.datetime | None = None) -> RatingAsk:
    """A new link asking how the resolution of ``case`` was; nothing is stored until ``keep``."""
    token = secrets.token_urlsafe(32)
    expires = (now or utcnow()) + dt.timedelta(days=ws.settings.api.rating_days)
    link = f"{ws.settings.api.base_url}{PATH}{token}"
    return RatingAsk(case.id, token, link, expires, case.assignee, case.category)


def keep(w: Writer, asked: RatingAsk) -> RatingRecord:
    """Store a rating request (its token's hash only), in the transaction that makes its notice."""
    return w.add_rating(
        asked.incident_id,
        token_hash(asked.token),
        expires_at=asked.expires_at,
        agent=asked.agent,
        category=asked.category,
    )


def _valid(ws: Workspace, token: str, now: dt.datetime | None) -> RatingRecord:
    record = ws.kb.rating_by_hash(token_hash(token)) if 0 < len(token) <= MAX_TOKEN_CHARS else None
    if record is None:
        raise RatingLinkRefused("desk_rating_link_unknown")
    if (now or utcnow()) >= record.expires_at:
        raise RatingLinkRefused("desk_rating_link_expired", at=record.expires_at)
    return record


def look(ws: Workspace, token: str, now: dt.datetime | None = None) -> RatingView:
    """The rating a link asks for, with its case; changes nothing. RatingLinkRefused if unknown or expired."""
    record = _valid(ws, token, now)
    return RatingView(record, ws.kb.incident(record.incident_id))


def answer(
    ws: Workspace, token: str, score: str, comment: str | None = None, now: dt.datetime | None = None
) -> RatingRecord:
    """Record the requester's answer to a link: once (RatingAnswered after), within its time (RatingLinkRefused
    after), a score of ``SCORES`` and a comment of at most ``MAX_COMMENT_CHARS`` (InvalidValue otherwise). The
    comment is kept as typed: whoever shows it shows it as text."""
    record = _valid(ws, token, now)
    if record.answered_at is not None:
        raise RatingAnswered("desk_rating_already_answered")
    if score not in SCORES:
        raise InvalidValue("desk_rating_score_unknown", score=repr(score)[:40], scores=list(SCORES))
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise InvalidValue("desk_rating_comment_long", n=len(comment), max=MAX_COMMENT_CHARS)
    with ws.kb.write(RATER) as w:
        return w.answer_rating(record.id, score, comment)
