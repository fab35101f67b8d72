"""SLA clocks on a knowledge base with known cases at known times: which deadline is next, its state, and the
queue's SLA column, filter and "next deadline first" order."""

from __future__ import annotations

import datetime as dt

from pipeline import jobs
from pipeline.desk.queue import queue
from pipeline.desk.sla import CLOCK_KEEPER, deadline
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from words import duration

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


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
