"""Mail coming in from a real IMAP server (Debian's Dovecot on 127.0.0.1, ``tests/imap_server.py``): filed as
cases or as messages on the case it answers, marked once filed, and what cannot be filed left in the mailbox,
listed for the admins and tried again. Every test has its own mail account on the one server of the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from pipeline import jobs
from pipeline.access import Account, PermissionDenied
from pipeline.channels import inbound
from pipeline.channels.config import Mailbox, MailSettings
from pipeline.desk import intake
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.imap_server import ImapServer, free_port, running_dovecot

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/sbin/dovecot"), reason="needs Debian's dovecot-imapd")

ADMIN = Account.operator("test")
AGENT = Account(id=None, name="Raj Mehta", role="agent")
REQUESTER = "ken.ito@example.com"


@pytest.fixture(scope="session")
def imap() -> Iterator[ImapServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def account(imap: ImapServer) -> tuple[str, str]:
    return imap.add_user()


def mail_settings(imap: ImapServer, user: str, password: str, tmp_path: Path, **box: object) -> MailSettings:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[imap]\ndesk = "{password}"\n')
    mailbox = Mailbox(name="desk", host=imap.host, port=imap.port, security="plain", user=user, **box)
    return MailSettings(mailboxes=[mailbox], secrets_file=secrets)


@pytest.fixture
def ws(settings: Settings, imap: ImapServer, account: tuple[str, str], tmp_path: Path) -> Iterator[Workspace]:
    mail = mail_settings(imap, *account, tmp_path)
    with Workspace(settings.model_copy(update={"mail": mail})) as workspace:
        yield workspace


def poll(ws: Workspace) -> inbound.PollResult:
    (result,) = inbound.poll_due(ws, lock=jobs.queue(ws.settings).huey.lock_task, force=True)
    return result


def message(subject: str, body: str = "It does not work.", *, sender: str = REQUESTER, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ken Ito <{sender}>"
    msg["To"] = "helpdesk@example.com"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def flags(imap: ImapServer, account: tuple[str, str], folder: str = "INBOX") -> list[tuple[bytes, ...]]:
    with imap.client(*account) as c:
        c.select_folder(folder, readonly=True)
        return [tuple(f for f in fs if f != b"\\Recent") for fs in c.get_flags(c.search()).values()]


def test_a_delivered_mail_becomes_a_case_and_is_marked_filed_not_seen(
    ws: Workspace, imap: ImapServer, account: tuple[str, str]
) -> None:
    imap.deliver(*account, message("Printer on floor 3 jams", Message_ID="<first@example.com>"))
    result = poll(ws)
    assert (result.filed, result.left, result.error) == (1, 0, None)
    (case,) = ws.kb.open_incidents()
    assert case.title == "Printer on floor 3 jams" and case.requester_name == "Ken Ito"
    assert ws.kb.events("incident", case.id)[0].actor == "Mailbox desk"
    assert flags(imap, account) == [(inbound.KEYWORD.encode(),)]  # \Seen stays the reader's
    assert poll(ws).filed == 0  # marked: not fetched again


def test_after_move_a_filed_mail_is_moved(
    settings: Settings, imap: ImapServer, account: tuple[str, str], tmp_path: Path
) -> None:
    mail = mail_settings(imap, *account, tmp_path, after="move", move_to="Filed")
    with Workspace(settings.model_copy(update={"mail": mail})) as ws:
        imap.deliver(*account, message("VPN drops", Message_ID="<vpn@example.com>"))
        assert poll(ws).filed == 1
    assert flags(imap, account) == []
    assert flags(imap, account, "Filed") == [(inbound.KEYWORD.encode(),)]


def _case_with_our_reply(ws: Workspace, imap: ImapServer, account: tuple[str, str]) -> int:
    """A case filed from the requester's mail, with a reply on it whose Message-ID is kept, as a sent one is."""
    imap.deliver(*account, message("Outlook asks for my password", Message_ID="<ask@example.com>"))
    poll(ws)
    (case,) = ws.kb.open_incidents()
    with ws.kb.write("Raj Mehta") as w:
        w.add_message(case.id, kind="to_requester", author="Raj Mehta", body="Try again?", mail_id="<r1@desk>")
    return case.id


