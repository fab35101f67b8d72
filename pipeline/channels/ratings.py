"""The requester's satisfaction with a resolved case: one question (good or bad, and a comment if they like),
offered by a link in the resolution notice and answered through the HTTP API (``api.ratings``).

Each resolution notice asks for its own rating, and its link is a random token of 256 bits of which the knowledge
base keeps only the SHA-256 (as it does an API token), so neither a copy of the database nor its event log can
answer for anyone. The token is in no stored text either: the notice is kept with ``MARKER`` where the link goes,
and each time it is handed to the mail server (``outgoing``) a new token is made, its hash put on the rating in
place of the last one (a send that failed delivered no link) and committed before the send, and the link put in
the mail that goes out only. A link answers once, within ``api.rating_days`` of its send; looking at it changes
nothing (mail scanners follow links), only the answer posted does. The agent who held the case and its category
are kept as they were at the resolution.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from kb import DeliveryRecord, IncidentRecord, InvalidValue, Writer
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
# What a resolution notice is kept with where its link goes (the link is made at each send); shown so on the case.
MARKER = "(rating link)"
# The notices that carry a link: the requester's mail saying their case is resolved.
PURPOSE, CHANNEL = "resolved", "email"


class RatingLinkRefused(PhrasedError, LookupError):
    """No rating has this link, or its time is over."""


class RatingAnswered(PhrasedError, RuntimeError):
    """The link was answered already: an answer is recorded once."""


@dataclass(frozen=True)
class RatingView:
    """What a link shows: the case it is about, and whether and how it was answered."""

    rating: RatingRecord
    case: IncidentRecord


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def keep(ws: Workspace, w: Writer, case: IncidentRecord, now: dt.datetime | None = None) -> RatingRecord:
    """Ask how the resolution of ``case`` was, in the transaction that makes its notice: the rating is stored with
    the hash of a token no one is given, since its link is made when the notice is sent (``outgoing``)."""
    return w.add_rating(
        case.id,
        _token()[1],
        expires_at=(now or utcnow()) + dt.timedelta(days=ws.settings.api.rating_days),
        agent=case.assignee,
        category=case.category,
    )


def outgoing(ws: Workspace, w: Writer, delivery: DeliveryRecord, now: dt.datetime | None = None) -> DeliveryRecord:
    """The delivery as it goes to the mail server now: a resolution notice with its rating's link, new for this
    send, in place of ``MARKER``; the new token's hash replaces the rating's last one (and its time runs from now),
    in ``w``'s transaction, which is committed before the send. Any other delivery as it is."""
    if (delivery.purpose, delivery.channel) != (PURPOSE, CHANNEL) or MARKER not in delivery.body:
        return delivery
    token, hashed = _token()
    expires = (now or utcnow()) + dt.timedelta(days=ws.settings.api.rating_days)
    if w.renew_rating(delivery.id, hashed, expires_at=expires) is None:
        return delivery  # a notice made before ratings were asked for: no link to give
    link = f"{ws.settings.api.base_url}{PATH}{token}"
    return dataclasses.replace(delivery, body=delivery.body.replace(MARKER, link))


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
