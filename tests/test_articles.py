"""Knowledge articles: kept with every version on both backends, drafted from a resolved case only, edited against
the version seen, published by leads only; found by search beside cases (first when equally similar, across
Japanese and English, never a draft or a retired one, always the newest published version); shown as typed on
every page that shows them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages.common import md
from kb import CaseFilter, InvalidValue, KnowledgeBase, StaleEdit
from kb.articles import ArticleEntry, ArticleNotFound, ArticleText
from pipeline.access import Account, PermissionDenied, add_account
from pipeline.demo import DEMO_PASSWORD
from pipeline.knowledge import articles
from pipeline.knowledge.article_search import ArticleHit, _index_of, ranked, search_with_articles, similar_articles
from pipeline.review.kb_health import categories_without_articles
from pipeline.settings import Settings
from pipeline.triage.fold import FoldedCase
from pipeline.triage.search import SimilarCase
from pipeline.workflow import TransitionRefused
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, OPERATOR, add_resolved
from tests.test_app import AGENT, as_user, open_app
from tests.test_app_desk import run

TEXT = ArticleText("VPN drops", "The VPN disconnects every ten minutes.", "Idle timeout on the gateway.", "Raise it.")
VPN_EN = "VPN connection fails with error 809 when working from home"
VPN_JA = "在宅勤務中にVPNに接続できません。エラー809が表示されます。"
PRINTER_EN = "The printer on the second floor does not print; jobs stay in the queue"
PRINTER_JA = "2階のプリンタで印刷できません。ジョブがキューに溜まったままです。"
MARKUP = "<b>bold</b> <script>alert('x')</script> **stars** [link](http://example.com) :red[red] $x$"


# -- storage, on both backends -------------------------------------------------------------------------------------
def test_every_save_is_a_new_version_and_every_change_is_in_the_event_log(kb: KnowledgeBase) -> None:
    with kb.write("alice") as w:
        article = w.add_article(TEXT, language="en", category="Network")
    with kb.write("bob") as w:
        w.save_article(article.id, ArticleText("VPN drops hourly", "s", "c", "f"), expected_version=1)
    with pytest.raises(StaleEdit), kb.write("carol") as w:  # carol still saw version 1
        w.save_article(article.id, ArticleText("Carol's", "s", "c", "f"), expected_version=1)
    with kb.write("emily") as w:
        w.set_article_status(article.id, "published", expected_version=2, publish=True)

    versions = kb.article_versions(article.id)
    assert [(v.number, v.title, v.edited_by) for v in versions] == [
        (2, "VPN drops hourly", "bob"),
        (1, "VPN drops", "alice"),
    ]
    assert kb.article_version(article.id, 1).text == TEXT  # the first text is kept as it was
    stored = kb.article(article.id)
    assert (stored.status, stored.current_version, stored.published_version, stored.published_by) == (
        "published",
        2,
        2,
        "emily",
    )
    events = [(e.actor, e.action, e.old_value, e.new_value) for e in kb.events("article", article.id)]
    assert events == [
        ("alice", "article_created", None, ""),
        ("alice", "article_version", None, "1"),
        ("bob", "article_version", None, "2"),
        ("emily", "article_status", "draft", "published"),  # from what, as every change in the log
        ("emily", "article_published", None, "2"),
    ]
    with pytest.raises(ArticleNotFound):
        kb.article(999)


def test_only_published_articles_that_are_not_retired_are_searchable(kb: KnowledgeBase) -> None:
    with kb.write("alice") as w:
        draft = w.add_article(TEXT, language="en", category="Network")
        live = w.add_article(TEXT, language="ja", category="Printing")
        gone = w.add_article(TEXT, language="en", category="Access")
        w.set_article_status(live.id, "published", expected_version=1, publish=True)
        w.set_article_status(gone.id, "published", expected_version=1, publish=True)
        w.set_article_status(gone.id, "retired", expected_version=1)
        w.save_article(
            live.id, ArticleText("New text, not yet reviewed", "s", "", "f"), expected_version=1, status="draft"
        )
        w.add_incident(title="x", language="en", status="resolved", category="Printing")
        w.add_incident(title="y", language="en", status="resolved", category="Network")
    assert kb.published_keys() == [(live.id, 1)]  # the published version, not the newer draft
    assert [(e.article.id, e.version.number) for e in kb.published_articles()] == [(live.id, 1)]
    assert kb.article_categories() == {"Printing"}
    assert kb.resolved_by_category() == {"Printing": 1, "Network": 1}
    assert [e.article.id for e in kb.article_list(statuses=("draft",))] == [live.id, draft.id]
    assert [e.article.id for e in kb.article_list(languages=("ja",))] == [live.id]
    assert draft.id not in {e.article.id for e in kb.article_list(statuses=("retired",))}


def test_an_empty_title_or_fix_is_refused_and_nothing_is_kept(kb: KnowledgeBase) -> None:
    for text in (ArticleText("  ", "s", "c", "f"), ArticleText("t", "s", "c", "")):
        with pytest.raises(InvalidValue), kb.write("alice") as w:
            w.add_article(text, language="en")
    assert kb.article_list() == []


# -- the rules -----------------------------------------------------------------------------------------------------
@pytest.fixture
def desk(workspace: Workspace) -> tuple[Workspace, Account, Account, int]:
    """A small desk: an agent, a lead, two resolved cases (one English, one Japanese) and one open case."""
    ws = workspace
    agent = Account.signed_in(add_account(ws.kb, "Raj", "agent", actor=OPERATOR))
    lead = Account.signed_in(add_account(ws.kb, "Emily", "lead", actor=OPERATOR))
    case = add_resolved(
        ws, VPN_EN, "Since Monday the VPN client says error 809.", root_cause="Port blocked", resolution="Open UDP 500"
    )
    add_resolved(ws, PRINTER_JA, PRINTER_JA, language="ja", category="Printing", resolution="スプーラーを再起動")
    with ws.kb.write("test") as w:
        w.add_incident(title="Open one", body="still open", language="en")
    return ws, agent, lead, case


def published(ws: Workspace, agent: Account, lead: Account, case: int, **draft) -> ArticleEntry:
    record = articles.draft_from_case(ws, case, actor=agent, **draft)
    articles.move(ws, record.id, "submit", actor=agent, version=1)
    articles.move(ws, record.id, "publish", actor=lead, version=1)
    return articles.entry(ws, record.id)


def test_a_draft_takes_the_cases_fields_and_a_lead_publishes_it(desk) -> None:
    ws, agent, lead, case = desk
    record = articles.draft_from_case(ws, case, actor=agent)
    text = ws.kb.article_version(record.id, 1)
    assert (text.title, text.symptoms, text.cause, text.fix) == (
        VPN_EN,
        "Since Monday the VPN client says error 809.",
        "Port blocked",
        "Open UDP 500",
    )
    assert (record.language, record.source_incident_id, record.status) == ("en", case, "draft")
    assert articles.moves_for(record, agent) == ["submit"]
    with pytest.raises(PermissionDenied):  # an agent cannot publish, even calling the pipeline directly
        articles.move(ws, record.id, "publish", actor=agent, version=1)
    articles.move(ws, record.id, "submit", actor=agent, version=1)
    with pytest.raises(PermissionDenied):
        articles.move(ws, record.id, "retire", actor=agent, version=1)
    assert articles.moves_for(ws.kb.article(record.id), lead) == ["publish", "send_back", "retire"]
    done = articles.move(ws, record.id, "publish", actor=lead, version=1)
    assert (done.status, done.published_version, done.published_by) == ("published", 1, "Emily")
    with pytest.raises(TransitionRefused):  # published already: publish is not open from there
        articles.move(ws, record.id, "publish", actor=lead, version=1)
    japanese = articles.draft_from_case(ws, case, actor=agent, language="ja")  # the agent writes it in Japanese
    assert japanese.language == "ja"
    assert [e.article.id for e in articles.from_case(ws, case)] == [japanese.id, record.id]


def test_an_open_case_an_unknown_case_or_language_cannot_be_drafted_from(desk) -> None:
    ws, agent, _, case = desk
    open_case = ws.kb.open_incidents()[0].id
    with pytest.raises(TransitionRefused, match="not resolved"):
        articles.draft_from_case(ws, open_case, actor=agent)
    with pytest.raises(KeyError):
        articles.draft_from_case(ws, 9999, actor=agent)
    with pytest.raises(InvalidValue):
        articles.draft_from_case(ws, case, actor=agent, language="fr")
    assert ws.kb.article_list() == []


def test_a_stale_edit_is_refused_naming_who_saved_since(desk) -> None:
    ws, agent, lead, case = desk
    record = articles.draft_from_case(ws, case, actor=agent)
    articles.save(ws, record.id, ArticleText("Lead's title", "s", "c", "f"), actor=lead, version=1)
    with pytest.raises(StaleEdit, match="Emily"):
        articles.save(ws, record.id, ArticleText("Raj's title", "s", "c", "f"), actor=agent, version=1)
    with pytest.raises(StaleEdit):  # a lead publishes the text reviewed, never a newer one saved meanwhile
        articles.move(ws, record.id, "submit", actor=agent, version=1)
    assert ws.kb.article_version(record.id, 2).title == "Lead's title"


def test_empty_and_oversized_text_is_refused_and_control_characters_are_dropped(desk) -> None:
    ws, agent, _, case = desk
    record = articles.draft_from_case(ws, case, actor=agent)
    too_long = "x" * (ws.settings.articles.max_chars + 1)
    for text in (
        ArticleText("", "s", "c", "f"),
        ArticleText("t", "s", "c", "  \n "),
        ArticleText("t", too_long, "c", "f"),
        ArticleText(too_long, "s", "c", "f"),
    ):
        with pytest.raises(InvalidValue):
            articles.save(ws, record.id, text, actor=agent, version=1)
    saved = articles.save(ws, record.id, ArticleText("Title\x1b[31m", "s\x00", "c", "fix\x07"), actor=agent, version=1)
    assert ws.kb.article_version(record.id, saved.current_version).text == ArticleText("Title[31m", "s", "c", "fix")


def test_editing_a_published_article_keeps_the_published_version_until_the_next_is_published(desk) -> None:
    ws, agent, lead, case = desk
    entry = published(ws, agent, lead, case)
    edited = articles.save(ws, entry.article.id, ArticleText("New", "s", "c", "f"), actor=agent, version=1)
    assert (edited.status, edited.current_version, edited.published_version) == ("draft", 2, 1)
    retired = articles.move(ws, entry.article.id, "retire", actor=lead, version=2)
    assert not retired.searchable
    with pytest.raises(TransitionRefused):
        articles.save(ws, entry.article.id, ArticleText("Back", "s", "c", "f"), actor=agent, version=2)


# -- search --------------------------------------------------------------------------------------------------------
def hit(similarity: float) -> ArticleHit:
    return ArticleHit(entry=None, similarity=similarity)  # type: ignore[arg-type]  # ranking reads the score only


def folded(similarity: float) -> FoldedCase:
    return FoldedCase((SimilarCase(incident=None, similarity=similarity),), ())  # type: ignore[arg-type]


def test_an_article_ranks_before_a_case_it_is_equally_similar_to_and_after_a_clearly_closer_one() -> None:
    cases = [folded(0.90), folded(0.80), folded(0.60)]
    close, far, last = hit(0.88), hit(0.70), hit(0.10)
    order = ranked([far, close, last], cases, tie_margin=0.03)
    assert order == [close, cases[0], cases[1], far, cases[2], last]
    assert ranked([close], cases, tie_margin=0.0) == [cases[0], close, cases[1], cases[2]]


def test_a_published_article_is_found_first_beside_the_case_it_was_drafted_from(desk) -> None:
    ws, agent, lead, case = desk
    draft = articles.draft_from_case(ws, case, actor=agent)
    assert similar_articles(ws, VPN_EN) == []  # a draft is never found
    entry = published(ws, agent, lead, case)
    report = VPN_EN + "\nSince Monday the VPN client says error 809."  # the case's own text, and the article's
    result = ws.search(report)
    assert result.folded[0].lead.incident.id == case
    found = search_with_articles(ws, report, result.folded)
    assert isinstance(found[0], ArticleHit) and found[0].entry.article.id == entry.article.id
    assert found[0].similarity == pytest.approx(result.folded[0].lead.similarity, abs=0.03)  # equally similar
    assert found[1] is result.folded[0]
    assert search_with_articles(ws, report, result.folded, categories=("Printing",)) == list(result.folded)
    assert draft.id not in {h.entry.article.id for h in similar_articles(ws, VPN_EN)}
    articles.move(ws, entry.article.id, "retire", actor=lead, version=1)
    assert similar_articles(ws, VPN_EN) == []  # nor a retired one


def test_a_category_filter_chooses_among_all_articles_not_the_best_few(desk) -> None:
    ws, agent, lead, case = desk
    ws.settings.articles.shown, ws.settings.articles.min_similarity = 1, -1.0
    vpn = published(ws, agent, lead, case)
    printer = published(ws, agent, lead, add_resolved(ws, PRINTER_EN, PRINTER_EN, category="Printing"))
    assert [h.entry.article.id for h in similar_articles(ws, VPN_EN)] == [vpn.article.id]  # the best one
    found = search_with_articles(ws, VPN_EN, [], categories=("Printing",))
    assert [h.entry.article.id for h in found] == [printer.article.id]
    assert search_with_articles(ws, VPN_EN, [], categories=("Nowhere",)) == []


def test_a_new_published_version_replaces_the_old_ones_vectors(desk) -> None:
    ws, agent, lead, case = desk
    entry = published(ws, agent, lead, case)
    before = similar_articles(ws, VPN_EN)[0].similarity
    text = ArticleText("Printer queue stuck", PRINTER_EN, "Spooler hung", "Restart the spooler")
    articles.save(ws, entry.article.id, text, actor=agent, version=1)
    assert similar_articles(ws, VPN_EN)[0].entry.version.number == 1  # version 2 is not published yet
    articles.move(ws, entry.article.id, "submit", actor=agent, version=2)
    articles.move(ws, entry.article.id, "publish", actor=lead, version=2)
    printer = similar_articles(ws, PRINTER_EN)
    assert [h.entry.version.number for h in printer] == [2]
    assert all(h.similarity < before for h in similar_articles(ws, VPN_EN))
    assert set(_index_of(ws).vectors) == {(entry.article.id, 2)}  # the old version's vectors are gone


def test_a_japanese_query_finds_an_english_article_and_the_other_way_round(desk) -> None:
    """On the real multilingual model, with an article on another subject beside each."""
    ws, agent, lead, case = desk
    english = published(ws, agent, lead, case)
    printer_case = add_resolved(ws, PRINTER_EN, PRINTER_EN, category="Printing")
    japanese = published(ws, agent, lead, printer_case, language="ja")
    articles.save(
        ws,
        japanese.article.id,
        ArticleText("プリンタの印刷待ち", PRINTER_JA, "スプーラー停止", "スプーラーを再起動"),
        actor=agent,
        version=1,
    )
    articles.move(ws, japanese.article.id, "submit", actor=agent, version=2)
    articles.move(ws, japanese.article.id, "publish", actor=lead, version=2)
    assert similar_articles(ws, VPN_JA)[0].entry.article.id == english.article.id
    assert similar_articles(ws, "I cannot print, the print jobs are stuck in the queue")[0].entry.article.id == (
        japanese.article.id
    )


def test_knowledge_health_lists_categories_with_many_resolved_cases_and_no_article(desk) -> None:
    ws, agent, lead, case = desk
    ws.settings.articles.health_min_resolved = 2
    for n in range(2):
        add_resolved(ws, f"VPN case {n}", "VPN", category="Network")
    assert categories_without_articles(ws).to_dict("records") == [{"category": "Network", "resolved": 2}]
    with ws.kb.write("test") as w:
        w.update_incident(case, category="Network")
    published(ws, agent, lead, case)
    assert categories_without_articles(ws).empty


# -- pages ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def app(demo_copy: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppTest, Settings]]:
    at = open_app(demo_copy, monkeypatch)
    yield at, demo_copy
    st.cache_resource.clear()


def goto(at: AppTest, page: str, **params: object) -> AppTest:
    at.query_params.clear()
    at.query_params.update({k: str(v) for k, v in params.items()})
    at.switch_page(page)
    return run(at)


def shown(at: AppTest) -> str:
    kinds = ("markdown", "caption", "text", "success", "error", "warning", "info", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def newest_article(settings: Settings) -> int:
    with KnowledgeBase(settings.resolved_database_url) as kb:
        return kb.article_list()[0].article.id


def test_an_article_drafted_on_a_case_is_submitted_published_and_offered_as_typed(app) -> None:
    at, settings = app
    with Workspace(settings) as ws:
        resolved = ws.kb.incident_ids(CaseFilter(statuses=("resolved",)))
        case = next(i for i in ws.kb.incidents(resolved[:50]) if i.resolution)
        add_account(ws.kb, "Lena Lead", "lead", actor=OPERATOR, password=DEMO_PASSWORD)
    goto(at, "app_pages/case.py", id=case.id)
    at.button(key="case_article_draft").click()
    run(at)
    article = newest_article(settings)
    goto(at, "app_pages/articles.py", id=article)  # where the button went (AppTest stays on the page it was sent to)
    assert f"Article #{article}" in at.subheader[0].value and "Draft" in shown(at)
    assert not [b for b in at.button if b.key == "article_publish"]  # an agent is not offered it

    # The agent puts markup in every part (the symptoms keep the report, so the article stays like the case): shown
    # as typed on the page, never read.
    key = f"{article}_1"
    symptoms = f"{case.body}\n{MARKUP}"
    at.text_input(key=f"article_edit_title_{key}").input(MARKUP)
    at.text_area(key=f"article_edit_symptoms_{key}").input(symptoms)
    at.text_area(key=f"article_edit_cause_{key}").input(f"cause: {MARKUP}")
    at.text_area(key=f"article_edit_fix_{key}").input(f"fix: {MARKUP}")
    at.button(key="article_save").click()
    run(at)
    assert [t.value for t in at.text] == [symptoms, f"cause: {MARKUP}", f"fix: {MARKUP}"]
    assert md(MARKUP) in at.subheader[0].value
    at.button(key="article_submit").click()
    run(at)
    assert "In review" in shown(at)

    as_user(at, "Lena Lead")
    at.button(key="article_publish").click()
    run(at)
    with KnowledgeBase(settings.resolved_database_url) as kb:
        stored = kb.article(article)
    assert (stored.status, stored.published_version, stored.published_by) == ("published", 2, "Lena Lead")

    # Search: the article among the cases, marked as one, its markup as typed.
    goto(at, "app_pages/search.py")
    at.text_input(key="search_query").input(case.body)
    at.button(key="search_submit").click()
    run(at)
    assert f"Article #{article}" in shown(at) and f"fix: {MARKUP}" in [t.value for t in at.text]

    # The case's reply form offers it; one click puts its fix after what the reply says.
    goto(at, "app_pages/case.py", id=case.id)
    at.text_area(key="reply_body").input("Hello,")
    at.selectbox(key="reply_article").select(article)
    run(at)
    at.button(key="reply_article_insert").click()
    run(at)
    assert at.text_area(key="reply_body").value == f"Hello,\n\nfix: {MARKUP}"


def test_the_articles_page_lists_by_status_and_an_unknown_article_is_said_not_found(app) -> None:
    at, settings = app
    goto(at, "app_pages/articles.py")
    assert "No article matches" in shown(at)
    goto(at, "app_pages/articles.py", id=77)
    assert "there is no article #77" in shown(at)
    with Workspace(settings) as ws:
        case = add_resolved(ws, HTML_TITLE, HTML_TITLE, category="Network", resolution=MARKUP)
        articles.draft_from_case(ws, case, actor=Account.signed_in(ws.kb.user(AGENT)))
    goto(at, "app_pages/articles.py")
    assert list(at.dataframe[0].value["title"]) == [HTML_TITLE]  # a table cell is text
    at.multiselect(key="articles_statuses").set_value(["published"])
    run(at)
    assert "No article matches" in shown(at)
