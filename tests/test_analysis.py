"""The analysis API on small known histories (exact figures), the ServiceNow event log reader, and the recurring
problems of the demo knowledge base."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from kb import KnowledgeBase
from pipeline.review import analysis
from pipeline.review.analysis import Analysis
from pipeline.review.eventlog import incidents_of, read_event_log, state_history
from pipeline.review.problems import recurring_problems, telling_words
from pipeline.settings import REPO_ROOT, Settings
from pipeline.workspace import Workspace
from tests.conftest import work_off
from tests.test_app import open_app
from tests.test_app_desk import goto, run, texts

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
LEAD = "Lena Lead"


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def desk_history(kb: KnowledgeBase) -> None:
    """Four cases with known lives, written through the real writer at their own times.

    A (en, Network, P2): claimed after 30 min, answered after 1 h, escalated to L2 after 3 h, resolved after 24 h.
    B (ja, Email, P3): claimed after 10 min, answered after 20 min, resolved after 2 h, reopened the next morning,
    resolved again 27 h after it came in.
    C (en, Network, P2): came in on 10 March at 09:00 and is still open, unanswered.
    D (en, Email, P3): history imported resolved, 5 h after it came in.
    """
    with kb.write("intake", at=at(0)) as w:
        a = w.add_incident(title="VPN down", language="en", category="Network", priority="P2", created_at=at(0))
    with kb.write("ann", at=at(0.5)) as w:
        w.update_incident(a, assignee="ann", status="in_progress")
    with kb.write("ann", at=at(1)) as w:
        w.add_message(a, kind="to_requester", author="ann", body="Looking into it")
    with kb.write("ann", at=at(3)) as w:
        w.update_incident(a, assignee="Specialist team", status="escalated", escalation_level="L2")
        w.add_handoff(a, level="L2", holder="Specialist team", package="VPN down", created_by="ann")
    with kb.write("Specialist team", at=at(24)) as w:
        w.update_incident(a, status="resolved", resolution="Gateway restarted", resolved_at=w.now())

    b_in = at(47)  # Wednesday 08:00
    with kb.write("intake", at=b_in) as w:
        b = w.add_incident(
            title="メールが届かない", language="ja", category="Email", priority="P3", escalation_level="none",
            created_at=b_in,
        )  # fmt: skip
    with kb.write("bob", at=b_in + dt.timedelta(minutes=10)) as w:
        w.update_incident(b, assignee="bob", status="in_progress")
    with kb.write("bob", at=b_in + dt.timedelta(minutes=20)) as w:
        w.add_message(b, kind="note", author="bob", body="Checking the mail flow")  # a note is no reply
        w.add_message(b, kind="to_requester", author="bob", body="確認します")
    with kb.write("bob", at=b_in + dt.timedelta(hours=2)) as w:
        w.update_incident(b, status="resolved", resolution="Rule removed", resolved_at=w.now())
    with kb.write("bob", at=b_in + dt.timedelta(hours=25)) as w:
        w.update_incident(b, status="reopened")
    with kb.write("bob", at=b_in + dt.timedelta(hours=27)) as w:
        w.update_incident(b, status="resolved", resolution="Second rule removed", resolved_at=w.now())

    with kb.write("intake", at=at(192)) as w:
        w.add_incident(title="Wi-Fi slow", language="en", category="Network", priority="P2", created_at=at(192))
    with kb.write("import") as w:
        w.add_incident(
            title="Mailbox full", language="en", category="Email", priority="P3", escalation_level="none",
            status="resolved", resolution="Archived", created_at=at(168), resolved_at=at(173),
        )  # fmt: skip


@pytest.fixture
def known(kb: KnowledgeBase) -> Analysis:
    desk_history(kb)
    return Analysis(kb, Settings(database_url=kb.url.render_as_string(hide_password=False)))


def test_incidents_carry_the_lifecycle_measures(known: Analysis) -> None:
    frame = known.incidents().set_index("title")
    assert frame.loc["VPN down", "hours_to_resolve"] == 24
    assert frame.loc["メールが届かない", "hours_to_resolve"] == 27  # resolved again after the reopening
    assert frame.loc["Mailbox full", "hours_to_resolve"] == 5
    assert math.isnan(frame.loc["Wi-Fi slow", "hours_to_resolve"])
    assert frame.loc["VPN down", "hours_to_first_response"] == 1
    assert frame.loc["メールが届かない", "hours_to_first_response"] == pytest.approx(1 / 3)
    assert frame["hours_to_first_response"].isna().sum() == 2
    in_order = frame.loc[["VPN down", "メールが届かない", "Wi-Fi slow", "Mailbox full"]]
    # ann -> Specialist team is a reassignment; the first claim (nobody -> bob) is not.
    assert in_order["reassignments"].tolist() == [1, 0, 0, 0]
    assert in_order["reopenings"].tolist() == [0, 1, 0, 0]
    assert in_order["escalated"].tolist() == [True, False, False, False]
    assert in_order["week"].astype(str).tolist() == ["2026-03-02", "2026-03-02", "2026-03-09", "2026-03-09"]


def test_the_event_log_records_a_replayed_change_at_its_own_time(known: Analysis) -> None:
    events = known.events()
    claim = events[(events["actor"] == "ann") & (events["field"] == "status")].iloc[0]
    assert claim["at"] == pd.Timestamp(at(0.5)) and claim["new_value"] == "in_progress"
    with pytest.raises(ValueError, match="no time zone"):
        known.kb.write("ann", at=dt.datetime(2026, 3, 2)).__enter__()


def test_weekly_counts_distribution_and_escalation_rates(known: Analysis) -> None:
    incidents = known.incidents()
    weekly = analysis.weekly_counts(incidents, by="category")
    assert weekly.to_dict("index") == {
        pd.Timestamp("2026-03-02"): {"Email": 1, "Network": 1},
        pd.Timestamp("2026-03-09"): {"Email": 1, "Network": 1},
    }
    spread = analysis.distribution(incidents, "hours_to_resolve", "priority")
    assert spread.loc["P2"].to_dict() == {"cases": 1, "mean": 24, "p25": 24, "median": 24, "p75": 24, "p90": 24}
    assert spread.loc["P3"].to_dict() == pytest.approx(
        {"cases": 2, "mean": 16, "p25": 10.5, "median": 16, "p75": 21.5, "p90": 24.8}
    )
    rates = analysis.escalation_rates(incidents, by="category")
    assert rates.loc["Network"].to_dict() == {"cases": 1, "none": 0, "L1": 0, "L2": 1, "L3": 0, "escalated": 1}
    assert rates.loc["Email"].to_dict() == {"cases": 2, "none": 1, "L1": 0, "L2": 0, "L3": 0, "escalated": 0}
    assert list(rates.index) == ["Network", "Email"]  # most escalated first


def test_targets_met_count_overdue_open_cases_and_skip_unknown_replies(known: Analysis) -> None:
    incidents = known.incidents()
    met = known.targets_met(incidents, now=pd.Timestamp(at(195)))  # C has waited 3 h
    response, resolution = met["first response"], met["resolution"]
    # P2 reply due in 2 h: A answered in 1 h, C waits past it; P3 due in 8 h: B answered, D's reply is not known.
    assert response.loc["P2", ["cases", "met"]].tolist() == [2, 1]
    assert response.loc["P3", ["cases", "met"]].tolist() == [1, 1]
    # P2 resolution due in 24 h: A just made it; C, open for 3 h, is not due yet. P3 (72 h): both made it.
    assert resolution.loc["P2", ["cases", "met", "share"]].tolist() == [1, 1, 1.0]
    assert resolution.loc["P3", ["cases", "met"]].tolist() == [2, 2]
    assert resolution.loc["P1", "cases"] == 0 and math.isnan(resolution.loc["P1", "share"])


def test_status_transitions_with_time_spent_before_each_move(known: Analysis) -> None:
    moves = analysis.transitions(known.status_history()).set_index(["from", "to"])
    assert moves["count"].to_dict() == {
        ("new", "in_progress"): 2,
        ("in_progress", "escalated"): 1,
        ("escalated", "resolved"): 1,
        ("in_progress", "resolved"): 1,
        ("resolved", "reopened"): 1,
        ("reopened", "resolved"): 1,
    }
    assert moves.loc[("new", "in_progress"), "median_hours"] == pytest.approx((0.5 + 1 / 6) / 2)
    assert moves.loc[("escalated", "resolved"), "median_hours"] == 21
    assert moves.loc[("resolved", "reopened"), "median_hours"] == 23


def test_transitions_take_repeated_updates_in_one_state_as_one_stay() -> None:
    history = pd.DataFrame(
        {
            "case": ["x", "x", "x", "x", "y", "y"],
            "state": ["New", "New", "Active", "Resolved", "New", "Resolved"],
            "at": pd.to_datetime(["2016-01-01 00:00", "2016-01-01 01:00", "2016-01-01 04:00", "2016-01-01 05:00",
                                  "2016-01-02 00:00", "2016-01-02 02:00"], utc=True),
        }
    )  # fmt: skip
    moves = analysis.transitions(history).set_index(["from", "to"])
    assert moves["count"].to_dict() == {("New", "Active"): 1, ("Active", "Resolved"): 1, ("New", "Resolved"): 1}
    assert moves.loc[("New", "Active"), "median_hours"] == 4  # from the first update in New


def test_the_headline_leaves_out_what_is_not_known(known: Analysis) -> None:
    incidents = known.incidents()
    met = known.targets_met(incidents, now=pd.Timestamp(at(195)))["resolution"]
    assert analysis.headline(incidents, met) == analysis.Headline(
        cases=4, median_hours_to_resolve=24, escalated_share=1 / 3, resolved_within_target=1.0
    )
    nothing = analysis.headline(incidents.iloc[:0], met.iloc[:0])
    assert nothing == analysis.Headline(
        cases=0, median_hours_to_resolve=None, escalated_share=None, resolved_within_target=None
    )


def test_escalations_and_suggestions_frames(known: Analysis) -> None:
    handed = known.escalations()
    assert handed[["level", "holder", "created_by", "category", "priority"]].values.tolist() == [
        ["L2", "Specialist team", "ann", "Network", "P2"]
    ]
    assert handed["hours_since_intake"].tolist() == [3]
    assert known.suggestions().empty


def test_opening_a_missing_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no knowledge base at .*absent\.db"):
        Analysis.open(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


EVENT_LOG_HEADER = (
    "number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,caller_id,opened_by,"
    "opened_at,sys_created_by,sys_created_at,sys_updated_by,sys_updated_at,contact_type,location,category,"
    "subcategory,u_symptom,cmdb_ci,impact,urgency,priority,assignment_group,assigned_to,knowledge,"
    "u_priority_confirmation,notify,problem_id,rfc,vendor,caused_by,closed_code,resolved_by,resolved_at,closed_at"
)


def event(number: str, state: str, mods: int, updated: str, *, reassigned=0, reopened=0, sla="true", resolved="?"):
    return (
        f"{number},{state},true,{reassigned},{reopened},{mods},{sla},Caller 1,Opened by 1,1/3/2016 09:00,"
        f"Created by 1,1/3/2016 09:00,Updated by 1,{updated},Phone,Location 1,Category 9,Subcategory 1,"
        f"Symptom 1,?,2 - Medium,2 - Medium,3 - Moderate,Group 1,?,false,false,Do Not Notify,?,?,?,?,"
        f"code 1,?,{resolved},?"
    )


def test_the_event_log_reader_summarises_each_incident(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    rows = [
        event("INC1", "New", 0, "1/3/2016 09:00"),
        event("INC1", "Active", 1, "1/3/2016 10:30", reassigned=1),
        event("INC1", "-100", 2, "1/3/2016 10:40"),  # a corrupt update: left out
        event("INC1", "Resolved", 3, "1/3/2016 12:00", reassigned=2, sla="false", resolved="1/3/2016 12:00"),
        event("INC2", "New", 0, "1/3/2016 09:00"),
    ]
    path.write_text("\n".join([EVENT_LOG_HEADER, *rows]) + "\n", encoding="utf-8")
    log = read_event_log(path)
    assert len(log) == 4
    incidents = incidents_of(log).set_index("number")
    summary = incidents.loc["INC1", ["status", "reassignments", "made_sla", "hours_to_resolve"]]
    assert summary.tolist() == ["Resolved", 2, False, 3]
    assert math.isnan(incidents.loc["INC2", "hours_to_resolve"])
    assert str(incidents.loc["INC1", "week"].date()) == "2016-02-29"  # 1 March 2016 was a Tuesday
    moves = analysis.transitions(state_history(log)).set_index(["from", "to"])
    assert moves["median_hours"].to_dict() == {("New", "Active"): 1.5, ("Active", "Resolved"): 1.5}


def test_a_file_that_is_no_event_log_is_named_with_what_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("number,title\nINC1,VPN\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tickets.csv is not a ServiceNow incident event log: no column .*opened_at"):
        read_event_log(path)


def test_telling_words_are_those_a_cluster_uses_more_than_the_rest() -> None:
    cluster = ["Printer jams on floor 3", "Printer jams again", "プリンターの紙詰まり"]
    others = ["VPN drops again", "Password reset again", "Outlook crashes on floor 3"]
    assert telling_words(cluster, cluster + others, n=2) == ["jams", "printer"]


def demo_kinds() -> dict[str, str]:
    """The demo's root causes, each with the kind of trouble (scenario) it belongs to."""
    scenarios = tomllib.loads((REPO_ROOT / "data" / "demo_scenarios.toml").read_text(encoding="utf-8"))["scenario"]
    return {p["cause"]: s["key"] for s in scenarios for lang in ("en", "ja") for p in s[lang]["problems"]}


