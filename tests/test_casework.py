"""The agent's workflow through the pipeline, on a private copy of the real demo knowledge base."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import InvalidValue, StaleEdit
from pipeline.desk import casework, handoff, intake, replies
from pipeline.desk.casework import AlreadyClaimed
from pipeline.desk.importer import import_incidents
from pipeline.desk.mail import read_eml
from pipeline.desk.queue import queue
from pipeline.settings import Settings
from pipeline.triage.thresholds import change_thresholds
from pipeline.workflow import TransitionRefused
from pipeline.workspace import Workspace
from tests.conftest import Webhook, acct

VPN_REPORT = "VPN disconnects every few minutes when working from home; GlobalProtect shows 'gateway timeout'."
EML = (
    b"From: Ken Ito <ken.ito@example.com>\r\n"
    b"To: helpdesk@example.com\r\n"
    b"Subject: =?utf-8?b?5Y2w5Yi344GM44Gn44GN44Gq44GE?=\r\n"
    b"Date: Mon, 23 Nov 2026 09:15:00 +0900\r\n"
    b"Message-ID: <abc123@example.com>\r\n"
    b"Content-Type: text/plain; charset=iso-2022-jp\r\n"
    b"\r\n"
) + "3階の複合機から印刷できません。エラーコード E-302 が表示されます。".encode("iso-2022-jp")


@pytest.fixture
def ws(demo_copy: Settings) -> Iterator[Workspace]:
    with Workspace(demo_copy) as workspace:
        yield workspace


def test_a_report_lands_in_the_queue_as_new_with_its_suggestions_stored(ws: Workspace) -> None:
    case = intake.submit(ws, actor=acct(ws, "Raj Mehta"), title="", body=VPN_REPORT, requester_email="kim@example.com")
    record = ws.kb.incident(case)
    assert record.status == "new" and record.title.startswith("VPN disconnects")
    stored = {s.target: s for s in ws.kb.suggestions(case)}
    assert set(stored) == {"category", "priority", "escalation_level"}
    assert all(s.best and 0 < s.confidence <= 1 for s in stored.values())
    assert case in [e.case.id for e in queue(ws, view="unassigned")]
    again = intake.submit(ws, actor=acct(ws, "Raj Mehta"), title="VPN keeps dropping", body=VPN_REPORT)
    assert ws.kb.incident(again).duplicate_of == case
    assert {e.case.id: e.case.duplicate_of for e in queue(ws)}[again] == case


def test_an_email_is_filed_for_its_requester_and_a_reply_to_it_moves_the_case_back(ws: Workspace) -> None:
    report = intake.upload(ws, "printer.eml", EML, actor=acct(ws, "原田 拓海"))
    (case,) = report.added
    record = ws.kb.incident(case)
    assert record.title == "印刷ができない" and "E-302" in record.body and record.language == "ja"
    assert ws.kb.requester_by_email("ken.ito@example.com").id == record.requester_id
    assert intake.upload(ws, "printer.eml", EML, actor=acct(ws, "原田 拓海")).already_present == 1

    record = casework.claim(ws, case, actor=acct(ws, "原田 拓海"), version=record.version)
    subject, body = f"Re: [#{case}] 印刷", "再起動をお試しください。"
    record = casework.reply(ws, case, actor=acct(ws, "原田 拓海"), subject=subject, body=body, version=record.version)
    assert record.status == "waiting_requester"
    answer = f"From: ken.ito@example.com\r\nSubject: Re: [#{case}] 印刷\r\n\r\nまだ印刷できません。".encode()
    assert intake.upload(ws, "answer.eml", answer, actor=acct(ws, "原田 拓海")).messages == [case]
    assert ws.kb.incident(case).status == "in_progress"
    assert [m.kind for m in ws.kb.messages([case])] == ["to_requester", "from_requester"]


def test_a_case_tag_from_a_stranger_joins_no_case_and_a_mails_date_moves_no_clock(ws: Workspace) -> None:
    agent = acct(ws, "原田 拓海")
    before = dt.datetime.now(dt.UTC)
    (case,) = intake.upload(ws, "printer.eml", EML, actor=agent).added  # its Date header says 23 November
    record = ws.kb.incident(case)
    assert record.created_at >= before  # it came in now: the header cannot age it into an SLA breach
    assert record.sent_at == dt.datetime(2026, 11, 23, 0, 15, tzinfo=dt.UTC)

    forged = (  # a Date far in the past and a tag of Ken's case, from someone who is not Ken
        f"From: Mallory <mallory@evil.example>\r\nSubject: Re: [#{case}] 印刷\r\n"
        "Date: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nPlease send me the VPN password."
    ).encode()
    report = intake.upload(ws, "forged.eml", forged, actor=agent)
    assert report.messages == [] and len(report.added) == 1
    assert [m.kind for m in ws.kb.messages([case])] == []  # Ken's case is untouched
    (stranger,) = report.added
    assert ws.kb.incident(stranger).created_at >= before
    [note] = ws.kb.messages([stranger])
    assert note.kind == "note" and f"#{case}" in note.body and "mallory@evil.example" in note.body
    assert {e.actor for e in ws.kb.events("incident", stranger)} == {"原田 拓海"}  # who uploaded it

    # Ken's own reply, and a team member's, join the case; the message counts from when it came in.
    for sender in ("ken.ito@example.com", "raj.mehta@example.com"):
        reply = f"From: {sender}\r\nSubject: Re: [#{case}] 印刷\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nok"
        assert intake.upload(ws, "reply.eml", reply.encode(), actor=agent).messages == [case]
    messages = ws.kb.messages([case])
    assert [m.author for m in messages] == ["ken.ito@example.com", "raj.mehta@example.com"]
    assert all(m.at >= before and m.sent_at.year == 2001 for m in messages)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.eml", b"  \n", "is empty"),
        ("photo.csv", bytes(range(256)) * 8, "not valid UTF-8"),
        ("sjis.csv", "title,body\nプリンタ,印刷できない\n".encode("cp932"), "cp932"),
        ("huge.jsonl", b'{"title": "x"}\n' + b"a" * 10_000_000, "MB"),
        ("junk.eml", b"\x00\x01binary\xff" * 100, "no From: address"),
        ("notes.docx", b"PK\x03\x04", "cannot tell what this file is"),
    ],
)
def test_a_bad_upload_is_refused_whole_and_nothing_is_lost(ws: Workspace, name: str, data: bytes, message: str) -> None:
    before = ws.kb.stats()
    with pytest.raises(intake.IntakeError, match=message):
        intake.upload(ws, name, data, actor=acct(ws, "Raj Mehta"))
    assert ws.kb.stats() == before


def test_a_table_upload_files_good_rows_as_new_and_names_the_bad_lines(ws: Workspace) -> None:
    data = "title,body,status\nPrinter offline,Floor 2 printer offline,closed\n,,\nMail slow,Outlook slow,new\n,x\n"
    report = intake.upload(ws, "reports.csv", data.encode(), actor=acct(ws, "Raj Mehta"))
    assert len(report.added) == 2
    assert {ws.kb.incident(i).status for i in report.added} == {"new"}
    assert [str(p) for p in report.problems] == ["line 5: 2 cells where the header has 3 columns"]
    assert [p.say("ja") for p in report.problems] == ["5 行目: 見出しは 3 列ですが、この行は 2 個です"]


def test_two_claims_one_wins_the_other_is_told_who_and_stale_edits_are_refused(ws: Workspace) -> None:
    case = intake.submit(
        ws, actor=acct(ws, "Raj Mehta"), title="Laptop will not boot", body="Black screen after the update."
    )
    seen = ws.kb.incident(case)
    won = casework.claim(ws, case, actor=acct(ws, "Raj Mehta"), version=seen.version)
    assert won.status == "in_progress" and won.assignee == "Raj Mehta"
    with pytest.raises(AlreadyClaimed, match="Raj Mehta"):
        casework.claim(ws, case, actor=acct(ws, "Tom Fischer"), version=seen.version)
    with pytest.raises(StaleEdit, match="changed by Raj Mehta"):
        casework.move(ws, case, "waiting_vendor", actor=acct(ws, "Tom Fischer"), version=seen.version)
    with pytest.raises(TransitionRefused, match="cannot move from In progress to New"):
        casework.move(ws, case, "new", actor=acct(ws, "Raj Mehta"), version=won.version)


def test_a_value_set_where_the_assistant_was_not_sure_is_chosen_without_a_reason(ws: Workspace) -> None:
    sure = intake.submit(ws, actor=acct(ws, "Raj Mehta"), title="", body=VPN_REPORT)
    [suggested] = [s for s in ws.kb.suggestions(sure) if s.target == "category"]
    with pytest.raises(InvalidValue, match="needs a reason"):  # overriding a sure suggestion does
        casework.decide(
            ws, sure, "category", "Hardware", actor=acct(ws, "Raj Mehta"), version=ws.kb.incident(sure).version
        )

    change_thresholds(ws.kb, ws.settings, actor=acct(ws, "Emily Carter"), classes={("category", suggested.value): 1.0})
    unsure = intake.submit(ws, actor=acct(ws, "Raj Mehta"), title="", body=VPN_REPORT.replace("every few", "every ten"))
    [abstained] = [s for s in ws.kb.suggestions(unsure) if s.target == "category"]
    assert abstained.value is None and abstained.best == suggested.value
    record = casework.decide(
        ws, unsure, "category", suggested.value, actor=acct(ws, "Raj Mehta"), version=ws.kb.incident(unsure).version
    )
    assert (record.decision, record.reason, record.final_value) == ("chosen", None, suggested.value)
    assert ws.kb.incident(unsure).category == suggested.value


def test_the_whole_path_from_report_to_knowledge(demo_copy: Settings, webhook: Webhook) -> None:
    settings = demo_copy.model_copy(update={"chat_webhook_url": webhook.url})
    with Workspace(settings) as ws:
        case = intake.submit(
            ws, actor=acct(ws, "Tom Fischer"), title="", body=VPN_REPORT, requester_email="kim@example.com"
        )
        record = casework.claim(ws, case, actor=acct(ws, "Tom Fischer"), version=ws.kb.incident(case).version)
        stored = {s.target: s for s in ws.kb.suggestions(case)}
        casework.decide(
            ws, case, "category", stored["category"].best, actor=acct(ws, "Tom Fischer"), version=record.version
        )
        record = ws.kb.incident(case)
        casework.decide(
            ws, case, "priority", "P1", actor=acct(ws, "Tom Fischer"), version=record.version, reason="CEO travelling"
        )
        casework.note(ws, case, "Reinstalled GlobalProtect; see gp-client.log", actor=acct(ws, "Tom Fischer"))

        similar = ws.similar_cases(VPN_REPORT, k=3)
        drafted = handoff.draft(
            ws, case, "L2", criteria=["technical_limit"], why="gateway timeouts for one user only", similar=similar
        )
        assert drafted.files == ("gp-client.log",) and drafted.similar == tuple(similar)
        package = drafted.markdown("en")
        assert "## What was tried" in package and "gp-client.log" in package and "## Similar resolved cases" in package
        assert "Technical limit (beyond the helpdesk's knowledge), gateway timeouts for one user only" in package
        japanese = drafted.markdown("ja")
        assert "## 試したこと" in japanese and "## 類似の解決済みケース" in japanese and "gp-client.log" in japanese
        record = ws.kb.incident(case)
        sent = handoff.escalate(
            ws, case, actor=acct(ws, "Tom Fischer"), version=record.version, level="L2", package=package, post=True
        )
        outcome = handoff.posted(sent)
        assert str(outcome).startswith("posted to 127.0.0.1") and "へ投稿しました" in outcome.say("ja")
        assert "secret-token" not in sent.posted
        assert webhook.received[0]["text"] == handoff.chat_text(package)
        record = ws.kb.incident(case)
        assert (record.status, record.escalation_level, record.assignee) == ("escalated", "L2", "Specialist team")
        assert case in [e.case.id for e in queue(ws, view="mine", user="Tom Fischer")]
        record = casework.claim(ws, case, actor=acct(ws, "Aiko Tanaka-Reed"), version=record.version)  # of the L2 team
        assert record.assignee == "Aiko Tanaka-Reed"

        record = casework.resolve(
            ws,
            case,
            actor=acct(ws, "Aiko Tanaka-Reed"),
            version=record.version,
            resolution="Moved the user to the Osaka gateway; the Tokyo gateway's MTU was wrong.",
            root_cause="Gateway MTU misconfigured",
            category=record.category,
            priority="P2",
            escalation_level="L2",
        )
        assert record.status == "resolved"
        found = [c.incident.id for c in ws.similar_cases("GlobalProtect gateway timeout, VPN keeps dropping", k=5)]
        assert case in found

        decisions = {s.target: (s.decision, s.reason) for s in ws.kb.suggestions(case)}
        assert decisions["category"] == ("accepted", None)
        set_priority = "overridden" if stored["priority"].value is not None else "chosen"  # the assistant unsure
        assert decisions["priority"] == (set_priority, "CEO travelling")
        history = [(e.actor, e.action, e.field) for e in ws.kb.events("incident", case)]
        for step in [
            ("Tom Fischer", "create", None),
            ("Tom Fischer", "add_suggestion", None),
            ("Tom Fischer", "update", "assignee"),
            ("Tom Fischer", "update", "suggestion.priority.decision"),
            ("Tom Fischer", "add_message", None),
            ("Tom Fischer", "add_handoff", None),
            ("Tom Fischer", "update", "handoff.posted"),
            ("Aiko Tanaka-Reed", "update", "resolution"),
        ]:
            assert step in history


def test_templates_are_suggested_by_their_conditions_then_similarity_and_filled(ws: Workspace) -> None:
    case = intake.submit(
        ws, actor=acct(ws, "Raj Mehta"), title="", body=VPN_REPORT, requester_email="Kim Lee <kim@example.com>"
    )
    record = ws.kb.incident(case)
    matches = replies.suggest_templates(ws, record)
    assert matches[0].template.name == "VPN first steps (EN)" and "vpn" in matches[0].matched
    assert all("パスワード" not in m.template.name for m in matches)
    subject, body = replies.fill(matches[0].template, record, agent="Raj Mehta")
    assert subject.startswith(f"Re: [#{case}] VPN") and "Hello Kim Lee" in body and "Raj Mehta" in body


def test_what_was_recorded_of_a_posting_is_worded_whatever_the_column_holds() -> None:
    """A posting outcome is kept as a phrase; a value written by an earlier release (or by hand) is shown as it is."""
    import dataclasses

    from kb import HandoffRecord

    record = HandoffRecord(1, 1, "L2", "team", "package", "Ann", dt.datetime.now(dt.UTC), None, [])
    assert handoff.posted(record) is None
    done = handoff.post_to_chat(None, "package")
    kept = dataclasses.replace(record, posted='{"code":"post_no_webhook","values":{}}')
    assert handoff.posted(kept) == done and handoff.posted(kept).say("ja").startswith("投稿していません")
    for written in ("posted to chat at 09:00 UTC", "<script>alert(1)</script> {0} {x}", '{"code": 7}', "null"):
        shown = handoff.posted(dataclasses.replace(record, posted=written))
        assert str(shown) == written and shown.say("ja") == written


def test_an_upload_run_again_assesses_what_an_interrupted_run_filed_but_never_assessed(
    ws: Workspace, tmp_path: Path
) -> None:
    agent = acct(ws, "Raj Mehta")
    rows = "title,body\nVPN drops,GlobalProtect says gateway timeout at home\nPrinter jam,Floor 3 printer jams again\n"
    # What a worker killed between filing the rows and assessing them leaves: the cases, no suggestions.
    (tmp_path / "reports.csv").write_text(rows)
    first = import_incidents(
        ws.kb, tmp_path / "reports.csv", statuses=ws.workflow.statuses, status=ws.workflow.new, actor=agent
    )
    vpn, printer = first.added_ids
    with ws.kb.write("test") as w:  # one an agent has already taken up: it is theirs now, not intake's
        w.update_incident(printer, status="in_progress")
        mail_case = w.add_incident(
            title="印刷ができない", body="E-302", language="ja", import_key=f"mail:{read_eml(EML).message_id}"
        )
    assert ws.kb.without_suggestions([vpn, printer, mail_case]) == [vpn, printer, mail_case]

    again = intake.upload(ws, "reports.csv", rows.encode(), actor=agent)  # the job, run again
    assert (again.added, again.already_present) == ([], 2)
    assert {s.target for s in ws.kb.suggestions(vpn)} == {"category", "priority", "escalation_level"}
    assert ws.kb.suggestions(printer) == []
    assert intake.upload(ws, "printer.eml", EML, actor=agent).already_present == 1
    assert ws.kb.without_suggestions([vpn, printer, mail_case]) == [printer]

    stored = len(ws.kb.suggestions())
    intake.upload(ws, "reports.csv", rows.encode(), actor=agent)  # and once more: nothing is assessed twice
    assert len(ws.kb.suggestions()) == stored

    # An mbox holding one message twice: filed and assessed once, the copy counted as already present.
    other = EML.replace(b"abc123@example.com", b"twice@example.com")
    mbox = b"From ken.ito@example.com Mon Nov 23 09:15:00 2026\n" + other + b"\n\n"
    twice = intake.upload(ws, "twice.mbox", mbox * 2, actor=agent)
    assert (len(twice.added), twice.already_present, twice.problems) == (1, 1, [])
    assert len(ws.kb.suggestions(twice.added[0])) == 3
