"""Sign-in in the real app and a real Chromium: a new browser sees only the sign-in page, whatever address it asks
for; five wrong passwords lock an account; an agent has no Review section and a review page's address does not
open for them; a lead who changes a threshold is the account the event log names."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kb import KnowledgeBase
from pipeline.demo import DEMO_PASSWORD
from pipeline.settings import Settings
from tests.test_browser import browser, open_page, serve_copy, sign_in  # noqa: F401 (the browser fixture)
from tests.test_browser_desk import choose, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def desk(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KnowledgeBase]]:
    with serve_copy(demo_settings, tmp_path_factory.mktemp("access")) as served:
        yield served


def test_a_new_browser_sees_only_the_sign_in_page_and_wrong_passwords_lock(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{url}/thresholds")  # a review page's address, before signing in
    page.get_by_role("heading", name="Sign in to incident-kb").wait_for(timeout=60_000)
    # The demo's password is the last thing the page draws: once it shows, the whole page has.
    page.get_by_text("incident-kb-demo").first.wait_for(timeout=30_000)
    nav_links = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
    assert nav_links in ([], ["Sign in"]) and page.get_by_role("heading", name="Thresholds").count() == 0

    for attempt in range(1, 6):
        sign_in(page, "Tom Fischer", "not the password")
        if attempt < 5:  # the message stays the same: wait for the attempt to count before the next
            wait_until(lambda n=attempt: kb.credentials("Tom Fischer").failed_sign_ins == n)
    page.get_by_text("locked until").first.wait_for(timeout=30_000)
    sign_in(page, "Tom Fischer", DEMO_PASSWORD)  # the right one, too late
    page.get_by_text("locked until").first.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Sign out").count() == 0
    assert kb.user("Tom Fischer").locked_until is not None
    page.close()


def test_an_agent_has_no_review_and_a_review_address_does_not_open(browser, desk) -> None:  # noqa: F811
    url, _ = desk
    page = open_page(browser, f"{url}/thresholds", "Raj Mehta")
    wait_text(page, "Only leads and admins see this page.")
    sidebar = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Queue" in sidebar and "Review" not in sidebar and "Thresholds" not in sidebar
    assert page.get_by_role("heading", name="Thresholds").count() == 0
    page.close()


def test_a_lead_changes_a_threshold_and_the_event_log_names_the_lead(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    page = open_page(browser, f"{url}/thresholds", "emily.carter@example.com")  # by e-mail, to the asked page
    page.get_by_role("heading", name="Versions").wait_for(timeout=60_000)
    form = page.locator("[data-testid='stForm']")
    choose(page, "Class", "Printing")
    form.get_by_label("Threshold for this class", exact=True).fill("0.99")
    form.get_by_label("Why (recorded with the version)").fill("Printing suggestions checked by hand this week")
    form.get_by_role("button", name="Save as a new version").click()
    wait_text(page, "In force: version 1")
    [policy] = kb.threshold_policies()
    [created] = [e for e in kb.events("threshold_policy", policy.id) if e.action == "create"]
    assert (policy.created_by, created.actor) == ("Emily Carter", "Emily Carter")
    page.close()


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the app did not get there in time"
        time.sleep(0.2)


def test_markdown_in_the_data_makes_the_browser_fetch_nothing(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    with kb.write("test") as w:
        case = w.add_incident(
            title="Scanner ![x](http://127.0.0.1:9/p.png) [x](javascript:alert(1))",
            body="The scanner on floor 2 ![y](http://127.0.0.1:9/q.png) stopped",
            language="en",
            category="Printing ![z](http://127.0.0.1:9/r.png)",
        )
    page = open_page(browser, f"{url}/case?id={case}", "Emily Carter")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    wait_text(page, f"#{case} · Scanner")
    page.wait_for_timeout(2_000)  # time for any image to be asked for
    assert page.locator("img[src*='127.0.0.1:9']").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    assert not [u for u in fetched if "127.0.0.1:9/" in u]
    page.close()
