"""Escalation drills in the real app and a real Chromium: an agent reads a past report of the demo desk, chooses a
level and ticks a criterion, and sees the score and what happened and why; a lead sees each agent's agreement over
time as a chart, and the escalation review's too late and too early per agent and per category."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb.drills import NewDrillAnswer
from pipeline.settings import Settings
from tests.test_browser import browser, nav, open_page, serve_copy  # noqa: F401 (the browser fixture)
from tests.test_browser_desk import wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENT, OTHER, LEAD = "Sarah O'Brien", "Raj Mehta", "Emily Carter"
SHOTS = Path("/tmp/shots21")


def past_answers(kb, case: int) -> None:
    """Six weeks of drills by two agents: Raj gets better week by week, Sarah stays about even."""
    monday = dt.datetime(2026, 10, 19, 10, tzinfo=dt.UTC)
    for week in range(6):
        for agent, right_of_three in ((OTHER, min(week, 3)), (AGENT, 1 + week % 2)):
            for n in range(3):
                right = n < right_of_three
                with kb.write(agent, at=monday + dt.timedelta(weeks=week, hours=n)) as w:
                    w.add_drill_answer(
                        NewDrillAnswer(
                            agent, case, "L2" if right else "none", [], "L2", [], right, 1.0, right / 2 + 0.5
                        )
                    )


def test_an_agent_answers_a_drill_and_a_lead_sees_the_agreement(
    browser,  # noqa: F811
    demo_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve_copy(demo_settings, tmp_path_factory.mktemp("drills")) as (url, kb):
        past_answers(kb, kb.handoffs()[0].incident_id)  # any past case: the chart counts answers

        page = open_page(browser, url, AGENT)
        nav(page, "Escalation drills")
        form = page.locator("[data-testid='stForm']")
        form.get_by_text("Which level should this report go to?").wait_for(timeout=60_000)
        report = page.locator("[class*='st-key-drills_report']").inner_text()
        assert report.strip() and "Category" not in report and "Similar" not in report
        page.screenshot(path=SHOTS / "drills-question.png", full_page=True)
        form.get_by_text("L2 specialist team", exact=True).click()
        form.get_by_text("Technical limit (beyond the helpdesk's knowledge)").click()
        form.get_by_role("button", name="Answer").click()
        wait_text(page, "What happened")
        wait_text(page, "Why, by the escalation guide")
        scores = page.locator("[data-testid='stMetric']").filter(has_text="Score")
        assert scores.inner_text().strip().endswith("%")
        page.screenshot(path=SHOTS / "drills-answered.png", full_page=True)
        [kept] = kb.drill_answers(AGENT, limit=1)
        assert (kept.chosen_level, kept.criteria) == ("L2", ["technical_limit"])
        assert kept.answered_at > dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        page.get_by_role("button", name="Next drill").click()
        form.get_by_text("Which level should this report go to?").wait_for(timeout=60_000)
        assert "The team's results" not in page.inner_text("body")  # an agent has no team tab
        page.close()

        page = open_page(browser, url, LEAD)
        nav(page, "Escalation drills")
        page.get_by_role("tab", name="The team's results").click()
        wait_text(page, "Agreement over time")
        chart = page.locator("[data-testid='stVegaLiteChart']").first
        chart.locator("canvas, svg").first.wait_for(timeout=60_000)
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(1_000)  # the lines drawn
        wait_text(page, "Per agent")
        assert page.locator("[data-testid='stDataFrame']").count() == 1
        page.screenshot(path=SHOTS / "drills-lead-chart.png", full_page=True)

        # The escalation review: too late and too early per agent who escalated and per category, from the worker.
        nav(page, "Escalation review")
        wait_text(page, "Too late and too early", timeout=240_000)
        assert page.locator("[data-testid='stMetric']").filter(has_text="Too late").count() == 1
        page.get_by_text("Per agent who escalated").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "drills-escalation-review.png", full_page=True)
        page.close()
