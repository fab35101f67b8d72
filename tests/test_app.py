"""The pages, run in-process with Streamlit's AppTest against the real demo knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kb import KnowledgeBase
from pipeline.access import Account, add_account, sign_in
from pipeline.demo import DEMO_PASSWORD
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import add_resolved

APP = str(Path(__file__).resolve().parent.parent / "app.py")
AGENT = "Raj Mehta"


def open_app(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    page: str | None = None,
    *,
    user: str = AGENT,
    role: str = "agent",
) -> AppTest:
    """The app on ``page`` (default: the queue), as a fresh server process would serve it, signed in on its
    sign-in page as ``user`` (an account with the demo password, added with ``role`` if the database lacks it)."""
    monkeypatch.setenv("INCIDENT_KB_DATABASE_URL", settings.database_url)
    with KnowledgeBase(settings.resolved_database_url) as kb:
        if kb.credentials(user) is None:
            add_account(kb, user, role, actor=Account.operator("test"), password=DEMO_PASSWORD)
    st.cache_resource.clear()  # one workspace per server process: a new "process" for each database
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to incident-kb"]  # nothing else before signing in
    at.text_input(key="sign_in_login").input(user)
    at.text_input(key="sign_in_password").input(DEMO_PASSWORD)
    at.button(key="sign_in_submit").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    if page is not None:
        at.switch_page(page)
        at.run()
        assert not at.exception
    return at


@pytest.fixture
def app(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    yield open_app(demo_settings, monkeypatch, "app_pages/triage.py")
    st.cache_resource.clear()


def as_user(at: AppTest, name: str = AGENT) -> AppTest:
    """The same browser session signed in as another account of the app's database."""
    settings = Settings()  # the app's, from the environment open_app set
    with KnowledgeBase(settings.resolved_database_url) as kb:
        at.session_state["session_token"] = sign_in(kb, settings, name, DEMO_PASSWORD).token
    at.run()
    assert not at.exception
    return at


def search(at: AppTest, report: str) -> AppTest:
    at.text_area(key="triage_report").input(report)
    at.button(key="triage_submit").click()
    at.run()
    assert not at.exception
    return at


def result_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**#")]


def first_case_labels(at: AppTest) -> str:
    """The label line (category · priority · escalation · language · date) of the first similar case."""
    return next(c.value for c in at.caption if "escalation:" in c.value.replace("\\", ""))


def suggested(at: AppTest) -> dict[str, str]:
    """What each suggestion card shows as its value: {"Category": "Network", "Priority": "Not sure", ...}."""
    shown, title = {}, None
    for m in at.markdown:
        if m.value in ("**Category**", "**Priority**", "**Escalation level**"):
            title = m.value.strip("*")
        elif title and m.value.startswith("### "):
            shown[title], title = m.value[4:].replace("\\", ""), None
    return shown


def test_the_page_opens_on_the_demo(app: AppTest) -> None:
    assert app.title[0].value == "Triage"
    assert app.sidebar.metric[0].value == "1,651"
    assert result_titles(app) == []


def test_a_japanese_report_finds_japanese_cases(app: AppTest) -> None:
    search(app, "今朝からVPNに接続できません。エラー809が出ます。")
    titles = result_titles(app)
    assert len(titles) == 10
    assert all("VPN" in t for t in titles[:3])
    assert "日本語" in first_case_labels(app)


def test_an_english_report_finds_english_cases(app: AppTest) -> None:
    search(app, "Outlook keeps asking for my password even though it is correct")
    titles = result_titles(app)
    assert any("Outlook" in t for t in titles[:3])
    assert "English" in first_case_labels(app)


def test_an_empty_report_is_refused_with_a_message(app: AppTest) -> None:
    search(app, "   \n ")
    assert app.warning[0].value.startswith("The report is empty")
    assert result_titles(app) == []


def test_report_text_is_shown_as_text_never_as_markup(app: AppTest) -> None:
    app.slider(key="triage_k").set_value(30)
    search(app, "VPN down <b>bold</b> <script>alert('x')</script>")
    shown = [t for t in result_titles(app) if "script" in t]
    assert shown, "the incident written in markup should be among the results"
    # Every markup character reaches st.markdown escaped, so it is displayed, not interpreted.
    assert "\\<b\\>Bold\\</b\\>" in shown[0] and "\\*\\*VPN\\*\\*" in shown[0] and "\\:red\\[down\\]" in shown[0]
    bodies = [t.value for t in app.text]
    assert "Report with <i>markup</i> and [a link](http://example.com)." in bodies


