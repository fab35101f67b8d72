"""The agent's pages in AppTest, on private copies of the real demo knowledge base: queue, intake (with bad
uploads), a case worked from claim to resolution, requester history, templates, team, and the Japanese UI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages.common import md
from kb import KnowledgeBase
from pipeline.desk import intake
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, acct, work_off
from tests.test_app import AGENT, as_user, open_app


@pytest.fixture
def desk(demo_copy: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppTest, Settings]]:
    at = open_app(demo_copy, monkeypatch)
    yield at, demo_copy
    st.cache_resource.clear()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    return at


def goto(at: AppTest, page: str, **params: object) -> AppTest:
    at.query_params.update({k: str(v) for k, v in params.items()})
    at.switch_page(page)
    return run(at)


def texts(at: AppTest) -> str:
    return "\n".join(
        e.value for kind in ("markdown", "caption", "success", "error", "warning", "info") for e in getattr(at, kind)
    )


def test_the_queue_shows_every_open_case_and_mine_is_what_i_hold(desk) -> None:
    at, _ = desk
    table = at.dataframe[0].value
    assert len(table) == 22 and {"status", "owner", "priority", "age", "duplicate_of"} <= set(table.columns)
    with_priority = table[table["priority"] != ""]
    clock = r"(?:Response|Resolution) (?:due in|due soon, in|overdue by) \d"
    assert with_priority["deadline"].str.contains(clock).all()
    breached = (table["sla"] == "breached").sum()
    assert f"SLA: {breached} breached" in texts(at)
    at.multiselect(key="queue_sla").set_value(["breached"])
    run(at)
    assert len(at.dataframe[0].value) == breached and set(at.dataframe[0].value["sla"]) == {"breached"}
    at.multiselect(key="queue_sla").set_value([])
    at.segmented_control(key="queue_view").set_value("mine")
    run(at)
    as_user(at, "原田 拓海")
    mine = at.dataframe[0].value
    assert 0 < len(mine) < 22 and set(mine["owner"]) == {"原田 拓海"}
    at.segmented_control(key="queue_view").set_value("unassigned")
    run(at)
    assert set(at.dataframe[0].value["owner"]) == {""}


def test_intake_files_a_typed_report_and_refuses_bad_files_losing_nothing(desk) -> None:
    at, settings = desk
    goto(at, "app_pages/intake.py")
    at.text_area(key="intake_body").input("The projector in room 4B shows no picture from my laptop.")
    at.text_input(key="intake_email").input("mia@example.com")
    at.button(key="intake_submit").click()
    run(at)
    assert any("Filed as case #1652" in s.value for s in at.success)

    kb = KnowledgeBase(settings.resolved_database_url)
    before = kb.stats()
    bad = [
        ("empty.csv", b"", "is empty"),
        ("photo.csv", bytes(range(256)) * 40, "not valid UTF-8"),
        ("sjis.csv", "title,body\nプリンタ,印刷できない\n".encode("cp932"), "cp932"),
        ("big.jsonl", b'{"title": "x"}\n' + b"a" * 10_000_000, "at most 5.0 MB"),
        ("junk.eml", b"\x89PNG\r\n\x1a\n" + bytes(500), "no From: address"),
    ]
    for name, data, message in bad:
        at.file_uploader(key="intake_files").set_value([(name, data, "application/octet-stream")])
        run(at)
        at.button(key="intake_upload").click()
        run(at)
        work_off(settings)  # the worker's part: reading the file
        run(at)
        errors = [e.value.replace("\\", "") for e in at.error]  # shown escaped: a file name is never markup
        assert any("Nothing stored" in e and message in e for e in errors), (name, errors)
        assert kb.stats() == before
    kb.close()


def test_a_case_is_worked_from_claim_to_resolution_and_a_stale_edit_is_refused(desk) -> None:
    at, settings = desk
    with Workspace(settings) as ws:
        # The assistant is sure of the category (Email), so choosing another category overrides it.
        case = intake.submit(
            ws, actor=acct(ws, AGENT), title="", body="Outlook keeps asking me for my password again and again."
        )
        assert {s.target: s.value for s in ws.kb.suggestions(case)}["category"] == "Email"
        with ws.kb.write("Emily Carter") as w:  # a lead ranked it first on the phone
            w.update_incident(case, priority="P1")
    as_user(at)
    goto(at, "app_pages/case.py", id=case)
    assert at.subheader[0].value.startswith(f"#{case} ")
    assert "Response due in" in texts(at) and "P1: within 0.5 business hours" in texts(at)  # a P1 just in: 30 minutes
    at.button(key="case_claim").click()
    run(at)
    assert "in progress" in at.text[0].value.lower() or at.text[0].value == "In progress"

    stored = {c.key.removeprefix("decide_") for c in at.get("flex_container") if c.key and c.key.startswith("decide_")}
    assert stored == {"category", "priority", "escalation_level"}
    at.selectbox(key="override_value_category").set_value("Account & Access")
    run(at)
    at.button(key="override_category").click()
    run(at)
    assert any("needs a reason" in e.value for e in at.error)
    at.text_input(key="override_reason_category").input("a locked account, not the mail client")
    at.button(key="override_category").click()
    run(at)
    assert any("Overridden with Account" in c.value for c in at.caption)

    at.selectbox(key="case_move_to").set_value("waiting_vendor")
    run(at)
    # Someone else changes the case while this page shows it: the next edit made here is refused.
    with Workspace(settings) as ws, ws.kb.write("Tom Fischer") as w:
        w.update_incident(case, priority="P4")
    at.button(key="case_move").click()
    run(at)
    assert any("changed by Tom Fischer" in e.value for e in at.error)

    at.button(key="handoff_draft").click()
    run(at)
    assert at.text_area(key="handoff_text").value.startswith(f"# Case #{case} escalated to L2")
    at.button(key="handoff_send").click()
    run(at)
    assert any("Specialist team" in i.value for i in at.info)

    at.text_area(key="resolve_text").input("Removed the stale credentials from Credential Manager.")
    at.text_input(key="resolve_root_cause").input("Stale cached password")
    at.button(key="resolve_submit").click()
    run(at)
    assert at.text[0].value == "Resolved"
    history = at.dataframe[0].value
    assert {"created", "suggestion stored", "handed off", "follows"} <= set(history["what"])
    assert AGENT in set(history["who"])


def test_the_requester_page_shows_cases_and_messages_in_order_and_links_addresses(desk) -> None:
    at, settings = desk
    with Workspace(settings) as ws:
        case = intake.submit(
            ws, actor=acct(ws, AGENT), title="", body="Mail is slow", requester_email="Nao Sato <nao@example.com>"
        )
        requester = ws.kb.incident(case).requester_id
    as_user(at)
    goto(at, "app_pages/requester.py", id=requester)
    assert at.subheader[0].value == "Nao Sato"
    at.text_input(key="link_address").input("nao.sato@example.org")
    at.button(key="link_submit").click()
    run(at)
    assert [t.value for t in at.text][:2] == ["nao@example.com", "nao.sato@example.org"]
    at.button(key="unlink_nao@example.com").click()
    run(at)
    assert at.text[0].value == "nao.sato@example.org"


def test_templates_and_team_are_managed_in_the_app_by_leads_and_admins_only(desk) -> None:
    at, _ = desk
    goto(at, "app_pages/templates.py")  # as an agent
    assert "Leads and admins keep the templates" in texts(at) and not at.get("form")
    goto(at, "app_pages/team.py")
    assert "Only admins change the team." in texts(at) and not at.get("form")

    as_user(at, "Admin")
    goto(at, "app_pages/templates.py")
    at.text_input(key="template_name_None").input("Printer toner (EN)")
    at.text_input(key="template_body_words_None").input("toner, faded")
    at.text_area(key="template_body_None").input("Hello ${requester}, a new toner is on its way.")
    at.button(key="template_save").click()
    run(at)
    assert any("Saved Printer toner" in s.value for s in at.success)
    goto(at, "app_pages/team.py")
    at.text_input(key="team_name").input("Kenji Mori")
    at.text_input(key="team_email").input("kenji.mori@example.com")
    at.text_input(key="team_password").input("first password 1")
    at.button(key="team_add").click()
    run(at)
    assert "Kenji Mori" in set(at.dataframe[0].value["Name"])
    at.selectbox(key="team_pick").set_value("Admin")
    run(at)
    at.selectbox(key="team_new_role").set_value("agent")
    at.button(key="team_save").click()
    run(at)
    assert any("Admin is the last active admin" in e.value for e in at.error)


def test_the_ui_speaks_japanese_when_switched(desk) -> None:
    at, _ = desk
    goto(at, "app_pages/intake.py")
    at.radio(key="lang").set_value("ja")
    run(at)
    assert at.title[0].value == "受付"
    goto(at, "app_pages/queue.py")
    assert at.title[0].value == "キュー"
    assert "新規" in set(at.dataframe[0].value["status"])


def test_markup_in_a_case_is_shown_as_typed_on_the_case_and_requester_pages(desk) -> None:
    at, settings = desk
    with Workspace(settings) as ws:
        case = intake.submit(
            ws,
            actor=acct(ws, AGENT),
            title=HTML_TITLE,
            body="<img src=x onerror=alert(1)>",
            requester_email="x@example.com",
        )
        requester = ws.kb.incident(case).requester_id
    goto(at, "app_pages/case.py", id=case)
    assert at.subheader[0].value == f"#{case} · " + md(HTML_TITLE)
    assert "<img src=x onerror=alert(1)>" in [t.value for t in at.text]  # st.text: never parsed
    goto(at, "app_pages/requester.py", id=requester)
    assert any(md(HTML_TITLE) in m.value for m in at.markdown)
