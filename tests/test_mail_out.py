"""Replies by SMTP, against a real SMTP server on 127.0.0.1 (aiosmtpd): an agent's reply arrives with the case tag
and its Message-ID kept, as plain text; a refusing or stopped server leaves it unsent and tried again until it
accepts; hostile subjects cannot add headers; two senders at once send each mail once. The deliveries' storage
is tested on both backends."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import KnowledgeBase, NewDelivery
from kb.models import utcnow
from pipeline.access import Account, PermissionDenied
from pipeline.channels import deliver as outbound
from pipeline.desk import casework
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR, acct
from tests.smtp_server import PASSWORD, USER, SmtpServer, free_port, smtp_server
from tests.test_app import open_app
from tests.test_app_desk import goto, run, texts

REQUESTER = "kim@example.com"
THEIR_MAIL = "<first-report@example.com>"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def mail_settings(settings: Settings, port: int, **smtp: object) -> Settings:
    """The test's settings with an SMTP server on this machine (plain: no TLS, allowed to 127.0.0.1 only)."""
    server = {"host": "127.0.0.1", "port": port, "security": "plain", "from_address": "help@desk.example"} | smtp
    return settings.model_copy(update={"mail": settings.mail.model_validate({"smtp": server, "retry_minutes": [1, 5]})})


def new_case(ws: Workspace, *, title: str = "VPN drops", requester: str = "Kim Lee") -> int:
    """A case of a requester with an address, who wrote once by mail; and an agent, Ana."""
    with ws.kb.write("test") as w:
        person = w.add_requester(requester, [REQUESTER])
        case = w.add_incident(title=title, body="every 10 minutes", language="en", requester_id=person)
        if ws.kb.credentials("Ana") is None:
            w.add_user("Ana", "agent", email="ana@desk.example")
    casework.requester_wrote(
        ws, case, sender=REQUESTER, subject="VPN", body="still down", actor=OPERATOR, mail_id=THEIR_MAIL
    )
    return case


def reply(ws: Workspace, case: int, body: str = "Please restart the client.", subject: str = "") -> int:
    casework.reply(ws, case, actor=acct(ws, "Ana"), subject=subject, body=body, version=None)
    return [m for m in ws.kb.messages([case]) if m.kind == "to_requester"][-1].id


def state(ws: Workspace, case: int, message: int) -> outbound.ReplyState:
    return outbound.reply_states(ws, casework.case_file(ws, case))[message]


def test_an_agents_reply_arrives_tagged_threaded_and_as_plain_text(settings: Settings, server: SmtpServer) -> None:
    with Workspace(mail_settings(settings, server.port)) as ws:
        case = new_case(ws)
        message = reply(ws, case, body="Run <script>alert(1)</script> **now**\n\nAna")
        assert state(ws, case, message).state == "waiting" and not server.received  # written, not yet sent
        (sent,) = outbound.deliver(ws)
        assert sent.status == "sent" and outbound.deliver(ws) == []  # once
        (mail,) = server.received
        assert mail.rcpt_tos == (REQUESTER,) and mail.mail_from == "help@desk.example"
        assert mail.message["Subject"] == f"Re: [#{case}] VPN drops"
        stored = next(m for m in ws.kb.messages([case]) if m.id == message)
        assert mail.message["Message-ID"] == stored.mail_id and stored.mail_id.endswith("@desk.example>")
        assert mail.message["In-Reply-To"] == THEIR_MAIL and THEIR_MAIL in mail.message["References"]
        assert mail.message.get_content_type() == "text/plain" and not mail.message.is_multipart()
        assert "<script>alert(1)</script> **now**" in mail.message.get_content()
        assert "Auto-Submitted" not in mail.message  # a person's reply, which an auto-reply may answer
        now = state(ws, case, message)
        assert now.state == "sent" and now.at == stored.sent_at == sent.sent_at
        history = ws.kb.events("incident", case)
        assert any(e.field == "message.sent_at" and e.actor == outbound.SENDER for e in history)


def test_a_refusing_server_leaves_the_reply_unsent_and_it_is_sent_once_accepted(
    settings: Settings, server: SmtpServer
) -> None:
    with Workspace(mail_settings(settings, server.port)) as ws:
        case = new_case(ws)
        message = reply(ws, case)
        server.refusing = True
        start = utcnow()
        (refused,) = outbound.deliver(ws, now=start)
        shown = state(ws, case, message)
        assert refused.status == "pending" and refused.attempts == 1
        assert shown.state == "refused" and shown.at == start + dt.timedelta(minutes=1)
        assert shown.why.code == "out_smtp_refused" and shown.why.values["code"] == 554
        assert "Not today" in str(shown.why)
        assert outbound.deliver(ws, now=start) == []  # not due before its next try
        server.refusing = False
        (sent,) = outbound.deliver(ws, now=start + dt.timedelta(minutes=2))
        assert sent.status == "sent" and len(server.received) == 1
        assert state(ws, case, message).state == "sent"


