"""Attachments kept with cases, on both backends: content-addressed (SQLite: files beside the database;
PostgreSQL: ``attachment_blobs``), the same bytes once, downloaded as they came, names only labels, the cap."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from kb import KnowledgeBase
from kb.channel_models import AttachmentBlob
from pipeline.access import Account, PermissionDenied
from pipeline.desk import attachments, handoff, intake
from pipeline.settings import Settings
from pipeline.workspace import Workspace

OPERATOR = Account.operator("test")
HOSTILE = ["../../etc/passwd", "..\\..\\boot.ini", "invoice\u202egpj.exe", "<img src=x onerror=alert(1)>.png", "a\r\nb"]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ws(settings: Settings) -> Iterator[Workspace]:
    with Workspace(settings) as workspace:
        yield workspace


def mail(subject: str, files: list[tuple[str, bytes]], message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = (
        "kim@example.com",
        "desk@example.com",
        subject,
        message_id,
    )
    msg.set_content("See the attached files.")
    for name, data in files:
        # As RFC 2231 parameters: a name with CR/LF then reaches the parser raw, as a hostile sender's would.
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=("utf-8", "", name))
    return msg.as_bytes()


def blobs(kb: KnowledgeBase) -> int:
    """How many contents are stored: files beside SQLite, rows on PostgreSQL."""
    if kb.sqlite_path is not None:
        folder = kb.sqlite_path.with_name(kb.sqlite_path.name + ".files")
        return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
    with kb.engine.connect() as c:
        return c.scalar(select(func.count()).select_from(AttachmentBlob))


def test_the_same_bytes_are_kept_once_and_come_back_as_they_came(ws: Workspace) -> None:
    log, dump = b"ERROR 42 at 09:15\n", bytes(range(256)) * 100
    first = intake.upload(ws, "a.eml", mail("VPN", [("vpn.log", log), ("core.dmp", dump)], "<a@x>"), actor=OPERATOR)
    second = intake.upload(ws, "b.eml", mail("VPN again", [("copy.log", log)], "<b@x>"), actor=OPERATOR)
    (one,), (two,) = first.added, second.added
    kept = attachments.listing(ws, one, actor=OPERATOR) + attachments.listing(ws, two, actor=OPERATOR)
    assert [(a.filename, a.size) for a in kept] == [
        ("vpn.log", len(log)),
        ("core.dmp", len(dump)),
        ("copy.log", len(log)),
    ]
    assert kept[0].sha256 == kept[2].sha256 and blobs(ws.kb) == 2
    assert [attachments.download(ws, a.id, actor=OPERATOR).data for a in kept] == [log, dump, log]
    if ws.kb.sqlite_path is not None:  # named by content, in a folder of its first two hex digits
        assert (
            ws.kb.sqlite_path.parent / f"{ws.kb.sqlite_path.name}.files" / kept[0].sha256[:2] / kept[0].sha256
        ).read_bytes() == log
    assert {"vpn.log", "core.dmp"} <= set(handoff.draft(ws, one, "L2").files)
    with pytest.raises(PermissionDenied):  # a role outside the desk's (none exists yet: the check is the rule)
        attachments.download(ws, kept[0].id, actor=Account(id=None, name="guest", role="requester"))


def test_hostile_names_are_labels_only(ws: Workspace) -> None:
    files = [(name, name.encode()) for name in HOSTILE]
    (case,) = intake.upload(ws, "h.eml", mail("names", files, "<h@x>"), actor=OPERATOR).added
    kept = attachments.listing(ws, case, actor=OPERATOR)
    names = [a.filename for a in kept]
    assert all("/" not in n and "\\" not in n and "\u202e" not in n and "\r" not in n and "\n" not in n for n in names)
    assert names[:3] == ["passwd", "boot.ini", "invoicegpj.exe"]
    # The raw CR/LF broke its part's headers, as it would in any mail reader: its bytes are whatever remained.
    assert [attachments.download(ws, a.id, actor=OPERATOR).data for a in kept[:4]] == [n.encode() for n in HOSTILE[:4]]
    if ws.kb.sqlite_path is not None:  # nothing on disk is named after a label, nothing written outside the folder
        folder = ws.kb.sqlite_path.parent / f"{ws.kb.sqlite_path.name}.files"
        assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == sorted({a.sha256 for a in kept})
        assert not (ws.kb.sqlite_path.parent / "passwd").exists()


def test_a_file_over_the_cap_is_named_in_a_note_and_not_kept(settings: Settings) -> None:
    mail_settings = settings.mail.model_copy(update={"max_attachment_bytes": 1000})
    with Workspace(settings.model_copy(update={"mail": mail_settings})) as ws:
        data = mail("big", [("trace.pcap", b"\x00" * 5000), ("ok.txt", b"fine")], "<c@x>")
        (case,) = intake.upload(ws, "c.eml", data, actor=OPERATOR).added
        assert [a.filename for a in attachments.listing(ws, case, actor=OPERATOR)] == ["ok.txt"]
        (note,) = [m for m in ws.kb.messages([case]) if m.kind == "note"]
        assert "trace.pcap" in note.body and "max_attachment_bytes" in note.body
        assert blobs(ws.kb) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_case_page_offers_each_file_to_save_never_shown(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    from tests.test_app import open_app
    from tests.test_app_desk import goto

    with Workspace(settings) as ws:
        files = [("<script>alert(1)</script>.html", b"<script>alert(1)</script>"), ("shot.png", b"\x89PNG....")]
        (case,) = intake.upload(ws, "p.eml", mail("page", files, "<p@x>"), actor=OPERATOR).added
    at = goto(open_app(settings, monkeypatch, user="Raj Mehta", role="agent"), "app_pages/case.py", id=case)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download", "Download"]
    (line,) = [m.value for m in at.markdown if "script" in m.value and "html" in m.value]
    assert line.startswith("script\\>\\.html")  # the name's folders gone, its markup shown as typed
    assert not at.get("imgs") and not at.get("html")
