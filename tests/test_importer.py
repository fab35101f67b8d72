"""Importing CSV and JSON Lines files: good rows stored, bad rows reported by line, nothing stored earlier touched."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from pathlib import Path

import pytest

from kb import KnowledgeBase
from pipeline.desk.importer import ImportFileError, import_incidents, import_requesters, parse_mapping
from pipeline.files import ReadLimits
from tests.conftest import OPERATOR

CSV = """\
Ticket,Subject,Description,Prio,Level,Opened,Email
T-1,VPN drops,"Drops every
ten minutes",2 - High,L1,2026-04-01T09:00:00+09:00,Taro <taro@example.jp>
T-2,,,3,none,2026-04-01T10:00:00+09:00,hanako@example.jp
T-3,Printer jam,Tray 2,urgent!!,none,2026-04-02T10:00:00+09:00,hanako@example.jp
T-4,Outlook crash,On start,P3,L9,2026-04-03T10:00:00+09:00,hanako@example.jp
T-5,Teams audio,No sound,P4,0,yesterday,hanako@example.jp
T-6,Wi-Fi,Slow,P4,L2,2026-04-04T10:00:00+09:00,not-an-address
T-7,<script>alert(1)</script>,<b>bold</b> body,P4,L3,2026-04-05T10:00:00+09:00,TARO@example.jp
"""
MAPPING = {
    "external_id": "Ticket",
    "title": "Subject",
    "body": "Description",
    "priority": "Prio",
    "escalation_level": "Level",
    "created_at": "Opened",
    "requester_email": "Email",
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_good_rows_are_stored_and_bad_rows_reported_by_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = import_incidents(kb, write(tmp_path, "tickets.csv", CSV), mapping=MAPPING, actor=OPERATOR)
    assert (report.rows, report.added) == (7, 2)
    problems = {p.line: str(p.reason) for p in report.problems}
    # T-1 spans lines 2-3, so T-2 starts on line 4.
    assert sorted(problems) == [4, 5, 6, 7, 8]
    assert "no title and no body" in problems[4]
    assert "priority 'urgent!!' is not one of P1-P4" in problems[5]
    assert "escalation level 'L9'" in problems[6]
    assert "date 'yesterday' is not in ISO 8601" in problems[7]
    assert "'not-an-address' is not an e-mail address" in problems[8]
    first, html = kb.incidents([1, 2])
    assert (first.title, first.body, first.priority, first.escalation_level) == (
        "VPN drops", "Drops every\nten minutes", "P2", "L1"
    )  # fmt: skip
    assert first.status == "resolved" and first.created_at.isoformat() == "2026-04-01T00:00:00+00:00"
    assert (html.title, html.body) == ("<script>alert(1)</script>", "<b>bold</b> body")  # stored as typed
    assert first.requester_id == html.requester_id  # the same address, whatever its case
    assert kb.requester(first.requester_id).name == "Taro"


def test_importing_the_same_file_again_adds_nothing_and_touches_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "tickets.csv", CSV)
    import_incidents(kb, path, mapping=MAPPING, actor=OPERATOR)
    before = [kb.incident(1), kb.incident(2)]
    events = len(kb.events("incident", 1))
    again = import_incidents(kb, path, mapping=MAPPING, actor=OPERATOR)
    assert (again.added, again.already_present, len(again.problems)) == (0, 2, 5)
    assert [kb.incident(1), kb.incident(2)] == before
    assert len(kb.events("incident", 1)) == events
    assert kb.stats().incidents == 2


def test_rows_without_an_id_are_told_apart_by_content_and_repeats(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(
        tmp_path, "plain.csv", "body,category\nprinter broken,Hardware\nprinter broken,Hardware\nvpn,Network\n"
    )
    assert import_incidents(kb, path, actor=OPERATOR).added == 3  # two identical tickets are still two tickets
    assert import_incidents(kb, path, actor=OPERATOR).added == 0
    assert kb.incident(1).title == "printer broken"  # a row without a title takes the start of its body


def test_a_repeated_external_id_within_a_file_is_a_problem(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "external_id,title\nA,one\nA,two\n")
    report = import_incidents(kb, path, actor=OPERATOR)
    assert report.added == 1 and str(report.problems[0]) == "line 3: same external_id as line 2"


def test_json_lines_with_broken_lines(kb: KnowledgeBase, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"title": "メールが送信できない", "body": "送信トレイに残ります", "priority": "高"}, ensure_ascii=False
        ),
        "{not json",
        json.dumps(["a", "list"]),
        "",
        json.dumps({"title": "Nested", "body": {"a": 1}}),
        json.dumps({"title": "Number body", "body": 42, "escalation_level": "レベル2", "status": "対応中"}),
    ]
    report = import_incidents(kb, write(tmp_path, "x.jsonl", "\n".join(lines)), actor=OPERATOR)
    assert report.added == 2
    assert [(p.line, str(p.reason).split(" (")[0]) for p in report.problems] == [
        (2, "not valid JSON"),
        (3, "expected a JSON object, got list"),
        (5, "column 'body' holds a nested JSON value; expected text"),
    ]
    ja, number = kb.incidents([1, 2])
    assert (ja.language, ja.priority) == ("ja", "P2")
    assert (number.body, number.escalation_level, number.status) == ("42", "L2", "in_progress")


def test_gzipped_files_are_read(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "tickets.csv.gz", gzip.compress(b"Document,Topic_group\nlaptop broken,Hardware\n"))
    report = import_incidents(
        kb, path, mapping=parse_mapping(["body=Document", "category=Topic_group"]), actor=OPERATOR
    )
    assert report.added == 1 and kb.incident(1).category == "Hardware"


def test_a_wrong_encoding_is_named_with_a_hint(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "sjis.csv", "title,body\nプリンター,紙詰まり\n".encode("cp932"))
    with pytest.raises(ImportFileError, match=r"not valid UTF-8 text: byte 0x\w\w on line 2; .*--encoding cp932"):
        import_incidents(kb, path, actor=OPERATOR)
    assert import_incidents(kb, path, encoding="cp932", actor=OPERATOR).added == 1
    assert kb.incident(1).title == "プリンター"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.csv", bytes(range(256)) * 4, "not valid UTF-8"),
        ("empty.csv", "", "no header row"),
        ("cols.csv", "a,a\n1,2\n", "names the column\\(s\\) a more than once"),
        ("data.xlsx", "x", "cannot tell the format"),
        ("nocols.csv", "foo,bar\n1,2\n", "has none of the columns title, body"),
        ("broken.gz", b"\x1f\x8b\x08garbage", "looks gzipped but cannot be unpacked"),
    ],
)
def test_unusable_files_are_refused_with_what_is_wrong(
    kb: KnowledgeBase, tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        import_incidents(kb, write(tmp_path, name, content), actor=OPERATOR)


def test_a_mapping_to_a_missing_column_lists_the_columns(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "Subject,Text\nx,y\n")
    with pytest.raises(ImportFileError, match=r"no column for body \(column 'Description'\); its columns: Subject"):
        import_incidents(kb, path, mapping={"title": "Subject", "body": "Description"}, actor=OPERATOR)
    with pytest.raises(ImportFileError, match="unknown field 'colour'"):
        parse_mapping(["colour=Subject"])
    with pytest.raises(ImportFileError, match="FIELD=COLUMN"):
        parse_mapping(["title"])


def test_a_huge_cell_is_a_row_problem_not_a_crash(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", f"title,body\nbig,{'x' * 150_000}\nsmall,ok\n")
    report = import_incidents(kb, path, actor=OPERATOR)
    assert report.added == 1 and "body has 150,000 characters; at most 100,000" in str(report.problems[0].reason)


def test_a_failed_import_leaves_what_was_stored_before(kb: KnowledgeBase, tmp_path: Path) -> None:
    import_incidents(kb, write(tmp_path, "first.csv", "title,body\nkept,one\n"), actor=OPERATOR)
    with pytest.raises(ImportFileError):
        import_incidents(kb, write(tmp_path, "second.csv", b"\xff\xfe garbage"), actor=OPERATOR)
    assert [r.title for r in kb.incidents([1])] == ["kept"]


def test_requesters_with_several_addresses(kb: KnowledgeBase, tmp_path: Path) -> None:
    people = [
        {"name": "佐藤 健太", "emails": ["kenta.sato@example.jp", "k.sato@old.example.jp"], "department": "営業部"},
        {"name": "Emily Carter", "emails": "emily@example.com; e.carter@old.example.com"},
        {"name": "Kenta again", "emails": ["kenta.sato@example.jp", "kenta@home.example"]},
        {"name": "Clash", "emails": ["kenta.sato@example.jp", "emily@example.com"]},
        {"name": "", "emails": ["x@example.com"]},
    ]
    path = write(tmp_path, "people.jsonl", "\n".join(json.dumps(p, ensure_ascii=False) for p in people))
    report = import_requesters(kb, path, actor=OPERATOR)
    assert (report.added, report.new_requesters) == (3, 2)
    assert [(p.line, str(p.reason).split(" already")[0]) for p in report.problems] == [
        (4, "the addresses kenta.sato@example.jp, emily@example.com"),
        (5, "no name"),
    ]
    kenta = kb.requester_by_email("kenta@home.example")
    assert (kenta.name, kenta.department, len(kenta.emails)) == ("佐藤 健太", "営業部", 3)
    tickets = write(tmp_path, "t.csv", "title,requester_email\nVPN,k.sato@old.example.jp\n")
    import_incidents(kb, tickets, actor=OPERATOR)
    assert kb.incident(1).requester_name == "佐藤 健太"


def test_bad_options_fail_before_any_row_is_stored(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "title,created_at\nx,2026-01-01 09:00\n")
    with pytest.raises(ImportFileError, match="unknown time zone 'Mars/Olympus'"):
        import_incidents(kb, path, timezone="Mars/Olympus", actor=OPERATOR)
    with pytest.raises(ImportFileError, match="default status 'finished' is not one of"):
        import_incidents(kb, path, default_status="finished", actor=OPERATOR)
    assert kb.stats().incidents == 0
    import_incidents(kb, path, timezone="Asia/Tokyo", actor=OPERATOR)
    assert kb.incident(1).created_at.isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_small_gzip_that_unpacks_to_a_hundred_megabytes_is_refused_quickly_in_bounded_memory(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    bomb = gzip.compress(b"title,body\n" + b"a" * 100_000_000, compresslevel=9)
    assert len(bomb) < 200_000
    path = write(tmp_path, "tickets.csv.gz", bomb)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ImportFileError, match=r"unpacks to more than 50 MB.*nothing from it was stored"):
        import_incidents(kb, path, actor=OPERATOR)
    seconds, (_, peak) = time.perf_counter() - started, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 10 and peak < 150_000_000  # the cap, twice at most (the buffer and its copy), never 100 MB+
    assert kb.stats().incidents == 0


def test_a_file_past_the_row_cap_is_refused_whole(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "many.csv.gz", gzip.compress(("title,body\n" + "t,b\n" * 101).encode()))
    with pytest.raises(ImportFileError, match="more than 100 reports"):
        import_incidents(kb, path, actor=OPERATOR, limits=ReadLimits(max_rows=100))
    assert kb.stats().incidents == 0
    assert import_incidents(kb, path, actor=OPERATOR, limits=ReadLimits(max_rows=101)).added == 101