def test_a_stopped_server_fails_the_reply_after_its_tries_and_it_can_be_sent_again(
    settings: Settings, server: SmtpServer
) -> None:
    stopped = free_port()  # nothing listens there
    with Workspace(mail_settings(settings, stopped)) as ws:
        case = new_case(ws)
        message = reply(ws, case)
        start = utcnow()
        for minutes in (0, 2, 10):  # the first try, and one after each wait (1, then 5 minutes)
            outbound.deliver(ws, now=start + dt.timedelta(minutes=minutes))
        shown = state(ws, case, message)
        assert shown.state == "failed" and shown.why.code == "out_smtp_unreachable"
        assert ws.kb.delivery(shown.delivery_id).attempts == 3
        assert next(m for m in ws.kb.messages([case]) if m.id == message).sent_at is None
        with pytest.raises(PermissionDenied):
            outbound.send_again(ws, shown.delivery_id, actor=Account(id=None, name="Viewer", role="viewer"))
        outbound.send_again(ws, shown.delivery_id, actor=acct(ws, "Ana"))
        with pytest.raises(outbound.DeliveryError):  # pending now, not failed
            outbound.send_again(ws, shown.delivery_id, actor=acct(ws, "Ana"))
    with Workspace(mail_settings(settings, server.port)) as ws:  # the server is back (here: the right one)
        (sent,) = outbound.deliver(ws)
        assert sent.status == "sent" and state(ws, case, message).state == "sent"
        assert len(server.received) == 1


def test_line_breaks_in_a_subject_title_or_name_never_make_headers(settings: Settings, server: SmtpServer) -> None:
    with Workspace(mail_settings(settings, server.port, from_name="Help\r\nBcc: evil@attacker.example")) as ws:
        case = new_case(ws, title="VPN\r\nBcc: evil@attacker.example\r\n\r\n<b>body</b>")
        reply(ws, case)
        reply(ws, case, subject="Hi\nX-Injected: yes\r\nCc: evil@attacker.example")
        outbound.deliver(ws)
    assert len(server.received) == 2
    for mail in server.received:
        assert mail.rcpt_tos == (REQUESTER,)
        assert not {"Bcc", "Cc", "X-Injected"} & set(mail.message.keys())
        assert "\n" not in mail.message["Subject"] and "\n" not in mail.message["From"]
    assert server.received[0].message["Subject"] == f"Re: [#{case}] VPN Bcc: evil@attacker.example <b>body</b>"


def test_a_reply_is_sent_after_signing_in_over_starttls(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tls_folder=tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_file))  # trust the throwaway certificate
        tls = mail_settings(settings, server.port, security="starttls", user=USER)
        with Workspace(tls) as ws:
            case = new_case(ws)
            message = reply(ws, case)
            monkeypatch.setenv("INCIDENT_KB_SMTP_PASSWORD", "wrong")
            outbound.deliver(ws)
            why = state(ws, case, message).why
            assert why.code == "out_smtp_refused" and why.values["code"] == 535 and not server.received
            monkeypatch.setenv("INCIDENT_KB_SMTP_PASSWORD", PASSWORD)
            outbound.deliver(ws, now=utcnow() + dt.timedelta(minutes=2))
        assert len(server.received) == 1 and state_sent(tls, case, message)


def state_sent(settings: Settings, case: int, message: int) -> bool:
    with Workspace(settings) as ws:
        return state(ws, case, message).state == "sent"


