"""Merging and bulk actions in the real app and a real Chromium: a lead merges a duplicate into the original the
case page offers first, and moves three cases of the queue at once (one of them changed meanwhile, refused alone
and named)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pipeline.settings import Settings
from tests.test_browser import browser, open_page, serve_copy  # noqa: F401 (the browser fixture)
from tests.test_browser_desk import choose, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots21")
# st.dataframe's rows, as its canvas draws them by default: the header and each row this many pixels high, the
# row-selection checkboxes in the first column.
ROW_PIXELS = 35


@pytest.fixture(scope="module")
def desk(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    with serve_copy(demo_settings, tmp_path_factory.mktemp("merge")) as (url, kb):
        yield url, kb


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"desk-{name}.png"), full_page=True)


def test_a_lead_merges_a_duplicate_into_the_original_offered_first(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    with kb.write("intake") as w:
        original = w.add_incident(title="VPN drops every 10 minutes at home", body="GlobalProtect.", language="en")
        duplicate = w.add_incident(
            title="<b>VPN</b> keeps dropping", body="Same as my colleague.", language="en", duplicate_of=original
        )
        w.add_message(duplicate, kind="from_requester", author="sora@example.com", body="Still dropping today.")
    page = open_page(browser, f"{url}/case?id={duplicate}", "Emily Carter")
    wait_text(page, f"#{duplicate} · <b>VPN</b> keeps dropping")
    wait_text(page, f"#{original} · VPN drops every 10 minutes at home")  # offered first, chosen already
    shot(page, "merge-offered")
    page.get_by_role("button", name="Merge", exact=True).click()
    wait_text(page, f"Merged into case #{original} by Emily Carter")
    shot(page, "merged")
    assert kb.merge_of(duplicate).original_id == original and kb.incident(duplicate).status == "closed"
    page.get_by_role("button", name=f"Open case #{original}").click()
    wait_text(page, f"Merged into this case: #{duplicate}")
    tab = page.get_by_role("tab", name="Conversation")
    expect(tab).to_have_count(1, timeout=60_000)  # the duplicate's page, drawn before, is gone
    tab.click()
    wait_text(page, "Still dropping today.")
    shot(page, "merged-original")
    page.close()


def test_a_bulk_move_of_three_cases_names_the_one_changed_meanwhile(browser, desk) -> None:  # noqa: F811
    url, kb = desk
    with kb.write("intake") as w:
        ids = [w.add_incident(title=f"Scanner {n} on floor 3 is offline", language="en") for n in range(3)]
    page = open_page(browser, f"{url}/", "Emily Carter")
    choose(page, "Sort by", "Newest first")
    grid = page.locator("[data-testid='stDataFrame']").first
    # The grid is drawn on a canvas; its cells are also in a table for screen readers, which is not shown.
    page.locator("td", has_text="Scanner 2 on floor 3 is offline").first.wait_for(state="attached")
    box = grid.bounding_box()
    for row in range(3):  # the newest three: ours
        page.mouse.click(box["x"] + 15, box["y"] + ROW_PIXELS * (row + 1) + ROW_PIXELS / 2)
        page.wait_for_timeout(800)
    wait_text(page, "With the 3 selected cases")
    page.locator("[data-testid='stButtonGroup']").get_by_text("Move", exact=True).click()
    choose(page, "Move to", "In progress")
    shot(page, "bulk-selected")
    with kb.write("Raj Mehta") as w:  # after the table was drawn
        w.update_incident(ids[1], priority="P1")
    page.get_by_role("button", name="Apply to 3 cases").click()
    wait_text(page, "2 moved, 1 refused")
    shot(page, "bulk-outcome")
    assert [kb.incident(i).status for i in ids] == ["in_progress", "new", "in_progress"]
    page.close()
