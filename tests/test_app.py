"""The pages, run in-process with Streamlit's AppTest against the real demo knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("INCIDENT_KB_DATABASE_URL", settings.database_url)
    st.cache_resource.clear()  # one workspace per server process: a new "process" for each database
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def app(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    yield open_app(demo_settings, monkeypatch)
    st.cache_resource.clear()


def search(at: AppTest, report: str) -> AppTest:
    at.text_area(key="similar_report").input(report)
    at.button(key="similar_submit").click()
    at.run()
    assert not at.exception
    return at


def result_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**#")]


def test_the_page_opens_on_the_demo(app: AppTest) -> None:
    assert app.title[0].value == "Similar cases"
    assert app.sidebar.metric[0].value == "1,651"
    assert result_titles(app) == []


def test_a_japanese_report_finds_japanese_cases(app: AppTest) -> None:
    search(app, "今朝からVPNに接続できません。エラー809が出ます。")
    titles = result_titles(app)
    assert len(titles) == 10
    assert all("VPN" in t for t in titles[:3])
    assert "日本語" in app.caption[2].value  # the first case's labels, after the page's two captions


def test_an_english_report_finds_english_cases(app: AppTest) -> None:
    search(app, "Outlook keeps asking for my password even though it is correct")
    titles = result_titles(app)
    assert any("Outlook" in t for t in titles[:3])
    assert "English" in app.caption[2].value


def test_an_empty_report_is_refused_with_a_message(app: AppTest) -> None:
    search(app, "   \n ")
    assert app.warning[0].value.startswith("The report is empty")
    assert result_titles(app) == []


def test_report_text_is_shown_as_text_never_as_markup(app: AppTest) -> None:
    app.slider(key="similar_k").set_value(30)
    search(app, "VPN down <b>bold</b> <script>alert('x')</script>")
    shown = [t for t in result_titles(app) if "script" in t]
    assert shown, "the incident written in markup should be among the results"
    # Every markup character reaches st.markdown escaped, so it is displayed, not interpreted.
    assert "\\<b\\>Bold\\</b\\>" in shown[0] and "\\*\\*VPN\\*\\*" in shown[0] and "\\:red\\[down\\]" in shown[0]
    bodies = [t.value for t in app.text]
    assert "Report with <i>markup</i> and [a link](http://example.com)." in bodies


def test_a_case_opens_with_its_history(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_settings, monkeypatch)
    at.switch_page("app_pages/case.py")
    at.run()
    at.number_input(key="case_id").set_value(1)
    at.run()
    assert not at.exception
    assert at.subheader[0].value.startswith("#1 ")
    history = at.dataframe[0].value
    assert list(history["what"]) == ["create"] and list(history["who"]) == ["demo"]
    at.number_input(key="case_id").set_value(99999)
    at.run()
    assert at.warning[0].value == "no incident has id 99999"


def test_an_empty_knowledge_base_says_what_to_do(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(settings, monkeypatch)
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