@pytest.mark.slow
def test_recurring_problems_of_the_demo_group_one_kind_of_trouble(demo_settings: Settings) -> None:
    kinds = demo_kinds()
    with Workspace(demo_settings) as ws:
        found = recurring_problems(ws, dt.date(2026, 8, 24), dt.date(2026, 11, 22), top=10)
        causes = {i.id: i.root_cause for batch in ws.kb.resolved_incidents() for i in batch}
    assert len(found) == 10
    assert [p.size for p in found] == sorted((p.size for p in found), reverse=True)
    for problem in found:
        assert problem.size >= 3 and problem.words and problem.label
        members = [kinds[causes[i]] for i in problem.cases["id"] if i in causes]
        count = Counter(members).most_common(1)[0][1]
        assert count / len(members) >= 0.75, (problem.label, Counter(members))
    vpn = next(p for p in found if "vpn" in p.words)
    assert set(vpn.languages) == {"en", "ja"}  # the same trouble reported in both languages is one problem


def test_the_trends_page_shows_the_period_s_figures_to_a_lead(known: Analysis, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(known.settings, monkeypatch, user=LEAD, role="lead")
    goto(app, "app_pages/trends.py")
    app.date_input(key="trends_period").set_value((dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    run(app)
    work_off(known.settings)  # the recurring problems are the worker's to find
    run(app)
    shown = {m.label: m.value for m in app.metric}
    # Resolved in 24, 27 and 5 hours; one of the three cases with a level escalated (C has none yet); C is past its
    # 24-hour P2 target, the rest made theirs.
    assert {k: shown[k] for k in ("Incidents opened", "Median time to resolve", "Escalated")} == {
        "Incidents opened": "4",
        "Median time to resolve": "24.0 h",
        "Escalated": "33%",
    }
    assert shown["Resolved within target"] == "75%"
    assert "No group of similar reports in this period." in texts(app)
    app.radio(key="lang").set_value("ja")
    run(app)
    assert app.title[0].value == "インシデントの傾向" and not app.exception
