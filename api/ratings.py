"""The requester's satisfaction link (``pipeline.channels.ratings``): the one part of the API that takes no bearer
token, since the link's own token is the credential. GET shows what the link asks and changes nothing (mail
scanners follow links); POST records the answer, once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.guards import workspace
from pipeline.access.tokens import MAX_TOKEN_CHARS
from pipeline.channels import ratings
from pipeline.channels.ratings import RatingView, Score
from pipeline.workspace import Workspace

router = APIRouter(tags=["satisfaction"])
Token = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN_CHARS, pattern=r"^[A-Za-z0-9_-]+$")]
Ws = Annotated[Workspace, Depends(workspace)]


class RatingIn(BaseModel):
    """The one question's answer: good or bad, and a comment if the requester likes."""

    model_config = ConfigDict(extra="forbid")

    score: Score
    comment: str = Field("", max_length=ratings.MAX_COMMENT_CHARS)


class RatingOut(BaseModel):
    """What a link asks about, and its answer once given."""

    case: int
    title: str
    scores: list[str]
    expires_at: dt.datetime
    answered: bool
    score: str | None = None
    comment: str | None = None

    @classmethod
    def of(cls, view: RatingView) -> RatingOut:
        r = view.rating
        return cls(
            case=r.incident_id,
            title=view.case.title,
            scores=list(ratings.SCORES),
            expires_at=r.expires_at,
            answered=r.answered_at is not None,
            score=r.score,
            comment=r.comment,
        )


@router.get("/ratings/{token}", response_model=RatingOut, summary="See a satisfaction question")
def see_rating(token: Token, ws: Ws) -> RatingOut:
    """The case a satisfaction link is about and whether it was answered; changes nothing. 404 for a link that is
    unknown or whose time is over."""
    return RatingOut.of(ratings.look(ws, token))


@router.post("/ratings/{token}", response_model=RatingOut, summary="Answer a satisfaction question")
def answer_rating(token: Token, answer: RatingIn, ws: Ws) -> RatingOut:
    """Record the requester's answer, once: 409 if the link was answered already, 404 if it is unknown or its time
    is over, 422 for a score not on the scale or a comment too long."""
    ratings.answer(ws, token, answer.score, answer.comment)
    return RatingOut.of(ratings.look(ws, token))
