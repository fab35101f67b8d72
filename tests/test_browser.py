"""The real app, served by `streamlit run`, driven in Debian's Chromium: an agent types reports and reads cases."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kb import KnowledgeBase
from pipeline.demo import DEMO_PASSWORD
from pipeline.settings import Settings
from tests.conftest import HTML_TITLE, copy_knowledge_base

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(database_url: str, folder: Path, **env: str) -> Iterator[str]:
    """`incident-kb serve` (the app and the background worker beside it) on a free port over ``database_url``;
    yields its URL once it answers."""
    port = free_port()
    log = folder / "server.log"
    env = {**os.environ, "INCIDENT_KB_DATABASE_URL": database_url, "INCIDENT_KB_PORT": str(port), **env}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--no-api"],  # the API has its own tests (test_api.py)
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(demo_settings.database_url, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@contextmanager
def serve_copy(settings: Settings, folder: Path, **env: str) -> Iterator[tuple[str, KnowledgeBase]]:
    """The app over a private copy of a knowledge base (its index and models too), and the copy, for tests that
    change it."""
    copy = copy_knowledge_base(settings, folder)
    with serve(copy.database_url, folder, **env) as url, KnowledgeBase(copy.resolved_database_url) as kb:
        yield url, kb


@pytest.fixture(scope="module")
def browser() -> Iterator:
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed: run `make test`, which installs it with apt")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: str) -> Iterator:
    page = open_page(browser, f"{server}/triage", "Raj Mehta")  # the triage page, once signed in
    page.get_by_label("Report").wait_for(timeout=60_000)
    yield page
    page.close()


def open_page(browser, url: str, user: str, password: str = DEMO_PASSWORD):
    """A new browser page at ``url``, signed in on the sign-in page it meets first as ``user``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(url)
    sign_in(page, user, password)
    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    return page


def sign_in(page, user: str, password: str) -> None:
    page.get_by_label("Name or e-mail").wait_for(timeout=60_000)
    page.get_by_label("Name or e-mail").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def nav(page, title: str) -> None:
    """Go to a page through the sidebar, keeping the session (and who is working)."""
    page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()


def find_similar(page, report: str, k: int | None = None) -> None:
    page.get_by_label("Report").fill(report)
    if k is not None:
        slider = page.get_by_role("slider")
        slider.focus()
        for _ in range(k - 10):
            slider.press("ArrowRight")
    page.get_by_role("button", name="Suggest").click()
    # Cards stream in one by one: wait for the last of them, not the first, before counting what they show.
    page.locator("[class*='st-key-similar_case_']").nth((k or 10) - 1).wait_for(timeout=60_000)


def case_headers(page) -> list[str]:
    """The "#id · title" line of every case shown, top to bottom."""
    texts = page.locator("[class*='st-key-similar_case_'] [data-testid='stMarkdownContainer'] p").all_inner_texts()
    return [t for t in texts if t.startswith("#")]


def test_a_japanese_report_finds_japanese_cases(page) -> None:
    find_similar(page, "今朝から自宅でVPNに接続できません。エラー809と表示されます。")
    headers = case_headers(page)
    assert len(headers) == 10
    assert "VPN" in headers[0] and any("\u3040" <= ch <= "\u30ff" for ch in headers[0])
    assert page.get_by_text("日本語").count() >= 5


def test_an_english_report_finds_english_cases(page) -> None:
    find_similar(page, "My print jobs are stuck in the queue and nothing comes out of the printer")
    headers = case_headers(page)
    assert any("print" in h.lower() for h in headers[:3])
    assert page.get_by_text("English").count() >= 3
    page.get_by_text("Open case").first.click()
    page.get_by_text("History").wait_for(timeout=30_000)
    assert "id=" in page.url


def test_markup_in_a_case_is_shown_as_typed(page) -> None:
    find_similar(page, "VPN down <b>bold</b> <script>alert('x')</script>", k=30)
    page.get_by_text(HTML_TITLE, exact=False).first.wait_for(timeout=30_000)
    # Shown literally: the page holds no element that the case's markup would have created.
    assert page.locator("[class*='st-key-similar_case_'] b, [class*='st-key-similar_case_'] script").count() == 0
    assert page.locator("[class*='st-key-similar_case_'] strong").filter(has_text="VPN").count() == 0


def card_value(page, key: str) -> str:
    """The big value of one suggestion card (category, priority, escalation_level)."""
    return page.locator(f"[class*='st-key-suggestion_{key}'] h3").first.inner_text().strip()


def test_triage_suggests_and_a_ticked_criterion_raises_the_level(page) -> None:
    find_similar(page, "My laptop keyboard has a sticky key, the letter E does not type")
    assert card_value(page, "category") == "Hardware"
    assert page.get_by_text("Escalation checklist").count() == 1
    page.locator("[class*='st-key-suggestion_category']").get_by_text("Why?").click()
    page.get_by_text("Words that weighed most").first.wait_for(timeout=30_000)
    before = card_value(page, "escalation_level")
    assert before != "L2 specialist team"
    page.get_by_text("Technical limit (beyond the helpdesk's knowledge)").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[class*='st-key-suggestion_escalation_level'] h3\")]"
        ".some(h => h.innerText.includes('L2 specialist team'))",
        timeout=30_000,
    )
    assert page.get_by_text("raised from", exact=False).count() + page.get_by_text("ticked criteria").count() >= 1


def test_the_search_page_finds_english_cases_for_a_japanese_query(page, server: str) -> None:
    nav(page, "Search")
    page.get_by_label("What happened?").fill("会議室のプロジェクターに映像が出ません")
    page.get_by_role("button", name="Search").click()
    page.locator("[class*='st-key-similar_case_']").nth(9).wait_for(timeout=60_000)
    headers = case_headers(page)[:5]
    assert any("projector" in h.lower() for h in headers), headers  # an English case near the top
    assert any("プロジェクター" in h for h in headers), headers  # and its Japanese twin