@pytest.mark.parametrize("header", ["In_Reply_To", "References"])
def test_an_answer_threads_by_its_headers_without_the_tag(
    ws: Workspace, imap: ImapServer, account: tuple[str, str], header: str
) -> None:
    case = _case_with_our_reply(ws, imap, account)
    answers = {header: "<r1@desk>"} if header == "In_Reply_To" else {header: "<other@x> <r1@desk>"}
    imap.deliver(*account, message("Re: your reply", "Still asking.", Message_ID="<a2@example.com>", **answers))
    assert poll(ws).filed == 1
    assert [c.id for c in ws.kb.open_incidents()] == [case]
    answer = ws.kb.messages([case])[-1]
    assert (answer.kind, answer.author, answer.mail_id) == ("from_requester", REQUESTER, "<a2@example.com>")


def test_a_forged_sender_joins_no_case_by_tag_or_headers(
    ws: Workspace, imap: ImapServer, account: tuple[str, str]
) -> None:
    case = _case_with_our_reply(ws, imap, account)
    forged = message(f"Re: [#{case}] close it", sender="mallory@evil.example", In_Reply_To="<r1@desk>")
    imap.deliver(*account, forged)
    assert poll(ws).filed == 1
    other = [c for c in ws.kb.open_incidents() if c.id != case]
    assert len(other) == 1 and len(ws.kb.messages([case])) == 1
    (note,) = ws.kb.messages([other[0].id])
    assert f"#{case}" in note.body and "mallory@evil.example" in note.body


