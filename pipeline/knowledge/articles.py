"""Knowledge articles, as the desk writes them: drafted from a resolved case (its report, root cause and
resolution, taken as they are: nothing is generated), edited (each save a new version; a save over someone
else's newer one is refused), submitted for review, and published by a lead. Agents draft, edit and submit; only
leads and admins publish, send back or retire, whatever page or script asks.

An article is in one language (English or Japanese), whatever the case it came from: the agent writes the text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kb import InvalidValue
from kb.articles import ArticleEntry, ArticleRecord, ArticleText, ArticleVersionRecord
from kb.vocab import LANGUAGES, RESOLVED_STATUSES
from pipeline.access import AGENTS, LEADS, Account, write_as
from pipeline.text import clean_text
from pipeline.workflow import TransitionRefused
from pipeline.workspace import Workspace
from words import Phrase

logger = logging.getLogger(__name__)

PARTS = ("title", "symptoms", "cause", "fix")


@dataclass(frozen=True)
class Move:
    """A status change of an article: from which statuses, to which, and which roles may make it."""

    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    publishes: bool = False


# The articles' workflow: a lead reviews what an agent submitted, and publishes it or sends it back.
MOVES: dict[str, Move] = {
    "submit": Move(("draft",), "in_review", AGENTS),
    "publish": Move(("in_review",), "published", LEADS, publishes=True),
    "send_back": Move(("in_review",), "draft", LEADS),
    "retire": Move(("draft", "in_review", "published"), "retired", LEADS),
}


def moves_for(article: ArticleRecord, actor: Account) -> list[str]:
    """The moves ``actor`` may make on the article as it is (for the buttons a page shows)."""
    return [name for name, move in MOVES.items() if article.status in move.sources and actor.role in move.roles]


def _checked(ws: Workspace, text: ArticleText) -> ArticleText:
    """The text cleaned as reports are (no control characters reach a terminal), each part within the settings'
    length; InvalidValue naming the part otherwise. Empty title or fix: refused by the knowledge base."""
    limit = ws.settings.articles.max_chars
    cleaned = ArticleText(*(clean_text(getattr(text, part) or "") for part in PARTS))
    for part in PARTS:
        if len(getattr(cleaned, part)) > limit:
            raise InvalidValue("article_part_too_long", part=Phrase(f"article_{part}"), max=f"{limit:,}")
    return cleaned


def draft_from_case(ws: Workspace, incident_id: int, *, actor: Account, language: str | None = None) -> ArticleRecord:
    """A new draft article from a resolved case: its title, its report as the symptoms, its root cause as the cause
    and its resolution as the fix, in ``language`` (the case's by default). Refused for a case not yet resolved."""
    if language is not None and language not in LANGUAGES:
        raise InvalidValue("value_not_in_vocabulary", field="language", allowed=list(LANGUAGES), value=repr(language))
    case = ws.kb.incident(incident_id)
    if case.status not in RESOLVED_STATUSES:
        raise TransitionRefused("article_case_unresolved", case=incident_id)
    text = _checked(
        ws,
        ArticleText(case.title, case.body or case.title, case.root_cause or "", case.resolution or ""),
    )
    with write_as(ws.kb, actor, AGENTS, "write_articles") as w:
        return w.add_article(
            text, language=language or case.language, category=case.category, source_incident_id=incident_id
        )


def save(ws: Workspace, article_id: int, text: ArticleText, *, actor: Account, version: int) -> ArticleRecord:
    """Save ``text`` as the article's next version, made over ``version`` (the newest the editor saw; StaleEdit if
    someone saved another since). The article goes back to draft: a lead reviews the new text before it is
    published; the version published before stays the one readers see until then. A retired article is not
    edited."""
    text = _checked(ws, text)
    with write_as(ws.kb, actor, AGENTS, "write_articles") as w:
        if w.locked_article(article_id, version).status == "retired":
            raise TransitionRefused("article_retired", id=article_id)
        return w.save_article(article_id, text, expected_version=version, status="draft")


def move(ws: Workspace, article_id: int, name: str, *, actor: Account, version: int) -> ArticleRecord:
    """Submit, publish, send back or retire the article, as it was at ``version`` when the actor looked (a lead
    publishes the text they reviewed, never a newer one saved meanwhile)."""
    step = MOVES.get(name)
    if step is None:  # a programming error: pages offer ``moves_for``
        raise ValueError(f"unknown article move {name!r}; valid: {', '.join(MOVES)}")
    with write_as(ws.kb, actor, step.roles, f"article_{name}") as w:
        status = w.locked_article(article_id, version).status
        if status not in step.sources:
            raise TransitionRefused("article_move_refused", id=article_id, status=Phrase(f"article_status_{status}"))
        return w.set_article_status(article_id, step.target, expected_version=version, publish=step.publishes)


def entry(ws: Workspace, article_id: int, number: int | None = None) -> ArticleEntry:
    """An article with one version: ``number``, else its newest."""
    article = ws.kb.article(article_id)
    return ArticleEntry(article, ws.kb.article_version(article_id, number or article.current_version))


def versions(ws: Workspace, article_id: int) -> list[ArticleVersionRecord]:
    """Every saved version of an article, newest first."""
    return ws.kb.article_versions(article_id)


def listing(ws: Workspace, *, statuses: tuple[str, ...] = (), languages: tuple[str, ...] = ()) -> list[ArticleEntry]:
    """The articles (with their newest version) in these statuses and languages, most recently changed first."""
    return ws.kb.article_list(statuses=statuses, languages=languages)


def from_case(ws: Workspace, incident_id: int) -> list[ArticleEntry]:
    """The articles drafted from a case."""
    return ws.kb.article_list(source_incident_id=incident_id)