def test_suggestions_show_value_confidence_and_reasons(app: AppTest) -> None:
    search(app, "VPNに接続できません。エラー809が出ます。在宅勤務中です。")
    shown = suggested(app)
    assert shown["Category"] == "Network"
    assert set(shown) == {"Category", "Priority", "Escalation level"}
    reasons = [c.value.replace("\\", "") for c in app.caption]
    assert any("% sure; this class is suggested from" in r for r in reasons)
    assert [c.label.split(" →")[0] for c in app.checkbox][:4] == [
        "Technical limit (beyond the helpdesk's knowledge)",
        "Time constraint (a delay would hurt the business)",
        "Complexity (beyond scope, or several departments needed)",
        "Customer request (the user asks for a higher level)",
    ]


def test_in_japanese_every_reason_and_refusal_is_in_japanese(app: AppTest) -> None:
    app.radio(key="lang").set_value("ja")
    search(app, "VPNに接続できません。エラー809が出ます。在宅勤務中です。")
    reasons = [c.value.replace("\\", "") for c in app.caption]
    assert any("確信度" in r and "から提案します" in r for r in reasons)
    assert not any("sure" in r or "suggested from" in r or "similar cases went" in r for r in reasons)
    search(app, "   \n ")
    assert app.warning[0].value.startswith("報告が空です")


def test_ticking_a_criterion_raises_the_escalation_level(app: AppTest) -> None:
    search(app, "The keyboard of my laptop has a sticky key")
    assert not any(c.value for c in app.checkbox)
    before = suggested(app)["Escalation level"]
    app.checkbox(key="criterion_technical_limit").check()
    app.run()
    assert suggested(app)["Escalation level"] == "L2 specialist team"
    assert before != "L2 specialist team"
    assert any("ticked criteria (technical limit)" in c.value.replace("\\", "") for c in app.caption)


def test_outage_words_rank_first_only_as_far_as_their_held_out_record_goes(app: AppTest) -> None:
    search(app, "Email is down for everyone in the Osaka office, nobody can send or receive anything")
    reasons = " ".join(c.value.replace("\\", "") for c in app.caption)
    assert "ranks first" in reasons
    # On the demo, reports with such words were seldom P1 when held out: the rule proposes, with its record.
    assert "this rule only proposes P1: held out it was right on" in reasons
    assert suggested(app)["Priority"] != "P1"


def test_a_case_opens_with_its_history(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_settings, monkeypatch)
    at.switch_page("app_pages/case.py")
    at.run()
    at.number_input(key="case_id").set_value(1)
    at.run()
    assert not at.exception
    assert at.subheader[0].value.startswith("#1 ")
    history = at.dataframe[0].value
    assert list(history["what"]) == ["created"] and list(history["who"]) == ["demo"]
    at.number_input(key="case_id").set_value(99999)
    at.run()
    assert at.warning[0].value == "no incident has id 99999"


def test_an_empty_knowledge_base_says_what_to_do(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(settings, monkeypatch, "app_pages/triage.py")
    assert "no resolved incidents yet" in at.warning[0].value
    assert "incident-kb demo" in at.warning[0].value
    st.cache_resource.clear()


def test_a_broken_database_file_is_named_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("INCIDENT_KB_DATABASE_URL", str(broken))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert "cannot open the knowledge base" in at.error[0].value and "Nothing was changed" in at.error[0].value
    assert broken.read_bytes() == b"garbage" * 1000


def test_the_search_page_finds_the_english_case_for_a_japanese_query(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace(settings) as ws:
        add_resolved(ws, "Printer prints blank pages", "Replaced the toner cartridge", category="Hardware")
        add_resolved(ws, "Cannot connect to the VPN from home", "Reinstalled the VPN client", category="Network")
        add_resolved(ws, "Outlook keeps asking for the password", "Cleared stored credentials", category="Email")
        with ws.kb.write("agent") as w:
            open_id = w.add_incident(title="VPN does not connect since this morning", language="en", category="Network")
    at = open_app(settings, monkeypatch)
    at.switch_page("app_pages/search.py")
    at.run()
    at.text_input(key="search_query").input("自宅からVPNに接続できません")
    at.button(key="search_submit").click()
    at.run()
    assert not at.exception
    assert result_titles(at)[0] == "**#2** · Cannot connect to the VPN from home"
    assert any(f"Possible duplicate of #{open_id}, still open" in w.value for w in at.warning)

    at.multiselect(key="search_categories").set_value(["Email"])
    at.button(key="search_submit").click()
    at.run()
    assert result_titles(at)[0] == "**#3** · Outlook keeps asking for the password"
    st.cache_resource.clear()
