"""Notices from the event log, sent through a real SMTP server on 127.0.0.1 (aiosmtpd) and a chat webhook on this
machine: the requester hears of intake, escalation and resolution, in the case's language; agents of assignment,
answers, SLA crossings and hand-offs, as each chose; each once; none for history or for an automat's mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from kb import InvalidValue
from kb.models import utcnow
from pipeline import jobs
from pipeline.access import PermissionDenied
from pipeline.channels import deliver, notice_texts, notices
from pipeline.desk import casework, handoff
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR, Webhook, acct
from tests.smtp_server import SmtpServer, smtp_server
from tests.test_mail_out import REQUESTER, mail_settings


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def ws(settings: Settings, server: SmtpServer, webhook: Webhook) -> Iterator[Workspace]:
    configured = mail_settings(settings, server.port).model_copy(update={"chat_webhook_url": webhook.url})
    webhook.received.clear()
    with Workspace(configured) as workspace:
        with workspace.kb.write("test") as w:
            w.add_user("Ana", "agent", email="ana@desk.example")
            w.add_user("Bo", "agent", email="bo@desk.example")
            w.add_user("Root", "admin", email="root@desk.example")
        notices.notify(workspace)  # the first look: from here on
        yield workspace


def new_case(ws: Workspace, *, language: str = "en", **fields: object) -> int:
    with ws.kb.write("intake") as w:
        person = w.add_requester("Kim Lee", [REQUESTER]) if not w.requester_for_email(REQUESTER) else None
        person = person or w.requester_for_email(REQUESTER)
        return w.add_incident(title="VPN drops", body="often", language=language, requester_id=person, **fields)


def sent_to(server: SmtpServer, address: str) -> list[str]:
    """The subjects of the mails ``address`` received."""
    return [m.message["Subject"].strip() for m in server.received if address in m.rcpt_tos]


def test_intake_and_escalation_reach_the_requester_once_and_are_in_the_case_history(
    ws: Workspace, server: SmtpServer, webhook: Webhook
) -> None:
    case = new_case(ws)
    jobs.outbox(ws)
    casework.claim(ws, case, actor=acct(ws, "Ana"))
    handoff.escalate(ws, case, actor=acct(ws, "Ana"), version=ws.kb.incident(case).version, level="L2", package="x")
    jobs.outbox(ws)
    jobs.outbox(ws)  # nothing twice
    assert sent_to(server, REQUESTER) == [
        f"[#{case}] We received your report: VPN drops",
        f"[#{case}] Your case {case} was passed on: VPN drops",
    ]
    escalated = next(m.message for m in server.received if "passed on" in m.message["Subject"])
    assert "passed to L2 specialist team. We will keep you informed." in escalated.get_content()
    assert escalated["Auto-Submitted"] == "auto-generated"
    # The level's holder is a team, no account: it hears of the hand-off in the chat, by name.
    assert [p["text"] for p in webhook.received if "@Specialist team" in p["text"]]
    history = [(e.action, e.field) for e in ws.kb.events("incident", case)]
    assert ("notice", "acknowledged") in history and ("notice", "escalated") in history


def test_a_case_close_to_its_breach_notifies_its_holder_once(ws: Workspace, server: SmtpServer) -> None:
    # P1: a first reply is due within 30 minutes; with 5 minutes left, less than a quarter of its time is.
    case = new_case(ws, priority="P1", assignee="Bo", created_at=utcnow() - dt.timedelta(minutes=25))
    for _ in range(2):
        jobs.upkeep(ws)
        jobs.outbox(ws)
    assert sent_to(server, "bo@desk.example") == [f"[#{case}] Case {case} is close to its SLA breach: VPN drops"]


def test_assignment_and_the_requesters_answer_reach_the_agent_as_chosen(
    ws: Workspace, server: SmtpServer, webhook: Webhook
) -> None:
    case = new_case(ws)
    casework.claim(ws, case, actor=acct(ws, "Ana"))  # her own doing: no notice to her
    with ws.kb.write("Ana") as w:
        w.update_incident(case, assignee="Bo")
    bo = ws.kb.user("Bo").id
    choice = {("requester_answered", "email"): False, ("requester_answered", "chat"): True}
    notice_texts.choose(ws, bo, choice, actor=acct(ws, "Bo"))
    casework.requester_wrote(ws, case, sender=REQUESTER, subject="Re", body="still down", actor=OPERATOR)
    jobs.outbox(ws)
    assert sent_to(server, "ana@desk.example") == []
    assert sent_to(server, "bo@desk.example") == [f"[#{case}] Case {case} is yours: VPN drops"]
    (posted,) = [p["text"] for p in webhook.received if "@Bo" in p["text"]]
    assert f"The requester answered on case {case}" in posted


def test_a_person_changes_only_their_own_choices_and_only_known_ones(ws: Workspace) -> None:
    bo = ws.kb.user("Bo").id
    with pytest.raises(PermissionDenied):
        notice_texts.choose(ws, bo, {("assigned", "email"): False}, actor=acct(ws, "Ana"))
    with pytest.raises(PermissionDenied):
        notice_texts.choose(ws, bo, {("assigned", "email"): False}, actor=OPERATOR)
    with pytest.raises(InvalidValue):
        notice_texts.choose(ws, bo, {("acknowledged", "email"): False}, actor=acct(ws, "Bo"))
    assert notice_texts.choices(ws, bo)["assigned", "email"] is True


def test_a_japanese_case_gets_the_japanese_wording_and_an_admins_edit_is_used(
    ws: Workspace, server: SmtpServer
) -> None:
    with pytest.raises(PermissionDenied):
        notice_texts.save_wording(ws, "acknowledged", "en", subject="x", body="y", actor=acct(ws, "Ana"))
    hostile = "${title} {0} {__class__} $$ ${nope} <b>x</b>\r\nBcc: evil@attacker.example"
    notice_texts.save_wording(ws, "acknowledged", "en", subject=hostile, body="Number ${id}.", actor=acct(ws, "Root"))
    ja_case = new_case(ws, language="ja")
    en_case = new_case(ws)
    jobs.outbox(ws)
    subjects = sent_to(server, REQUESTER)
    assert subjects[0] == f"[#{ja_case}] お問い合わせを受け付けました: VPN drops"
    assert subjects[1] == f"[#{en_case}] VPN drops {{0}} {{__class__}} $ ${{nope}} <b>x</b> Bcc: evil@attacker.example"
    assert all(set(m.rcpt_tos) == {REQUESTER} and "Bcc" not in m.message for m in server.received)
    assert server.received[1].message.get_content().strip() == f"Number {en_case}."
    notice_texts.reset_wording(ws, "acknowledged", "en", actor=acct(ws, "Root"))
    assert notice_texts.wordings(ws)["acknowledged", "en"].edited_by is None


def test_no_requester_notice_for_a_mail_an_automat_sent_nor_for_an_old_report(
    ws: Workspace, server: SmtpServer
) -> None:
    case = new_case(ws)
    with ws.kb.write("mail") as w:
        w.record_event("incident", case, notices.AUTO_SUBMITTED)
    new_case(ws, created_at=utcnow() - dt.timedelta(days=90))  # imported from an old system
    jobs.outbox(ws)
    assert server.received == []


def test_the_demos_history_sends_nothing(demo_copy: Settings, server: SmtpServer) -> None:
    with Workspace(mail_settings(demo_copy, server.port)) as ws:
        assert notices.notify(ws) == [] and notices.notify(ws) == []
        assert deliver.deliver(ws) == [] and server.received == []
        assert int(ws.kb.meta(notices.CURSOR)) == ws.kb.newest_event_id()


def test_a_hand_off_to_a_person_reaches_them_as_a_hand_off_only(ws: Workspace, server: SmtpServer) -> None:
    case = new_case(ws)
    casework.claim(ws, case, actor=acct(ws, "Ana"))
    version = ws.kb.incident(case).version
    handoff.escalate(ws, case, actor=acct(ws, "Ana"), version=version, level="L1", package="x", holder="Bo")
    jobs.outbox(ws)
    assert sent_to(server, "bo@desk.example") == [f"[#{case}] Case {case} was handed to L1 senior helpdesk: VPN drops"]


def test_an_event_that_lands_behind_the_cursor_is_still_noticed_once(ws: Workspace, server: SmtpServer) -> None:
    """On PostgreSQL a long transaction's event can commit after the cursor passed its id: the look back finds it."""
    case = new_case(ws)
    with ws.kb.write("test") as w:  # the cursor already past the case's events, as a later commit leaves it
        w.set_meta(notices.CURSOR, str(ws.kb.newest_event_id()))
    jobs.outbox(ws)
    jobs.outbox(ws)
    assert sent_to(server, REQUESTER) == [f"[#{case}] We received your report: VPN drops"]


def test_one_address_no_mail_can_carry_holds_up_no_other(ws: Workspace, server: SmtpServer) -> None:
    with ws.kb.write("intake") as w:
        odd = w.add_requester("Odd", ["a..b@example.com"])
        w.add_incident(title="From an odd address", body="x", language="en", requester_id=odd)
    case = new_case(ws)
    ended = jobs.outbox(ws)
    assert sent_to(server, REQUESTER) == [f"[#{case}] We received your report: VPN drops"]
    (refused,) = [d for d in ended if d.recipient == "a..b@example.com"]
    assert refused.status == "pending" and refused.error["code"] == "out_bad_address"