@pytest.mark.parametrize("header", [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"}])
def test_an_auto_reply_is_filed_and_marked_and_a_case_an_automat_opens_is_recorded_as_such(
    ws: Workspace, imap: ImapServer, account: tuple[str, str], header: dict[str, str]
) -> None:
    case = _case_with_our_reply(ws, imap, account)
    imap.deliver(*account, message("Out of office", In_Reply_To="<r1@desk>", Message_ID="<ooo@example.com>", **header))
    assert poll(ws).filed == 1
    assert ws.kb.messages([case])[-1].mail_id == "<ooo@example.com>"
    # An automat's answer on a case is only filed: the requester still hears how their case ends.
    assert not [e for e in ws.kb.events("incident", case) if e.action == "mail_auto_submitted"]
    assert flags(imap, account)[-1] == (inbound.KEYWORD.encode(),)
    # A case an automat opens is recorded as such, so that nothing ever answers it.
    imap.deliver(*account, message("Delivery report", Message_ID="<bounce@example.com>", **header))
    assert poll(ws).filed == 1
    (opened,) = [c.id for c in ws.kb.open_incidents() if c.id != case]
    auto = [e for e in ws.kb.events("incident", opened) if e.action == "mail_auto_submitted"]
    assert [(e.actor, e.new_value) for e in auto] == [("Mailbox desk", "<bounce@example.com>")]


def test_a_malformed_mail_stays_is_listed_and_is_tried_again_until_filed(
    settings: Settings, imap: ImapServer, account: tuple[str, str], tmp_path: Path
) -> None:
    mail = mail_settings(imap, *account, tmp_path)
    imap.deliver(*account, b"Subject: no sender\r\n\r\nwho wrote this?\r\n")
    big = message("Big log", "x" * 20_000, Message_ID="<big@example.com>")
    imap.deliver(*account, big)
    with Workspace(settings.model_copy(update={"mail": mail, "max_unpacked_bytes": 10_000})) as ws:
        assert (poll(ws).left, poll(ws).left) == (2, 2)
        listed = {r.subject: r for r in inbound.unfiled(ws, actor=ADMIN)}
        assert listed["no sender"].reason["code"] == "mail_no_sender" and listed["no sender"].attempts == 2
        assert listed["Big log"].reason["code"] == "mail_too_big" and listed["Big log"].sender == REQUESTER
        assert listed["Big log"].first_seen_at <= listed["Big log"].last_tried_at
        assert ws.kb.open_incidents() == [] and flags(imap, account) == [(), ()]
        with pytest.raises(PermissionDenied):
            inbound.unfiled(ws, actor=AGENT)
        with pytest.raises(PermissionDenied):
            inbound.dismiss(ws, listed["no sender"].id, actor=AGENT)
        inbound.dismiss(ws, listed["no sender"].id, actor=ADMIN)
    # The limit raised, "Try again now" files the big one; the dismissed one stays in the mailbox, unmarked.
    with Workspace(settings.model_copy(update={"mail": mail})) as ws:
        result = inbound.try_again(ws, listed["Big log"].id, actor=ADMIN, lock=jobs.queue(ws.settings).huey.lock_task)
        assert (result.filed, result.left) == (1, 0)
        assert inbound.unfiled(ws, actor=ADMIN) == []
        assert [c.title for c in ws.kb.open_incidents()] == ["Big log"]
    assert flags(imap, account) == [(), (inbound.KEYWORD.encode(),)]


def test_a_mail_filed_but_never_marked_is_filed_once(ws: Workspace, imap: ImapServer, account: tuple[str, str]) -> None:
    with_id = message("Scanner offline", Message_ID="<scan@example.com>")
    without_id = message("Badge reader broken")
    imap.deliver(*account, with_id)
    imap.deliver(*account, without_id)
    with imap.client(*account) as c:  # the worker filed both, then was killed before marking them
        uidvalidity = c.select_folder("INBOX")[b"UIDVALIDITY"]
        for uid, data in c.fetch(c.search(), ["BODY.PEEK[]"]).items():
            key = f"imap:desk:{uidvalidity}:{uid}"
            intake.file_fetched(
                ws,
                "desk",
                data[b"BODY[]"],
                actor=inbound.mailbox_account(ws.settings.mail.mailboxes[0]),
                fallback_key=key,
            )
    result = poll(ws)
    assert (result.filed, result.already_filed) == (0, 2)
    assert sorted(c.title for c in ws.kb.open_incidents()) == ["Badge reader broken", "Scanner offline"]
    assert flags(imap, account) == [(inbound.KEYWORD.encode(),)] * 2


def test_a_wrong_password_or_a_closed_port_says_so_and_loses_nothing(
    settings: Settings, imap: ImapServer, account: tuple[str, str], tmp_path: Path
) -> None:
    imap.deliver(*account, message("Keyboard missing keys"))
    wrong = mail_settings(imap, account[0], "not-the-password", tmp_path)
    with Workspace(settings.model_copy(update={"mail": wrong})) as ws:
        result = poll(ws)
        assert result.error.code == "mail_login_refused" and account[0] in str(result.error)
        (state,) = inbound.mailbox_states(ws, actor=ADMIN)
        assert state.error == result.error and state.polled_at is not None
    closed = wrong.model_copy(update={"mailboxes": [wrong.mailboxes[0].model_copy(update={"port": free_port()})]})
    with Workspace(settings.model_copy(update={"mail": closed})) as ws:
        assert poll(ws).error.code == "mail_connection_refused"
        assert ws.kb.open_incidents() == []
    assert flags(imap, account) == [()]


def test_the_poll_command_files_and_names_a_refused_login(
    settings: Settings, imap: ImapServer, account: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap.deliver(*account, message("Monitor flickers"))
    config = tmp_path / "incident-kb.toml"
    box = f'name = "desk"\nhost = "{imap.host}"\nport = {imap.port}\nsecurity = "plain"\nuser = "{account[0]}"\n'
    config.write_text(f"[mail]\n[[mail.mailboxes]]\n{box}")
    monkeypatch.setenv("INCIDENT_KB_CONFIG", str(config))
    monkeypatch.setenv("INCIDENT_KB_IMAP_DESK_PASSWORD", "wrong")
    args = ["--db", settings.database_url, "mail", "poll"]
    refused = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert refused.exit_code == 1 and "refused the user" in refused.output
    monkeypatch.setenv("INCIDENT_KB_IMAP_DESK_PASSWORD", account[1])
    done = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert done.exit_code == 0 and "desk: 1 filed" in done.output


def test_a_30_mb_attachment_is_not_kept_but_its_mail_is_filed_with_a_note(
    ws: Workspace, imap: ImapServer, account: tuple[str, str]
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = REQUESTER, "helpdesk@example.com", "Crash dump attached"
    msg.set_content("The app crashed, dump attached.")
    msg.add_attachment(os.urandom(30_000_000), maintype="application", subtype="octet-stream", filename="app.dmp")
    msg.add_attachment(b"ERROR 42\n", maintype="text", subtype="plain", filename="app.log")
    imap.deliver(*account, msg.as_bytes())
    assert poll(ws).filed == 1
    (case,) = ws.kb.open_incidents()
    assert [(a.filename, a.size) for a in ws.kb.attachments(case.id)] == [("app.log", 9)]
    (note,) = [m for m in ws.kb.messages([case.id]) if m.kind == "note"]
    assert "app.dmp" in note.body and "30.0 MB" in note.body


def test_the_admins_page_lists_unfiled_mail_and_refuses_others(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_app import open_app

    with Workspace(settings) as ws, ws.kb.write("Mailbox desk") as w:
        reason = {"code": "mail_no_sender", "values": {}}
        row = w.note_unfiled_mail("desk", 7, 3, reason=reason, at=w.now(), sender="x@evil.example", subject="<b>hi</b>")
    at = open_app(settings, monkeypatch, "app_pages/unfiled_mail.py", user="Kim Lee", role="admin")
    table = at.dataframe[-1].value
    assert list(table.iloc[0])[:5] == ["desk", "x@evil.example", "<b>hi</b>", "it has no From: address", 1]
    at.selectbox(key="unfiled_pick").select(row.id).run()
    at.button(key="unfiled_dismiss").click().run()
    assert not at.exception and at.success[-1].value == "Every mail polled so far was filed."
    agent = open_app(settings, monkeypatch, user="Raj Mehta", role="agent")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an agent's navigation
        agent.switch_page("app_pages/unfiled_mail.py")


def test_the_worker_polls_each_mailbox_at_its_interval_and_one_at_a_time(
    ws: Workspace, imap: ImapServer, account: tuple[str, str]
) -> None:
    queue = jobs.queue(ws.settings)
    imap.deliver(*account, message("Wi-Fi slow in room 4"))
    with queue.huey.lock_task("incident_kb.mail.desk"):  # another worker is polling it
        assert inbound.poll_due(ws, lock=queue.huey.lock_task, force=True) == []
    # The worker's periodic task, run as its consumer runs it.
    queue.huey.execute(queue.huey._registry._registry[f"pipeline.jobs.{jobs.MAIL_POLL}"]())
    assert [c.title for c in ws.kb.open_incidents()] == ["Wi-Fi slow in room 4"]
    imap.deliver(*account, message("Wi-Fi slow in room 5"))
    assert inbound.poll_due(ws, lock=queue.huey.lock_task) == []  # polled less than interval_minutes ago
    assert len(ws.kb.open_incidents()) == 1


def test_unfiled_mail_and_threading_are_kept_on_both_backends(make_kb) -> None:
    kb = make_kb()
    place = ("desk", 4_000_000_000, 3_000_000_000)  # unsigned 32-bit, past a signed integer
    for _ in range(2):
        with kb.write("Mailbox desk") as w:
            row = w.note_unfiled_mail(*place, reason={"code": "mail_no_sender", "values": {}}, at=w.now())
    assert (row.attempts, kb.unfiled_mail_at(*place).uidvalidity) == (2, 4_000_000_000)
    with kb.write("Mailbox desk") as w:
        assert w.settle_unfiled_mail(at=w.now(), where=place) is True
        case = w.add_incident(title="t", language="en", import_key="mail:<first@x>")
        w.add_message(case, kind="to_requester", author="a", body="b", mail_id="<reply@desk>")
    assert kb.unfiled_mail() == [] and kb.case_of_mail(["<reply@desk>"]) == case
    assert kb.case_of_mail(["<first@x>"]) == case and kb.case_of_mail(["<none@x>"]) is None


def test_a_mail_with_a_garbled_header_is_left_and_listed_and_the_next_is_filed(
    ws: Workspace, imap: ImapServer, account: tuple[str, str]
) -> None:
    imap.deliver(*account, b"From: a@\r\nMessage-ID: <a@[\r\nSubject: broken\r\n\r\nwho sent this?\r\n")
    imap.deliver(*account, message("Printer jams", Message_ID="<fine@example.com>"))
    result = poll(ws)
    assert (result.filed, result.left, result.error) == (1, 1, None)
    (listed,) = inbound.unfiled(ws, actor=ADMIN)
    assert listed.subject == "broken" and listed.reason["code"] == "mail_garbled"


def test_two_long_message_ids_that_begin_alike_are_two_mails(ws: Workspace) -> None:
    common = "<" + "alert.monitoring.example.com." * 4
    for n in (1, 2):
        data = message(f"Disk {n} full", Message_ID=f"{common}{n}@example.com>")
        report = intake.file_fetched(ws, f"m{n}", data, actor=ADMIN, fallback_key=f"imap:x:{n}")
        assert report.added and not report.already_present
    again = intake.file_fetched(
        ws, "m1", message("Disk 1 full", Message_ID=f"{common}1@example.com>"), actor=ADMIN, fallback_key="imap:x:1"
    )
    assert again.already_present == 1 and len(ws.kb.open_incidents()) == 2
