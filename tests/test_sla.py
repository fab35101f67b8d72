"""SLA clocks on a knowledge base with known cases at known times: which deadline is next, its state, and the
queue's SLA column, filter and "next deadline first" order (on a calendar open around the clock, where business
time is clock time); then the desk's real calendar: weekends and holidays not counted, the clock paused while the
case waits for the requester, crossings recorded in business time, and a case about to breach raised a level."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator

import pandas as pd
import pytest

from kb import IncidentRecord, KnowledgeBase
from kb.vocab import RESOLVED_STATUSES
from pipeline import jobs
from pipeline.channels import notices
from pipeline.demo import INCIDENTS_FILE, open_desk
from pipeline.desk.queue import queue
from pipeline.desk.sla import CLOCK_KEEPER, deadline, deadlines
from pipeline.desk.sla_config import SlaSettings
from pipeline.desk.sla_raise import next_level, raise_before_breach
from pipeline.review.analysis import Analysis, sla_clock_hours
from pipeline.settings import REPO_ROOT, Settings
from pipeline.workspace import Workspace
from words import duration

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DATA = REPO_ROOT / "data"
H = dt.timedelta(hours=1)
TOKYO = dt.timezone(dt.timedelta(hours=9))


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def tokyo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO).astimezone(dt.UTC)


def known_cases(ws: Workspace) -> dict[str, int]:
    """With the default targets: P1 reply within 30 min, P2 within 2 h and resolved within 24 h."""
    ids = {}
    with ws.kb.write("intake") as w:
        for name, priority, created in [
            ("fresh P1", "P1", ago(minutes=10)),
            ("late P1", "P1", ago(minutes=25)),
            ("unanswered P2", "P2", ago(hours=3)),
            ("answered P2", "P2", ago(hours=3)),
            ("no priority", None, ago(hours=50)),
        ]:
            ids[name] = w.add_incident(title=name, language="en", priority=priority, created_at=created)
        ids["resolved P1"] = w.add_incident(
            title="resolved P1",
            language="en",
            priority="P1",
            status="resolved",
            resolution="Fixed.",
            created_at=ago(days=3),
        )
    with ws.kb.write("Ann", at=ago(hours=2, minutes=30)) as w:
        w.add_message(ids["answered P2"], kind="to_requester", author="Ann", body="Looking into it.")
        w.add_message(ids["unanswered P2"], kind="note", author="Ann", body="A note is no reply.")
    return ids


def test_the_next_deadline_is_the_first_reply_until_there_is_one_then_the_resolution(workspace: Workspace) -> None:
    ids = known_cases(workspace)
    replies = workspace.kb.first_replies(list(ids.values()))
    assert replies == {ids["answered P2"]: ago(hours=2, minutes=30)}

    def next_of(name: str):
        return deadline(workspace.kb.incident(ids[name]), replies.get(ids[name]), workspace.settings, NOW)

    fresh = next_of("fresh P1")
    assert (fresh.clock, fresh.due_at, fresh.target_hours, fresh.state) == (
        "response",
        ago(minutes=-20),
        0.5,
        "on_track",
    )
    assert next_of("late P1").state == "warning"  # 5 of 30 minutes left: under a quarter
    assert (next_of("unanswered P2").clock, next_of("unanswered P2").state) == ("response", "breached")
    assert next_of("unanswered P2").due_at == ago(hours=1)
    answered = next_of("answered P2")
    assert (answered.clock, answered.due_at, answered.state) == ("resolution", ago(hours=-21), "on_track")
    assert next_of("no priority") is None and next_of("resolved P1") is None


def test_the_queue_shows_filters_and_sorts_by_the_next_deadline(workspace: Workspace) -> None:
    ids = known_cases(workspace)
    entries = queue(workspace, sort="due", now=NOW)
    assert [e.case.title for e in entries] == ["unanswered P2", "late P1", "fresh P1", "answered P2", "no priority"]
    clocks = {
        e.case.title: (e.deadline.state, e.deadline.clock, e.deadline.left) if e.deadline else None for e in entries
    }
    assert clocks == {
        "unanswered P2": ("breached", "response", -dt.timedelta(hours=1)),
        "late P1": ("warning", "response", dt.timedelta(minutes=5)),
        "fresh P1": ("on_track", "response", dt.timedelta(minutes=20)),
        "answered P2": ("on_track", "resolution", dt.timedelta(hours=21)),
        "no priority": None,
    }
    # The edges word the time left in the reader's language.
    assert [duration(abs(e.deadline.left)) for e in entries[:2]] == ["1 h 0 min", "5 min"]
    assert duration(abs(entries[0].deadline.left), "ja") == "1時間0分"
    assert entries[-1].age == dt.timedelta(hours=50)
    at_risk = queue(workspace, sla=["breached", "warning"], sort="due", now=NOW)
    assert [e.case.id for e in at_risk] == [ids["unanswered P2"], ids["late P1"]]


def test_the_worker_minute_records_each_clock_crossing_once_in_the_case_history(workspace: Workspace) -> None:
    ids = known_cases(workspace)
    first = jobs.upkeep(workspace, now=NOW)
    assert {(x.case, x.clock, x.state) for x in first} == {
        (ids["late P1"], "response", "warning"),
        (ids["unanswered P2"], "response", "breached"),
    }
    assert jobs.upkeep(workspace, now=NOW + dt.timedelta(minutes=1)) == []  # once, however often it looks
    later = jobs.upkeep(workspace, now=NOW + dt.timedelta(minutes=10))
    assert [(x.case, x.state) for x in later] == [(ids["late P1"], "breached")]
    history = [(e.action, e.field, e.actor) for e in workspace.kb.events("incident", ids["late P1"])]
    assert history[-2:] == [
        ("sla_warning", "clock_response", CLOCK_KEEPER),
        ("sla_breached", "clock_response", CLOCK_KEEPER),
    ]


def test_the_worker_does_its_upkeep_every_minute(settings: Settings) -> None:
    with Workspace(settings) as ws:
        ids = known_cases(ws)
    huey = jobs.queue(settings).huey
    due = huey.read_periodic(dt.datetime.now())  # huey's clock: local, naive
    # Every minute: the desk's upkeep, the notices and mail out, the mailboxes polled.
    assert sorted(task.name for task in due) == sorted([jobs.UPKEEP, jobs.OUTBOX, jobs.MAIL_POLL])
    (upkeep,) = [task for task in due if task.name == jobs.UPKEEP]
    huey.execute(upkeep)  # as the worker's scheduler runs it, its lock included
    with Workspace(settings) as ws:
        assert ("sla_breached", "clock_response") in [
            (e.action, e.field) for e in ws.kb.events("incident", ids["unanswered P2"])
        ]


# -- the desk's real calendar: Asia/Tokyo, 9:00-18:00 Monday to Friday, Japanese public holidays ---------------------

MONDAY = tokyo(2026, 11, 30, 10)  # 10:00 in Tokyo; the Monday before, 23 November, was a public holiday


def office_settings(settings: Settings, **sla: object) -> Settings:
    return settings.model_copy(update={"sla": SlaSettings(**sla)})


@pytest.fixture
def office(settings: Settings) -> Iterator[Workspace]:
    with Workspace(office_settings(settings)) as ws:
        yield ws


def p2_cases(ws: Workspace) -> dict[str, int]:
    """P2 cases (resolution within 24 business hours), each answered half an hour after it came in."""
    ids = {}
    for name, created, holder in [
        ("over the weekend", tokyo(2026, 11, 27, 16), "Ann"),  # Friday 16:00: 2 h on Friday, 1 h on Monday
        ("close", tokyo(2026, 11, 25, 15), "Ann"),  # 3 h Wednesday, 9 Thursday, 9 Friday, 1 Monday: 22 h
        ("breached", tokyo(2026, 11, 24, 10), "Bo"),  # 8 h Tuesday, then 9 + 9 + 9 + 1: 36 h
        ("waiting since", tokyo(2026, 11, 27, 9), "Bo"),  # paused from Friday 11:00: 2 h
    ]:
        with ws.kb.write("intake", at=created) as w:
            ids[name] = w.add_incident(
                title=name, language="en", priority="P2", created_at=created, assignee=holder, status="in_progress"
            )
        with ws.kb.write(holder, at=created + H / 2) as w:
            w.add_message(ids[name], kind="to_requester", author=holder, body="On it.")
    with ws.kb.write("Bo", at=tokyo(2026, 11, 27, 11)) as w:
        w.update_incident(ids["waiting since"], status="waiting_requester")
    return ids


def test_weekends_and_holidays_do_not_count(office: Workspace) -> None:
    ids = p2_cases(office)
    due = {c.title: d for c in office.kb.open_incidents() if (d := deadlines(office, [c], MONDAY)[c.id])}
    weekend = due["over the weekend"]
    # 66 hours since it came in, far past 24, yet three business hours: 21 left, due Wednesday 13:00 in Tokyo.
    assert MONDAY - office.kb.incident(ids["over the weekend"]).created_at == 66 * H
    assert (weekend.state, weekend.left, weekend.due_at) == ("on_track", 21 * H, tokyo(2026, 12, 2, 13))
    assert (due["close"].state, due["close"].left) == ("warning", 2 * H)
    assert (due["breached"].state, due["breached"].left) == ("breached", -12 * H)
    assert due["breached"].due_at == tokyo(2026, 11, 26, 16)  # its 24th business hour ran out on Thursday
    assert [e.case.title for e in queue(office, sla=["breached"], now=MONDAY)] == ["breached"]
    # A P1 (8 business hours) from Friday 20 November 17:00 over the holiday: one hour Friday, three Tuesday.
    with office.kb.write("intake") as w:
        p1 = w.add_incident(title="P1", language="en", priority="P1", created_at=tokyo(2026, 11, 20, 17))
        w.add_message(p1, kind="to_requester", author="Ann", body="On it.")
    p1_due = deadlines(office, [office.kb.incident(p1)], tokyo(2026, 11, 24, 12))[p1]
    assert (p1_due.state, p1_due.left) == ("on_track", 4 * H)


def test_the_clock_stands_still_while_the_case_waits_for_the_requester(office: Workspace) -> None:
    ids = p2_cases(office)
    case = office.kb.incident(ids["waiting since"])
    # Paused at "now": two hours ran on Friday; however long it waits, 22 are left and it is due 22 h from now.
    for now in (MONDAY, MONDAY + 50 * H):
        waiting = deadlines(office, [case], now)[case.id]
        assert (waiting.state, waiting.left, waiting.paused) == ("on_track", 22 * H, True)
    # Back to work on Tuesday 1 December at 14:00: the clock runs again from there.
    with office.kb.write("Bo", at=tokyo(2026, 12, 1, 14)) as w:
        w.update_incident(case.id, status="in_progress")
    running = deadlines(office, [case], tokyo(2026, 12, 1, 16))[case.id]
    assert (running.left, running.paused, running.due_at) == (20 * H, False, tokyo(2026, 12, 3, 18))
    # A status that is no pause in these settings: the clock never stopped (9 h on Friday, 1 on Monday).
    vendor_only = office_settings(office.settings, paused_statuses=["waiting_vendor"])
    moves = office.kb.status_moves([case.id])[case.id]
    never_paused = deadline(case, office.kb.first_replies([case.id])[case.id], vendor_only, MONDAY, moves)
    assert (never_paused.left, never_paused.paused) == (14 * H, False)


def test_a_case_created_waiting_is_paused_from_the_start(office: Workspace) -> None:
    with office.kb.write("intake") as w:
        case = w.add_incident(
            title="asked first", language="en", priority="P3", status="waiting_requester", created_at=MONDAY - 30 * H
        )
    due = deadlines(office, [office.kb.incident(case)], MONDAY)[case]
    assert (due.clock, due.left, due.paused) == ("response", 8 * H, True)


def test_crossings_are_recorded_in_business_time(office: Workspace) -> None:
    ids = p2_cases(office)
    crossed = jobs.upkeep(office, now=MONDAY)
    assert {(x.case, x.state) for x in crossed} == {(ids["close"], "warning"), (ids["breached"], "breached")}
    # The close one runs out at noon; the weekend case comes close only on Tuesday, once 18 of its 24 business
    # hours are gone (2 on Friday, 9 on Monday, 7 on Tuesday): at 16:00 in Tokyo.
    assert [(x.case, x.state) for x in jobs.upkeep(office, now=tokyo(2026, 12, 1, 15, 59))] == [
        (ids["close"], "breached")
    ]
    assert [(x.case, x.state) for x in jobs.upkeep(office, now=tokyo(2026, 12, 1, 16, 1))] == [
        (ids["over the weekend"], "warning")
    ]


def test_status_moves_are_read_for_many_cases_at_once(kb: KnowledgeBase) -> None:
    with kb.write("intake", at=MONDAY) as w:
        first, second, still = (w.add_incident(title=t, language="en", status="new") for t in ("a", "b", "c"))
    with kb.write("Ann", at=MONDAY + H) as w:
        w.update_incident(first, status="waiting_requester")
        w.update_incident(second, status="in_progress", assignee="Ann")
    with kb.write("Ann", at=MONDAY + 2 * H) as w:
        w.update_incident(first, status="in_progress")
    moves = kb.status_moves([first, second, still, 999])
    assert {case: [(m.at, m.old, m.new) for m in ms] for case, ms in moves.items()} == {
        first: [(MONDAY + H, "new", "waiting_requester"), (MONDAY + 2 * H, "waiting_requester", "in_progress")],
        second: [(MONDAY + H, "new", "in_progress")],
    }


# -- time-based escalation ----------------------------------------------------------------------------------------


def test_the_levels_go_up_to_l3() -> None:
    assert [next_level(level) for level in (None, "none", "L1", "L2", "L3")] == ["L1", "L1", "L2", "L3", None]


def test_a_case_about_to_breach_is_raised_once_to_the_next_level_with_a_notice(settings: Settings) -> None:
    raising = office_settings(settings, raise_before_breach=True, raise_share=0.25).model_copy(
        update={"chat_webhook_url": "http://127.0.0.1:9/hook"}  # the chat is set up: the team hears of it there
    )
    with Workspace(raising) as ws:
        ids = p2_cases(ws)
        with ws.kb.write("intake") as w:
            w.update_incident(ids["breached"], escalation_level="L3")  # at the top already: nowhere to go
        notices.notify(ws, now=MONDAY)  # the notices' first look: from here on
        jobs.upkeep(ws, now=MONDAY)
        close = ws.kb.incident(ids["close"])
        assert (close.escalation_level, close.assignee) == ("L1", "Senior helpdesk")
        (raised,) = ws.kb.handoffs(ids["close"])
        assert (raised.created_by, raised.level, raised.holder, list(raised.criteria)) == (
            CLOCK_KEEPER,
            "L1",
            "Senior helpdesk",
            ["time_constraint"],
        )
        assert "Raised by the SLA clock: 2 h 0 min of business time left" in raised.package
        assert ws.kb.followers(ids["close"]) == []  # the clock follows nothing
        assert {e.actor for e in ws.kb.events("incident", ids["close"]) if e.action in ("update", "add_handoff")} >= {
            CLOCK_KEEPER
        }
        for name in ("over the weekend", "breached", "waiting since"):  # on track, at the top, paused
            assert ws.kb.handoffs(ids[name]) == []
        # Still close to its breach a minute later, at L1 now: not raised again.
        assert raise_before_breach(ws, now=MONDAY + dt.timedelta(minutes=1)) == []
        assert ws.kb.incident(ids["close"]).escalation_level == "L1"
        made = notices.notify(ws, now=MONDAY + dt.timedelta(minutes=1))
        told = [(d.purpose, d.recipient) for d in made if d.incident_id == ids["close"]]
        assert ("sla_raised", "Senior helpdesk") in told and ("handoff", "Senior helpdesk") not in told
        (notice,) = [d for d in made if d.purpose == "sla_raised"]
        assert (
            notice.subject
            == f"@Senior helpdesk: Case {ids['close']} was raised to L1 senior helpdesk before its SLA breach: close"
        )


def test_no_case_is_raised_unless_the_settings_ask(office: Workspace) -> None:
    ids = p2_cases(office)
    assert raise_before_breach(office, now=MONDAY) == []
    assert office.kb.handoffs(ids["close"]) == []


# -- the demo's open desk -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        tokyo(2026, 12, 5, 11),  # a Saturday
        tokyo(2026, 11, 30, 9, 1),  # a Monday, just opened
        tokyo(2026, 11, 23, 15),  # a public holiday (Labour Thanksgiving Day)
        tokyo(2026, 12, 2, 17, 59),  # a Wednesday, just before closing
    ],
)
def test_the_demo_opens_on_a_plausible_desk_whatever_the_day(settings: Settings, now: dt.datetime) -> None:
    office = office_settings(settings)
    shift = dt.timedelta(days=3)
    rows = [json.loads(line) for line in open_desk(office, DATA / INCIDENTS_FILE, now, shift).splitlines()]
    states = Counter()
    for row in rows:
        if row["status"] in RESOLVED_STATUSES:
            continue
        created = dt.datetime.fromisoformat(row["created_at"]) + shift
        assert created < now
        case = IncidentRecord(
            id=0, title="", body="", language="en", requester_id=None, category=row["category"],
            priority=row["priority"], escalation_level=None, impact=None, urgency=None, status=row["status"],
            assignee=row.get("assignee"), created_at=created, updated_at=created, resolved_at=None, resolution=None,
            root_cause=None,
        )  # fmt: skip
        replied = created + dt.timedelta(minutes=20) if row.get("assignee") else None  # as the demo's replay answers
        states[deadline(case, replied, office, now).state] += 1
    assert states == {"breached": 2, "warning": 3, "on_track": 17}


def test_the_trends_count_targets_met_in_business_time(office: Workspace) -> None:
    p2_cases(office)
    with office.kb.write("Ann") as w:  # in on Friday at 17:00, resolved on Monday at 11:00: 3 business hours
        w.add_incident(
            title="done", language="en", priority="P2", status="resolved", resolution="Fixed.",
            created_at=tokyo(2026, 11, 27, 17), resolved_at=tokyo(2026, 11, 30, 11),
        )  # fmt: skip
    now = pd.Timestamp(tokyo(2026, 11, 30, 11, 30))
    trends = Analysis(office.kb, office.settings)
    met = trends.targets_met(trends.incidents(), now=now)["resolution"]
    # Measured: the resolved case (within target) and the open one past its 24 business hours; the others are not
    # due yet, the waiting one's clock stood still since Friday 11:00.
    assert met.loc["P2", ["cases", "met"]].tolist() == [2, 1]
    hours = sla_clock_hours(office.settings, trends.incidents(), trends.status_history(), "resolved_at", now)
    by_title = dict(zip(trends.incidents()["title"], hours, strict=True))
    assert by_title == {"over the weekend": 4.5, "close": 23.5, "breached": 37.5, "waiting since": 2.0, "done": 3.0}
    # In clock time every case would be past its target: the same history on a calendar open around the clock.
    around_the_clock = Analysis(office.kb, Settings())  # the tests' default calendar (tests/conftest.py)
    clockwise = around_the_clock.targets_met(around_the_clock.incidents(), now=now)["resolution"]
    assert clockwise.loc["P2", ["cases", "met"]].tolist() == [4, 0]
