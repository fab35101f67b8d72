"""Merging a duplicate into its original, on real knowledge bases: what is copied and kept, both histories, the
requester's history, mail that later comes to the duplicate, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages.common import md
from kb import KnowledgeBase, StaleEdit
from pipeline.access import Account, PermissionDenied
from pipeline.desk import casework, intake, merge, people
from pipeline.desk.merge import MergeRefused
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, acct
from tests.test_app import open_app
from tests.test_app_desk import goto, run, texts

KIM, SORA = "kim@example.com", "sora@example.com"


@pytest.fixture
def ws(workspace: Workspace) -> Iterator[Workspace]:
    with workspace.kb.write("test") as w:
        w.add_user("Ana", "agent", email="ana@desk.example")
        w.add_user("Bo", "agent", email="bo@desk.example")
        w.add_user("Lea", "lead", email="lea@desk.example")
    yield workspace


def report(ws: Workspace, title: str, sender: str, message_id: str) -> int:
    """A case filed from a mail, as intake files one (no suggestion model here: none stored)."""
    mail = f"From: {sender}\r\nSubject: {title}\r\nMessage-ID: {message_id}\r\n\r\n{title}: it fails.".encode()
    (case,) = intake.upload(ws, "report.eml", mail, actor=acct(ws, "Ana")).added
    return case


def held_by(ws: Workspace, case: int, name: str) -> int:
    return casework.claim(ws, case, actor=acct(ws, name)).version


def test_a_merge_copies_report_messages_and_files_keeps_both_records_and_logs_it_in_both(ws: Workspace) -> None:
    original = report(ws, "VPN down", KIM, "<one@example.com>")
    duplicate = report(ws, HTML_TITLE, SORA, "<two@example.com>")
    held_by(ws, original, "Bo")
    version = held_by(ws, duplicate, "Ana")
    with ws.kb.write("test") as w:
        w.add_attachment(duplicate, filename="log.txt", content_type="text/plain", data=b"err 809", created_by=SORA)
        w.follow(duplicate, "Lea")
    casework.note(ws, duplicate, "Tried <b>a restart</b>", actor=acct(ws, "Ana"))
    before = ws.kb.messages([duplicate])

    done = merge.merge(ws, duplicate, original, actor=acct(ws, "Ana"), version=version)

    assert (done.messages, done.attachments) == (2, 1)  # the report and the note; the file
    dup = ws.kb.incident(duplicate)
    assert (dup.status, dup.duplicate_of) == ("closed", original)
    assert dup.resolution == f"Merged into case #{original}: the work goes on there."
    assert ws.kb.messages([duplicate]) == before  # the duplicate's own record is whole
    copied = ws.kb.messages([original])
    by_body = {m.body: m for m in copied}
    assert by_body["Tried <b>a restart</b>"].author == "Ana"
    assert by_body["Tried <b>a restart</b>"].at == before[0].at  # who wrote it and when, kept
    assert by_body[f"{HTML_TITLE}: it fails."].author == SORA and by_body[f"{HTML_TITLE}: it fails."].kind == (
        "from_requester"
    )
    origins = ws.kb.copied_messages(original)
    assert set(origins.values()) == {duplicate} and len(origins) == 2
    assert any(f"Case #{duplicate}" in m.body and m.kind == "note" for m in copied)  # marked on the original
    files = ws.kb.attachments(original)
    assert [(f.filename, ws.kb.attachment_bytes(f.sha256)) for f in files] == [("log.txt", b"err 809")]
    assert set(ws.kb.followers(original)) == {"Lea", "Ana"}  # followers and the duplicate's holder carry over
    assert any(e.action == "merged_into" and e.new_value == str(original) for e in ws.kb.events("incident", duplicate))
    assert any(e.action == "merged_from" and e.new_value == str(duplicate) for e in ws.kb.events("incident", original))
    # The requester of the duplicate still finds it, pointing to the original.
    history = people.requester_history(ws, dup.requester_id)
    assert [c.id for c in history.cases] == [duplicate]
    assert f"#{original}" in history.cases[0].resolution


def test_later_mail_to_the_duplicate_lands_on_the_original(ws: Workspace) -> None:
    original = report(ws, "VPN down", KIM, "<one@example.com>")
    duplicate = report(ws, "VPN down too", SORA, "<two@example.com>")
    merge.merge(ws, duplicate, original, actor=acct(ws, "Lea"), version=None)
    by_header = f"From: {SORA}\r\nSubject: still down\r\nIn-Reply-To: <two@example.com>\r\n\r\nstill down".encode()
    by_tag = f"From: {SORA}\r\nSubject: Re: [#{duplicate}] VPN\r\n\r\nand now?".encode()
    for name, mail in (("header.eml", by_header), ("tag.eml", by_tag)):
        filed = intake.upload(ws, name, mail, actor=acct(ws, "Ana"))
        assert filed.messages == [original] and not filed.added
    bodies = [m.body for m in ws.kb.messages([original]) if m.kind == "from_requester"]
    assert "still down" in bodies and "and now?" in bodies


def test_a_target_that_was_merged_is_followed_to_its_original(ws: Workspace) -> None:
    a, b, c, d = (report(ws, f"VPN {n}", KIM, f"<{n}@example.com>") for n in "abcd")
    lead = acct(ws, "Lea")
    merge.merge(ws, b, a, actor=lead, version=None)
    done = merge.merge(ws, c, b, actor=lead, version=None)  # b is merged: c goes to a
    assert done.original.id == a and ws.kb.incident(c).duplicate_of == a
    assert merge.original_of(ws, c) == a
    # Offered as duplicates: the originals they end up in, never the case itself, never a finished one.
    assert merge.candidates(ws, ws.kb.incident(d), [b, c, d]) == [a]
    merge.merge(ws, d, a, actor=lead, version=None)
    casework.move(ws, a, "closed", actor=lead, version=ws.kb.incident(a).version)
    assert merge.candidates(ws, ws.kb.incident(b), [a, d]) == []


@pytest.mark.parametrize(
    "case, into, code",
    [
        ("dup", "dup", "desk_merge_into_itself"),
        ("orig", "dup_merged", "desk_merge_circle"),
        ("dup_merged", "orig", "desk_merge_already_merged"),
        ("dup", "resolved", "desk_merge_original_finished"),
        ("resolved", "orig", "desk_merge_duplicate_finished"),
    ],
)
def test_merges_that_make_no_sense_are_refused_with_nothing_changed(
    ws: Workspace, case: str, into: str, code: str
) -> None:
    ids = {n: report(ws, f"VPN {n}", KIM, f"<{n}@example.com>") for n in ("orig", "dup", "dup_merged", "resolved")}
    lead = acct(ws, "Lea")
    merge.merge(ws, ids["dup_merged"], ids["orig"], actor=lead, version=None)
    casework.move(ws, ids["resolved"], "closed", actor=lead, version=ws.kb.incident(ids["resolved"]).version)
    before = ws.kb.incident(ids[case])
    with pytest.raises(MergeRefused) as refused:
        merge.merge(ws, ids[case], ids[into], actor=lead, version=None)
    assert refused.value.phrase.code == code
    assert ws.kb.incident(ids[case]) == before


def test_only_the_holder_or_a_lead_merges_and_a_stale_view_is_refused(ws: Workspace) -> None:
    original = report(ws, "VPN down", KIM, "<one@example.com>")
    duplicate = report(ws, "VPN down too", SORA, "<two@example.com>")
    seen = held_by(ws, duplicate, "Ana")
    with pytest.raises(PermissionDenied):
        merge.merge(ws, duplicate, original, actor=acct(ws, "Bo"), version=seen)
    with pytest.raises(PermissionDenied):  # not even an unheld case: merging closes someone's report
        merge.merge(ws, original, duplicate, actor=acct(ws, "Bo"), version=None)
    casework.move(ws, duplicate, "waiting_requester", actor=acct(ws, "Ana"), version=seen)
    with pytest.raises(StaleEdit):
        merge.merge(ws, duplicate, original, actor=acct(ws, "Ana"), version=seen)
    assert ws.kb.merge_of(duplicate) is None and ws.kb.messages([original]) == []
    assert merge.merge(ws, duplicate, original, actor=acct(ws, "Lea"), version=None).original.id == original
    assert not merge.may_merge(ws.kb.incident(original), Account(None, "x", "agent"))


def test_merges_are_stored_and_read_back(kb: KnowledgeBase) -> None:
    """Storage on both backends: the merge, the copies and where they came from."""
    with kb.write("test") as w:
        one = w.add_incident(title="VPN", body="down", language="en")
        two = w.add_incident(title="VPN again", body="down", language="en")
        message = w.add_message(two, kind="from_requester", author=KIM, body="<i>help</i>")
    (record,) = kb.messages([two])
    with kb.write("Lea") as w:
        copy = w.copy_message(record, one)
        w.add_merge(two, one)
    assert kb.merge_of(two).original_id == one and kb.merge_of(two).merged_by == "Lea"
    assert kb.merges_of([one, two]) == {two: one}
    assert [m.duplicate_id for m in kb.merged_into(one)] == [two]
    assert kb.copied_messages(one) == {copy: two}
    (copied,) = kb.messages([one])
    assert (copied.body, copied.author, copied.at, copied.mail_id) == ("<i>help</i>", KIM, record.at, None)
    assert copy != message


@pytest.fixture
def app(demo_copy, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppTest, KnowledgeBase]]:
    at = open_app(demo_copy, monkeypatch, user="Emily Carter", role="lead")
    with KnowledgeBase(demo_copy.resolved_database_url) as kb:
        yield at, kb
    st.cache_resource.clear()


def test_the_case_page_offers_the_flagged_original_first_and_merges_into_it(app) -> None:
    at, kb = app
    with kb.write("intake") as w:
        original = w.add_incident(title=HTML_TITLE, body="The VPN drops.", language="en")
        duplicate = w.add_incident(title="VPN drops again", body="Same.", language="en", duplicate_of=original)
    goto(at, "app_pages/case.py", id=duplicate)
    choice = at.radio(key=f"desk_merge_choice_{duplicate}")
    assert choice.value == original and choice.options[0] == f"#{original} · {md(HTML_TITLE)}"
    at.button(key=f"desk_merge_submit_{duplicate}").click()
    run(at)
    assert any(f"Merged into case #{original} by Emily Carter" in i.value for i in at.info)
    assert kb.merge_of(duplicate).original_id == original and kb.incident(duplicate).status == "closed"
    at.button(key=f"desk_merged_open_{duplicate}").click()
    run(at)
    assert f"Merged into this case: #{duplicate}" in texts(at)
    assert at.radio(key=f"desk_merge_choice_{original}").options == ["Another case (give its number)"]