def test_two_senders_at_once_send_each_reply_once(settings: Settings, server: SmtpServer) -> None:
    configured = mail_settings(settings, server.port)
    with Workspace(configured) as ws:
        case = new_case(ws)
        for n in range(6):
            reply(ws, case, body=f"reply {n}")
    workers = [Workspace(configured), Workspace(configured)]
    start = threading.Barrier(2)

    def run(ws: Workspace) -> None:
        start.wait()
        outbound.deliver(ws)

    threads = [threading.Thread(target=run, args=(ws,)) for ws in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ws in workers:
        ws.close()
    assert sorted(m.message.get_content().strip() for m in server.received) == [f"reply {n}" for n in range(6)]


def test_without_an_smtp_server_a_reply_is_kept_as_not_sent(workspace: Workspace) -> None:
    case = new_case(workspace)
    message = reply(workspace, case)
    shown = state(workspace, case, message)
    assert shown.state == "not_sent" and shown.why.code == "out_no_smtp"
    assert workspace.kb.deliveries(case) == [] and outbound.deliver(workspace) == []


def test_a_replayed_reply_is_recorded_as_sent_then_and_sends_nothing(settings: Settings, server: SmtpServer) -> None:
    with Workspace(mail_settings(settings, server.port)) as ws:
        case = new_case(ws)
        then = utcnow() - dt.timedelta(days=30)
        casework.reply(ws, case, actor=acct(ws, "Ana"), subject="", body="Done.", version=None, at=then)
        assert outbound.deliver(ws) == [] and not server.received
        (replied,) = [m for m in ws.kb.messages([case]) if m.kind == "to_requester"]
        assert replied.sent_at == then


# -- storage, on both backends --------------------------------------------------------------------------------------


def _new(key: str = "reply:1") -> NewDelivery:
    return NewDelivery(key=key, channel="email", purpose="reply", recipient=REQUESTER, subject="s", body="b")


def test_a_delivery_is_added_once_per_key(kb: KnowledgeBase) -> None:
    with kb.write("test") as w:
        first, added = w.add_delivery(_new())
        again, added_again = w.add_delivery(_new())
    other = NewDelivery(key="reply:1", channel="chat", purpose="other", recipient="x", subject="", body="")
    with kb.write("test") as w:
        later, added_later = w.add_delivery(other)
    assert added and not added_again and not added_later
    assert first.id == again.id == later.id and later.channel == "email"
    assert [d.id for d in kb.due_deliveries(utcnow())] == [first.id]


def test_of_two_takers_of_a_delivery_one_takes_it_and_refusals_end_in_failure(kb: KnowledgeBase) -> None:
    now = utcnow()
    with kb.write("test") as w:
        seen, _ = w.add_delivery(_new())
    assert kb.due_deliveries(now) == [seen]
    with kb.write("a") as w:
        assert w.take_delivery(seen, until=now + dt.timedelta(minutes=10))
    with kb.write("b") as w:  # read before the first took it: its attempts no longer match
        assert not w.take_delivery(seen, until=now + dt.timedelta(minutes=10))
    assert kb.due_deliveries(now) == []  # kept off until the lease ends
    with kb.write("a") as w:
        refused = w.delivery_refused(seen.id, error={"code": "x", "values": {}}, next_try_at=now)
        assert not w.retry_delivery(seen.id, at=now)  # only a failed one is sent again
    assert refused.status == "pending" and refused.attempts == 1 and kb.due_deliveries(now) == [refused]
    with kb.write("a") as w:
        failed = w.delivery_refused(seen.id, error={"code": "x", "values": {}}, next_try_at=None)
    assert failed.status == "failed" and kb.due_deliveries(now) == []
    with kb.write("a") as w:
        assert w.retry_delivery(seen.id, at=now)
    again = kb.delivery(seen.id)
    assert again.status == "pending" and again.attempts == 0 and kb.due_deliveries(now) == [again]


def test_the_case_page_shows_what_became_of_each_reply_and_sends_a_failed_one_again(
    demo_copy: Settings, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = {"HOST": "127.0.0.1", "PORT": str(free_port()), "SECURITY": "plain", "FROM_ADDRESS": "help@desk.example"}
    for name, value in smtp.items():  # the app's server, as a team sets it: nothing listens there yet
        monkeypatch.setenv(f"INCIDENT_KB_MAIL__SMTP__{name}", value)
    monkeypatch.setenv("INCIDENT_KB_MAIL__RETRY_MINUTES", "[1]")
    at = open_app(demo_copy, monkeypatch, user="Ana")
    with Workspace(Settings()) as ws:
        case = new_case(ws)
    goto(at, "app_pages/case.py", id=case)
    at.text_area(key="reply_body").input("Please <b>restart</b> the client.")
    run(at)
    at.button(key="reply_send").click()
    run(at)
    assert "Waiting to be sent" in texts(at)
    start = utcnow()
    with Workspace(Settings()) as ws:
        outbound.deliver(ws, now=start)
    run(at)
    assert "Not sent yet" in texts(at) and "cannot reach the mail server" in texts(at)
    with Workspace(Settings()) as ws:
        outbound.deliver(ws, now=start + dt.timedelta(minutes=2))
    run(at)
    assert "Sending failed" in texts(at)
    (again,) = [b for b in at.button if b.key and b.key.startswith("case_send_again_")]
    again.click()
    run(at)
    monkeypatch.setenv("INCIDENT_KB_MAIL__SMTP__PORT", str(server.port))  # the server is up
    with Workspace(Settings()) as ws:
        (sent,) = outbound.deliver(ws)
    run(at)
    assert sent.status == "sent" and "Sent " in texts(at)
    assert server.received[0].message.get_content().strip() == "Please <b>restart</b> the client."
