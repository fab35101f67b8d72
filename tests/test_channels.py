"""The issue's round trip through real servers on 127.0.0.1: a mail delivered to the IMAP server (Dovecot) becomes
a case and the requester is told its number; an agent's reply, sent by the worker's task at once, arrives at the
SMTP server (aiosmtpd); the requester's answer to it, without the case tag, lands on the same case by its headers;
escalating tells the requester the case went to the specialist team. Each mail once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import jobs
from pipeline.channels import inbound
from pipeline.channels.config import MailSettings
from pipeline.desk import casework, handoff
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import acct
from tests.imap_server import ImapServer
from tests.smtp_server import SmtpServer, smtp_server
from tests.test_mail_in import REQUESTER, imap, mail_settings, message  # noqa: F401 (the IMAP server fixture)

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dovecot"), reason="needs Debian's dovecot-imapd")


@pytest.fixture
def desk(
    settings: Settings,
    imap: ImapServer,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> Iterator[tuple[Workspace, ImapServer, tuple, SmtpServer]]:
    account = imap.add_user()
    with smtp_server() as smtp:
        smtp_at = {"host": "127.0.0.1", "port": smtp.port, "security": "plain", "from_address": "help@desk.example"}
        mail = MailSettings.model_validate({**mail_settings(imap, *account, tmp_path).model_dump(), "smtp": smtp_at})
        with Workspace(settings.model_copy(update={"mail": mail})) as ws:
            with ws.kb.write("test") as w:
                w.add_user("Ana", "agent", email="ana@desk.example")
            yield ws, imap, account, smtp


def worker_minute(ws: Workspace) -> None:
    """What the worker's periodic tasks do in a minute: poll the mailboxes, make the notices and send."""
    inbound.poll_due(ws, lock=jobs.queue(ws.settings).huey.lock_task, force=True)
    jobs.outbox(ws)


def queued_tasks_run(ws: Workspace) -> int:
    """Run what was put in the worker's queue, as the worker would; how many tasks."""
    huey = jobs.queue(ws.settings).huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def test_a_mail_becomes_a_case_whose_reply_and_answer_thread_and_whose_escalation_is_told(desk) -> None:
    ws, imap, account, smtp = desk  # noqa: F811
    jobs.outbox(ws)  # the worker's first minute: notices start from now
    imap.deliver(*account, message("VPN error 809 since this morning", Message_ID="<vpn809@example.com>"))
    worker_minute(ws)
    (case,) = ws.kb.open_incidents()
    (acknowledgment,) = smtp.received
    assert acknowledgment.rcpt_tos == (REQUESTER,) and f"[#{case.id}]" in acknowledgment.message["Subject"]

    agent = acct(ws, "Ana")
    case = casework.claim(ws, case.id, actor=agent, version=case.version)
    jobs.reply(ws, case.id, actor=agent, subject="", body="Please restart the VPN client.", version=case.version)
    assert queued_tasks_run(ws) == 1  # sent now, not within the minute
    reply = smtp.received[-1].message
    assert f"[#{case.id}]" in reply["Subject"] and reply["In-Reply-To"] == "<vpn809@example.com>"
    assert "Please restart the VPN client." in reply.get_content()
    (ours,) = [m for m in ws.kb.messages([case.id]) if m.kind == "to_requester"]
    assert ours.mail_id == reply["Message-ID"] and ours.sent_at is not None

    answer = message(
        "Re: your answer",
        "Restarted, still error 809.",
        Message_ID="<answer@example.com>",
        In_Reply_To=reply["Message-ID"],
        References=f"<vpn809@example.com> {reply['Message-ID']}",
    )
    imap.deliver(*account, answer)
    worker_minute(ws)
    assert [c.id for c in ws.kb.open_incidents()] == [case.id]  # no new case: the answer joined this one
    last = ws.kb.messages([case.id])[-1]
    assert (last.kind, last.mail_id, last.body) == (
        "from_requester",
        "<answer@example.com>",
        "Restarted, still error 809.",
    )

    before = len(smtp.received)
    case = ws.kb.incident(case.id)
    handoff.escalate(ws, case.id, actor=agent, version=case.version, level="L2", package="VPN 809 after restart")
    worker_minute(ws)
    told = [r.message for r in smtp.received[before:] if r.rcpt_tos == (REQUESTER,)]
    assert len(told) == 1 and "specialist team" in told[0].get_content().lower()
    sent = len(smtp.received)
    worker_minute(ws)
    assert len(smtp.received) == sent  # nothing sent twice
    assert [r.message["Message-ID"] for r in smtp.received].count(reply["Message-ID"]) == 1
