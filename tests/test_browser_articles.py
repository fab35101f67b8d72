"""Knowledge articles in the real app and a real Chromium: an agent drafts an article from a resolved English case
and another from a resolved Japanese one and submits both, a lead publishes them, and the Search page finds the
English article for a Japanese query and the Japanese article for an English one, marked as articles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kb import CaseFilter, KnowledgeBase
from pipeline.settings import Settings
from tests.test_browser import browser, nav, open_page, serve_copy  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots21")
# A resolved English case and a resolved Japanese one of the demo, found by their words.
ENGLISH_CASE = "it says the gateway is unreachable"
JAPANESE_CASE = "休み明けでパスワードを忘れてしまいました"
JAPANESE_QUERY = "在宅勤務でVPNにログインできません。ゲートウェイに到達できないと表示されます。"
ENGLISH_QUERY = "I forgot my password after the holidays and cannot sign in"


@pytest.fixture(scope="module")
def desk(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KnowledgeBase]]:
    with serve_copy(demo_settings, tmp_path_factory.mktemp("articles")) as served:
        yield served


def resolved_case(kb: KnowledgeBase, words: str) -> int:
    ids = kb.incident_ids(CaseFilter(statuses=("resolved", "closed")))
    return next(i.id for n in range(0, len(ids), 500) for i in kb.incidents(ids[n : n + 500]) if words in i.body)


def shot(page, name: str, showing=None) -> None:
    """The page as the reader sees it, scrolled to ``showing`` if given (the app scrolls inside its own frame)."""
    if showing is not None:
        showing.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"articles-{name}.png"))


def draft_and_submit(browser, url: str, kb: KnowledgeBase, case: int, name: str):  # noqa: F811
    """An agent on the case's Resolve tab: "Draft an article"; on the article, "Submit for review". The agent's
    page and the article's id."""
    page = open_page(browser, f"{url}/case?id={case}", "Raj Mehta")  # a link opens once signed in
    page.get_by_role("tab", name="Resolve").click()
    page.get_by_role("button", name="Draft an article").click()
    page.get_by_role("button", name="Submit for review").wait_for(timeout=60_000)
    article = kb.article_list()[0].article.id
    expect(page.get_by_text(f"Article #{article} · ", exact=False).first).to_be_visible()
    shot(page, f"draft-{name}")
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("In review", exact=False).first.wait_for(timeout=30_000)
    return page, article


def search(page, query: str) -> None:
    nav(page, "Search")
    page.get_by_label("What happened?").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()


def test_an_article_is_drafted_published_and_found_across_languages(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    english_case, japanese_case = resolved_case(kb, ENGLISH_CASE), resolved_case(kb, JAPANESE_CASE)
    _, english = draft_and_submit(browser, url, kb, english_case, "english")
    agent, japanese = draft_and_submit(browser, url, kb, japanese_case, "japanese")
    assert (kb.article(english).language, kb.article(japanese).language) == ("en", "ja")
    assert agent.get_by_role("button", name="Publish").count() == 0  # not for an agent

    for article in (english, japanese):
        lead = open_page(browser, f"{url}/articles?id={article}", "Emily Carter")
        lead.get_by_role("button", name="Publish").click()
        lead.get_by_text("published by Emily Carter", exact=False).first.wait_for(timeout=30_000)
    shot(lead, "published")
    assert [kb.article(a).published_version for a in (english, japanese)] == [1, 1]
    lead.get_by_role("button", name="All articles").click()
    lead.locator("[data-testid='stDataFrame']").wait_for(timeout=30_000)
    shot(lead, "list")

    search(agent, JAPANESE_QUERY)
    card = agent.locator(f"[class*='st-key-article_card_{english}']")
    card.wait_for(timeout=60_000)
    expect(card).to_contain_text(f"Article #{english}")
    expect(card).to_contain_text(kb.incident(english_case).resolution.splitlines()[0])
    shot(agent, "search-ja-finds-en", card)

    search(agent, ENGLISH_QUERY)
    card = agent.locator(f"[class*='st-key-article_card_{japanese}']")
    card.wait_for(timeout=60_000)
    expect(card).to_contain_text("セルフサービスリセット")
    shot(agent, "search-en-finds-ja", card)

    nav(agent, "Triage")
    agent.get_by_label("Report").fill(JAPANESE_QUERY)
    agent.get_by_role("button", name="Suggest").click()
    card = agent.locator(f"[class*='st-key-article_card_{english}']")
    card.wait_for(timeout=60_000)
    shot(agent, "triage", card)
