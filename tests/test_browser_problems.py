"""Problem management in the real app and a real Chromium, on a copy of the demo: a lead makes the first recurring
cluster of the Trends page a problem record, writes its root cause and workaround and marks it a known error; a new
report like one of its cases then shows that workaround on the Triage page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import KnowledgeBase
from pipeline.settings import Settings
from tests.test_browser import browser, find_similar, nav, open_page, serve_copy  # noqa: F401 (the browser fixture)
from tests.test_browser_desk import choose, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEAD = "Emily Carter"
SHOTS = Path("/tmp/shots21")
ROOT_CAUSE = "The remote-access gateway's certificate expired <b>on the weekend</b>; clients refuse it."
WORKAROUND = "Connect to the backup gateway vpn2.example.com until the certificate is renewed."


@pytest.fixture(scope="module")
def served(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KnowledgeBase]]:
    with serve_copy(demo_settings, tmp_path_factory.mktemp("problems")) as running:
        yield running


def shot(page, name: str, at=None) -> None:
    """The page as the person sees it, scrolled to ``at`` (the app scrolls inside its own frame)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if at is not None:
        at.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"problems-{name}.png"))


def test_a_cluster_becomes_a_known_error_whose_workaround_triage_shows(browser, served) -> None:  # noqa: F811
    url, kb = served
    page = open_page(browser, url, LEAD)
    nav(page, "Trends")
    page.get_by_role("heading", name="Recurring problems").wait_for(timeout=60_000)
    first = page.locator("[data-testid='stExpander']").first
    first.locator("[data-testid='stDataFrame']").wait_for(timeout=180_000)  # the worker clusters the period
    make = page.locator("[class*='st-key-trends_make_problem_0'] button")
    shot(page, "1-trends-cluster", make)
    make.click()

    page.get_by_role("heading", name="Problems and known errors").wait_for(timeout=60_000)
    deadline = time.monotonic() + 30
    while not kb.problems() and time.monotonic() < deadline:
        time.sleep(0.5)
    [problem] = kb.problems()
    assert len(problem.linked) >= 3 and problem.created_by == LEAD
    page.get_by_role("heading", name=f"#{problem.id} · ").wait_for(timeout=30_000)
    page.get_by_label("Root cause").fill(ROOT_CAUSE)
    page.get_by_label("Workaround").fill(WORKAROUND)
    form = page.locator("[data-testid='stForm']").filter(has=page.get_by_label("Root cause"))
    choose(page, "Status", "Known error", within=form)
    form.get_by_role("button", name="Save").click()
    wait_text(page, f"Workaround: {WORKAROUND}")
    stored = kb.problem(problem.id)
    assert (stored.status, stored.root_cause, stored.workaround) == ("known_error", ROOT_CAUSE, WORKAROUND)
    shot(page, "2-known-error", page.get_by_role("heading", name=f"#{problem.id} · "))

    case = kb.incident(problem.linked[0])
    nav(page, "Triage")
    find_similar(page, f"Again today: {case.title}. {case.body}")
    banner = page.locator(f"[class*='st-key-triage_known_error_{problem.id}']")
    banner.wait_for(timeout=60_000)
    assert WORKAROUND in banner.inner_text() and f"Known error #{problem.id}" in banner.inner_text()
    shot(page, "3-triage-workaround", banner)

    banner.get_by_text(f"Open problem #{problem.id}").click()
    page.get_by_role("heading", name=f"#{problem.id} · ").wait_for(timeout=30_000)
    page.close()
