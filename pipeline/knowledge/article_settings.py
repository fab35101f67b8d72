"""The settings of knowledge articles (``Settings.articles``, the ``[articles]`` table): how long a part may be,
how articles rank beside cases in search, how many are shown, and when knowledge health asks for one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ArticleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(
        20_000,
        gt=0,
        le=200_000,
        description="Most characters one part of an article (title, symptoms, cause, fix) holds.",
    )
    tie_margin: float = Field(
        0.03,
        ge=0,
        le=0.2,
        description="Search: an article ranks above a case less than this much more similar (cosine scale): "
        "equally similar, the reviewed article is the better answer.",
    )
    shown: int = Field(3, ge=1, le=20, description="Articles shown at triage and offered in a case's replies.")
    min_similarity: float = Field(
        0.45,
        ge=-1,
        le=1,
        description="An article is shown at triage and offered in replies only if at least this similar to the report.",
    )
    health_min_resolved: int = Field(
        10,
        ge=1,
        description="Knowledge health: categories with at least this many resolved cases and no published article are "
        "listed.",
    )
