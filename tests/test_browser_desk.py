"""The agent's whole path in the real app and a real Chromium: intake of a report and of an .eml file, claim,
accept one suggestion and override another, escalate to L2 with the hand-off package (posted to a chat webhook),
resolve, and a new report finds the case; and two agents claiming the same case at once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from pipeline.settings import Settings
from tests.conftest import Webhook
from tests.test_browser import browser, nav, open_page, serve_copy  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# "everyone": the outage rule makes the assistant sure of P1, which the agent overrides
REPORT = (
    "Since this morning the shared drive S: asks everyone for their password and then says 'access denied': "
    "nobody in the company can open their files."
)
EML = (
    b"From: Mika Endo <mika.endo@example.co.jp>\r\n"
    b"Subject: =?utf-8?b?44OX44Oq44Oz44K/44GL44KJ5Y2w5Yi344Gn44GN44Gq44GE?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0900\r\n"
    b"Message-ID: <browser-test-1@example.co.jp>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
) + "2階のプリンタから印刷できません。ジョブが溜まったままです。".encode()


@pytest.fixture(scope="module")
def desk(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[tuple]:
    """The app over a private copy of the demo knowledge base, with a chat webhook to post hand-offs to."""
    folder = tmp_path_factory.mktemp("desk")
    with serve_copy(demo_settings, folder, INCIDENT_KB_CHAT_WEBHOOK_URL=webhook.url) as (url, kb):
        yield url, kb, webhook


def choose(page, label: str, option: str, within=None) -> None:
    """Pick ``option`` in the select box labelled ``label`` the way a keyboard user does: type it, wait until the
    list offers it, press Enter (which takes the first option offered). Clicking the option fails now and then: a
    list opened low on the page can lie outside the viewport, where no scrolling reaches it. A box drawn by the
    previous run can still be on the page while a rerun computes its new options: then the list does not offer
    the option yet, and the box is opened again once the rerun has replaced it."""
    box = (within or page).locator("[data-testid='stSelectbox']").filter(has_text=label).first
    for attempt in range(6):
        box.locator("input").click()
        page.keyboard.press("Control+a")  # what an earlier attempt typed is replaced, not added to
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option).first.wait_for(state="attached", timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 5:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(1_000)
    page.keyboard.press("Enter")
    expect(box.locator("input")).to_have_value(re.compile(re.escape(option)))  # an option may say more
    page.wait_for_timeout(300)


def wait_text(page, text: str, timeout: int = 60_000) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def test_the_whole_path_from_intake_to_knowledge(browser, desk) -> None:  # noqa: F811
    url, kb, webhook = desk
    page = open_page(browser, url, "Tom Fischer")
    nav(page, "Intake")
    page.get_by_label("Report", exact=True).fill(REPORT)
    page.get_by_label("Requester's e-mail").fill("ola.berg@example.com")
    page.get_by_role("button", name="File the report").click()
    wait_text(page, "Filed as case #")
    case = int(re.search(r"Filed as case #(\d+)", page.get_by_text("Filed as case #").inner_text()).group(1))

    page.get_by_role("tab", name="Upload files").click()
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(
        files=[{"name": "printer.eml", "mimeType": "message/rfc822", "buffer": EML}]
    )
    page.get_by_role("button", name="File them").click()
    wait_text(page, "printer.eml: 1 new cases")
    mailed = kb.incidents([case + 1])[0]
    assert mailed.title == "プリンタから印刷できない" and mailed.requester_name == "Mika Endo"

    nav(page, "Case")
    page.get_by_label("Case number").fill(str(case))
    page.get_by_label("Case number").press("Enter")
    wait_text(page, f"#{case} · ")
    page.get_by_role("button", name="Claim").click()
    page.locator("[class*='st-key-case_claim']").wait_for(state="detached", timeout=30_000)
    assert kb.incident(case).assignee == "Tom Fischer"

    suggested_category = kb.suggestions(case)[0]
    page.locator("[class*='st-key-accept_category'] button").click()
    wait_text(page, f"Accepted {suggested_category.value or ''}")
    priority = page.locator("[class*='st-key-decide_priority']")
    choose(page, "Another value", "P2", within=priority)
    priority.get_by_label("Reason").fill("only the Finance folders are affected")
    priority.get_by_label("Reason").press("Enter")
    page.locator("[class*='st-key-override_priority'] button").click()
    # On the demo no priority is sure (no class or rule has the held-out record for it): the agent chooses.
    wait_text(page, "Tom Fischer chose P2")

    page.get_by_role("tab", name="Escalate").click()
    page.get_by_role("button", name="Draft the hand-off package").click()
    package = page.get_by_label("Hand-off package (Markdown, editable)")
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('## What was tried'))",
        timeout=30_000,
    )
    assert f"# Case #{case} escalated to L2 specialist team" in package.input_value()
    page.get_by_text("Also post it to the team chat").click()
    page.get_by_role("button", name="Escalate to L2 specialist team").click()
    wait_text(page, "Held by Specialist team at L2 specialist team, escalated by Tom Fischer")
    assert webhook.received and webhook.received[-1]["text"].startswith(f"# Case #{case} escalated to L2")

    page.get_by_role("tab", name="Resolve").click()
    page.get_by_label("Resolution").fill("Re-added the user to the FIN-RW group that a clean-up script had removed.")
    page.get_by_label("Root cause").fill("Group clean-up script removed active members")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_function("() => document.body.innerText.includes('Resolved')", timeout=30_000)
    resolved = kb.incident(case)
    assert (resolved.status, resolved.priority, resolved.escalation_level) == ("resolved", "P2", "L2")

    nav(page, "Triage")
    page.get_by_label("Report").fill("S: drive says access denied on the Finance folder since today")
    page.get_by_role("button", name="Suggest").click()
    page.locator(f"[class*='st-key-similar_case_{case}']").wait_for(timeout=60_000)

    history = {(e.actor, e.action, e.field) for e in kb.events("incident", case)}
    assert {
        ("Tom Fischer", "create", None),
        ("Tom Fischer", "update", "assignee"),
        ("Tom Fischer", "update", "suggestion.category.decision"),
        ("Tom Fischer", "update", "suggestion.priority.reason"),
        ("Tom Fischer", "add_handoff", None),
        ("Tom Fischer", "update", "resolution"),
    } <= history
    page.close()


def test_two_agents_claim_the_same_case_one_wins_the_other_is_told_who(browser, desk) -> None:  # noqa: F811
    url, kb, _ = desk
    with kb.write("intake") as w:
        case = w.add_incident(title="Teams calls drop after 5 minutes", language="en")
    pages = [open_page(browser, f"{url}/case?id={case}", name) for name in ("Raj Mehta", "Emily Carter")]
    for page in pages:
        wait_text(page, f"#{case} · Teams calls drop")
    pages[0].get_by_role("button", name="Claim").click()
    pages[0].locator("[class*='st-key-case_claim']").wait_for(state="detached", timeout=30_000)
    pages[1].get_by_role("button", name="Claim").click()  # this page still shows the case unclaimed
    wait_text(pages[1], f"case #{case} is already held by Raj Mehta")
    assert kb.incident(case).assignee == "Raj Mehta"
    for page in pages:
        page.close()
