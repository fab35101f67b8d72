"""The leads' review on knowledge bases with a known history: the exact figures of suggestion quality, escalation
review and knowledge base health, as the pipeline computes them and as the pages show them; thresholds that take
effect on the next suggestion; versions retrained, compared, discarded and rolled back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kb import InvalidValue, NewSuggestion
from pipeline.access import add_account
from pipeline.demo import DEMO_PASSWORD
from pipeline.desk import intake
from pipeline.desk.sla_config import SlaSettings
from pipeline.review import computed
from pipeline.review.escalation_review import COLUMNS, escalation_review
from pipeline.review.kb_health import health_report
from pipeline.review.suggestion_quality import NOT_SURE, quality_report
from pipeline.settings import Settings
from pipeline.triage.thresholds import Thresholds, class_table, curves, restore_thresholds, set_thresholds
from pipeline.triage.training import is_held_out
from pipeline.triage.versions import discard_version
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR, acct, add_resolved, work_off
from tests.test_app import as_user, open_app
from tests.test_app_desk import goto, run, texts
from words import say_all

LEAD = "Emily Carter"  # a lead of the demo team, and of the small desks built here


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def suggest(ws: Workspace, case: int, value: str | None, best: str, confidence: float, day: int) -> None:
    with ws.kb.write("intake") as w:
        w.add_suggestions(case, [NewSuggestion("category", value, best, confidence, 1, None, created_at=at(day))])


def decide(ws: Workspace, case: int, decision: str, final: str, day: int, reason: str = "") -> None:
    with ws.kb.write("Ann", at=at(day, 15)) as w:
        w.decide(case, "category", decision=decision, final_value=final, user="Ann", reason=reason)


@pytest.fixture
def history(workspace: Workspace) -> tuple[Workspace, dict[str, int]]:
    """Five category suggestions over two weeks (Mon 2 and Mon 9 November 2026), with what became of them:

    A sure Network, accepted, resolved Network      | B sure Network, overridden to Email, resolved Email
    C not sure (Printing), open and undecided       | D sure Email, accepted, open
    E not sure (Email), the agent chose Hardware, resolved Hardware
    """
    ws = workspace
    add_account(ws.kb, LEAD, "lead", actor=OPERATOR, password=DEMO_PASSWORD)
    add_account(ws.kb, "Ann", "agent", actor=OPERATOR, password=DEMO_PASSWORD)
    with ws.kb.write("setup") as w:
        ids = {
            name: w.add_incident(title=f"case {name}", body=f"report {name}", language="en", created_at=at(day))
            for name, day in (("A", 2), ("B", 3), ("C", 4), ("D", 9), ("E", 10))
        }
    suggest(ws, ids["A"], "Network", "Network", 0.9, 2)
    suggest(ws, ids["B"], "Network", "Network", 0.8, 3)
    suggest(ws, ids["C"], None, "Printing", 0.4, 4)
    suggest(ws, ids["D"], "Email", "Email", 0.95, 9)
    suggest(ws, ids["E"], None, "Email", 0.5, 10)
    decide(ws, ids["A"], "accepted", "Network", 2)
    decide(ws, ids["B"], "overridden", "Email", 3, reason="It is the mailbox, not the network")
    decide(ws, ids["D"], "accepted", "Email", 9)
    decide(ws, ids["E"], "overridden", "Hardware", 10, reason="The docking station")
    for name, category in (("A", "Network"), ("B", "Email"), ("E", "Hardware")):
        ws.resolve(ids[name], actor=acct(ws, "Ann"), resolution="Done.", category=category)
    return ws, ids


def test_suggestion_quality_figures_per_target_class_and_week(history) -> None:
    ws, ids = history
    report = quality_report(ws.kb)
    category = report.by_target.set_index("target").loc["category"]
    assert category[["suggestions", "sure", "accepted", "overridden", "judged"]].tolist() == [5, 3, 2, 1, 3]
    assert category["coverage"] == pytest.approx(0.6)
    assert category["acceptance_rate"] == pytest.approx(2 / 3)
    assert category["override_rate"] == pytest.approx(1 / 3)
    assert category["precision"] == pytest.approx(2 / 3)  # A right, B wrong, D right (by the agent's decision)

    weeks = report.by_week.set_index("week")
    first, second = weeks.loc[pd.Timestamp("2026-11-02")], weeks.loc[pd.Timestamp("2026-11-09")]
    assert first[["suggestions", "sure", "accepted", "overridden"]].tolist() == [3, 2, 1, 1]
    assert (first["coverage"], first["acceptance_rate"], first["precision"]) == pytest.approx((2 / 3, 0.5, 0.5))
    assert second[["suggestions", "sure", "accepted", "overridden"]].tolist() == [2, 1, 1, 0]
    assert (second["coverage"], second["acceptance_rate"], second["precision"]) == pytest.approx((0.5, 1.0, 1.0))

    classes = report.by_class.set_index("class")
    assert classes.loc["Network", ["suggestions", "sure", "accepted", "overridden"]].tolist() == [2, 2, 1, 1]
    assert classes.loc["Network", "precision"] == pytest.approx(0.5)
    assert classes.loc["Printing", ["suggestions", "sure", "judged"]].tolist() == [1, 0, 0]
    assert pd.isna(classes.loc["Printing", "precision"])  # nothing sure to judge
    assert classes.loc["Email", ["suggestions", "sure", "coverage", "precision"]].tolist() == [2, 1, 0.5, 1.0]

    confusion = report.confusion("category")  # C's outcome is not known yet: left out
    assert confusion.to_dict() == {
        NOT_SURE: {"Email": 0, "Hardware": 1, "Network": 0},
        "Email": {"Email": 1, "Hardware": 0, "Network": 0},
        "Network": {"Email": 1, "Hardware": 0, "Network": 1},
    }
    # Choosing where the assistant was not sure (E) is not an override of it.
    assert report.overrides[["incident_id", "value", "final_value", "reason"]].values.tolist() == [
        [ids["B"], "Network", "Email", "It is the mailbox, not the network"]
    ]


@pytest.fixture
def lead_app(history, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    yield open_app(history[0].settings, monkeypatch, user=LEAD)
    st.cache_resource.clear()


def test_the_quality_page_shows_the_figures_and_the_override_one_click_from_its_case(lead_app, history) -> None:
    b = history[1]["B"]
    goto(lead_app, "app_pages/quality.py")
    shown = {m.label: m.value for m in lead_app.metric}
    assert {k: shown[k] for k in ("Suggestions", "Coverage", "Precision", "Accepted", "Overridden")} == {
        "Suggestions": "5",
        "Coverage": "60.0%",
        "Precision": "66.7%",
        "Accepted": "66.7%",
        "Overridden": "33.3%",
    }
    assert "It is the mailbox, not the network" in [t.value for t in lead_app.text]
    assert f"#{b}" in texts(lead_app) and "The docking station" not in texts(lead_app)
    link = next(e for e in lead_app.get("page_link") if e.proto.label == f"Open case #{b}")
    assert link.proto.query_string == f"id={b}"
    lead_app.radio(key="lang").set_value("ja")
    run(lead_app)
    assert lead_app.title[0].value == "提案の品質" and "カバー率" in [m.label for m in lead_app.metric]


def test_only_leads_and_admins_see_the_review(lead_app, history) -> None:
    as_user(lead_app, "Ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an agent's navigation
        lead_app.switch_page("app_pages/quality.py")
    # Opened directly (a shared link), the page itself refuses.
    page = AppTest.from_file(str(Path(__file__).parent.parent / "app_pages" / "quality.py"), default_timeout=30)
    page.session_state["account"] = acct(history[0], "Ann")
    run(page)
    assert "Only leads and admins see this page." in texts(page) and not page.metric


@pytest.fixture
def escalations(workspace: Workspace) -> tuple[Workspace, dict[str, int]]:
    """R1 resolved at first line; X1 (the same problem) escalated to L2 after 3 h, resolved at L1; X2 escalated to
    L1 after 30 min, then to L3; H1 history resolved at L2 without hand-offs; N1 never escalated."""
    ws = workspace
    vpn = "The VPN drops every hour when I work from the train wifi and I have to log in again."
    r1 = add_resolved(ws, "VPN drops every hour", vpn, escalation_level="none", created_at=at(1), resolved_at=at(1, 12))
    h1 = add_resolved(
        ws, "Printer firmware update bricked the device", "The printer on floor 3 no longer starts after the "
        "firmware update.", escalation_level="L2", root_cause="Vendor firmware bug", created_at=at(3),
        resolved_at=at(6),
    )  # fmt: skip
    n1 = add_resolved(ws, "Password reset", "I forgot my password.", escalation_level="none", root_cause="Forgot")
    with ws.kb.write("setup") as w:
        x1 = w.add_incident(title="VPN keeps dropping", body=vpn, language="en", created_at=at(10), status="new")
        x2 = w.add_incident(
            title="Payroll export fails", body="The payroll export stops with error 0x1F before the deadline.",
            language="en", created_at=at(11, 8), status="new",
        )  # fmt: skip
    ws.reindex()
    for case, level, criteria, when in (
        (x1, "L2", ["technical_limit"], at(10, 12)),
        (x2, "L1", ["time_constraint"], at(11, 8, 30)),
        (x2, "L3", ["technical_limit", "customer_request"], at(12, 8)),
    ):
        with ws.kb.write("Ann", at=when) as w:
            w.add_handoff(case, level=level, holder="team", package="...", created_by="Ann", criteria=criteria)
    ws.resolve(
        x1, actor=OPERATOR, resolution="Reinstalled the VPN client.", root_cause="Old client", escalation_level="L1"
    )
    return ws, dict(r1=r1, h1=h1, n1=n1, x1=x1, x2=x2)


def test_the_escalation_review_of_a_known_history(escalations) -> None:
    ws, ids = escalations
    review = escalation_review(ws)
    cases = review.cases.set_index("incident_id")
    assert set(cases.index) == {ids["x1"], ids["x2"], ids["h1"]}
    x1, x2, h1 = cases.loc[ids["x1"]], cases.loc[ids["x2"]], cases.loc[ids["h1"]]
    assert (x1["hours_to_escalation"], x1["first_level"], x1["peak_level"], x1["final_level"]) == (
        3.0,
        "L2",
        "L2",
        "L1",
    )
    assert x1["came_back_down"] and x1["criteria"] == "technical_limit"
    assert x1["resolved_without_escalation"] == ids["r1"] and x1["similarity"] >= 0.85
    assert (x2["hours_to_escalation"], x2["first_level"], x2["peak_level"]) == (0.5, "L1", "L3")
    assert pd.isna(x2["final_level"]) and not x2["came_back_down"]
    assert x2["criteria"] == "customer_request, technical_limit, time_constraint"
    assert pd.isna(h1["hours_to_escalation"]) and (h1["first_level"], h1["final_level"]) == ("L2", "L2")
    assert pd.isna(h1["resolved_without_escalation"])
    assert review.criteria.set_index("criterion")["ticked"].to_dict() == {
        "technical_limit": 2,
        "time_constraint": 1,
        "complexity": 0,
        "customer_request": 1,
    }
    assert review.criteria.set_index("criterion").loc["technical_limit", "share"] == pytest.approx(2 / 3)
    assert review.levels.to_dict() == {"L1": {"L2": 1}, "L2": {"L2": 1}}
    csv = review.to_csv().splitlines()
    assert csv[0].startswith("incident_id,title,created_at,escalated_at,hours_to_escalation") and len(csv) == 4

    # The period counts cases by when they came in.
    assert set(escalation_review(ws, since=dt.date(2026, 11, 10)).cases["incident_id"]) == {ids["x1"], ids["x2"]}


def test_too_late_and_too_early_are_counted_in_business_time_per_agent_and_category(settings: Settings) -> None:
    """Tokyo business hours (9:00-18:00, Monday to Friday); P2's resolution target is 24 business hours, so more than
    12 at first line is too late. Friday 6 November 2026 17:00 to Monday 9 12:00 is 67 clock hours but 4 business
    hours: not too late. Thursday 5 9:00 to Monday 9 10:00 is 19 business hours: too late."""
    jst = dt.timezone(dt.timedelta(hours=9))
    with Workspace(settings.model_copy(update={"sla": SlaSettings()})) as ws:
        cases = {}
        for name, created, handed, level, final, by, category in (
            ("weekend", (6, 17), (9, 12), "L2", "L2", "Ann", "Network"),
            ("late", (5, 9), (9, 10), "L2", "L3", "Ann", "Network"),
            ("late_but_l1", (5, 9), (9, 10), "L1", "L1", "Ben", "Email"),
            ("early", (9, 9), (9, 9, 30), "L2", "none", "Ben", "Email"),
        ):
            created_at = dt.datetime(2026, 11, *created, tzinfo=jst)
            cases[name] = add_resolved(
                ws, f"Case {name}", f"Report {name}", escalation_level=final, priority="P2", category=category,
                created_at=created_at, resolved_at=created_at + dt.timedelta(days=5),
            )  # fmt: skip
            with ws.kb.write(by, at=dt.datetime(2026, 11, *handed, tzinfo=jst)) as w:
                w.add_handoff(cases[name], level=level, holder="team", package="...", created_by=by)
        review = escalation_review(ws)
    rows = review.cases.set_index("incident_id")
    flags = {name: (rows.loc[i, "too_late"], rows.loc[i, "too_early"]) for name, i in cases.items()}
    assert flags == {
        "weekend": (False, False),
        "late": (True, False),
        "late_but_l1": (False, False),  # resolved at L1: slow, but not a case for L2 or L3
        "early": (False, True),
    }
    assert rows.loc[cases["weekend"], "first_line_hours"] == 4.0
    assert rows.loc[cases["late"], "share_of_target"] == pytest.approx(19 / 24)
    assert (review.summary.too_late, review.summary.too_early) == (1, 1)
    by_agent = review.by_agent.set_index("agent")
    assert by_agent[["escalations", "too_late", "too_early"]].to_dict("index") == {
        "Ann": {"escalations": 2, "too_late": 1, "too_early": 0},
        "Ben": {"escalations": 2, "too_late": 0, "too_early": 1},
    }
    assert by_agent.loc["Ann", "share_too_late"] == 0.5
    assert review.by_category.set_index("category")["escalations"].to_dict() == {"Network": 2, "Email": 2}


def test_time_waiting_for_the_requester_is_not_counted_as_first_lines_delay(settings: Settings) -> None:
    """As the SLA clock stops while the case waits for the requester, so does first line's: Thursday 5 9:00 to
    Monday 9 10:00 is 19 business hours, 17 of them (Thursday 10:00 to Monday 9:00) waiting: 2 h, not too late."""
    jst = dt.timezone(dt.timedelta(hours=9))
    with Workspace(settings.model_copy(update={"sla": SlaSettings()})) as ws:
        created_at = dt.datetime(2026, 11, 5, 9, tzinfo=jst)
        case = add_resolved(
            ws, "Payroll export fails", "Error 0x1F", escalation_level="L2", priority="P2", created_at=created_at,
            resolved_at=created_at + dt.timedelta(days=5),
        )  # fmt: skip
        for when, old, new in (((5, 10), "in_progress", "waiting_requester"), ((9, 9), "waiting_requester", "triage")):
            with ws.kb.write("Ann", at=dt.datetime(2026, 11, *when, tzinfo=jst)) as w:
                w.record_event("incident", case, "update", field="status", old_value=old, new_value=new)
        with ws.kb.write("Ann", at=dt.datetime(2026, 11, 9, 10, tzinfo=jst)) as w:
            w.add_handoff(case, level="L2", holder="team", package="...", created_by="Ann")
        row = escalation_review(ws).cases.set_index("incident_id").loc[case]
    assert row["first_line_hours"] == 2.0 and not row["too_late"]


def test_an_escalation_review_kept_before_too_late_was_judged_reads_back_with_nothing_flagged() -> None:
    old = (7, "VPN", at(1), at(2), 24.0, "L1", "L2", "L1", True, "", None, None)  # the columns there were
    before = dict(zip(COLUMNS[:12], old, strict=True))
    kept = computed.encode({"cases": pd.DataFrame([before]), "criteria": pd.DataFrame(), "levels": pd.DataFrame()})
    review = computed.read("escalations", kept)
    assert list(review.cases.columns) == list(COLUMNS) and review.by_agent.empty and review.by_category.empty
    assert (review.summary.came_back_down, review.summary.too_late, review.summary.too_early) == (1, 0, 0)


def test_the_escalation_review_and_health_pages_show_the_figures(escalations, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _ = escalations
    app = open_app(ws.settings, monkeypatch, user=LEAD, role="admin")
    app.session_state["esc_period"] = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    goto(app, "app_pages/escalations.py")
    assert "escalations: waiting for the worker" in texts(app)  # the worker's to compute
    assert "Escalated cases" not in {m.label for m in app.metric}
    work_off(ws.settings)
    run(app)
    shown = {m.label: m.value for m in app.metric}
    assert shown["Escalated cases"] == "3" and shown["Median time to escalation"] == "1.8 h"
    assert shown["Came back down"] == "1" and shown["Resolved before without escalation"] == "1"
    assert (shown["Too late"], shown["Too early"]) == ("0", "1")  # X1 came back down, and R1 had shown the fix
    assert len(app.dataframe[-1].value) == 3
    by_agent = next(d.value for d in app.dataframe if "agent" in d.value)
    assert by_agent[["agent", "escalations", "too_early"]].values.tolist() == [["Ann", 2, 1]]
    app.segmented_control(key="esc_show").set_value("too_early")
    run(app)
    assert app.dataframe[-1].value["incident_id"].tolist() == [ws.kb.handoffs()[0].incident_id]
    assert app.get("download_button")[0].proto.label == "Export as CSV"

    goto(app, "app_pages/health.py")
    work_off(ws.settings)
    run(app)
    shown = {m.label: m.value for m in app.metric}
    assert (shown["Without a resolution"], shown["Without a root cause"], shown["Near-duplicate pairs"]) == (
        "0",
        "1",
        "1",
    )
    st.cache_resource.clear()


def test_knowledge_base_health(escalations) -> None:
    ws, ids = escalations
    report = health_report(ws)
    incomplete = report.incomplete.set_index("incident_id")
    assert incomplete.index.tolist() == [ids["r1"]]  # resolved with "Fixed." but no root cause
    assert incomplete.loc[ids["r1"], ["no_resolution", "no_root_cause"]].tolist() == [False, True]
    pairs = report.near_duplicates[["incident_id", "other_id"]].values.tolist()
    assert pairs == [[ids["r1"], ids["x1"]]]  # the same VPN problem, twice in the knowledge base
    assert report.held_out_abstention.empty  # no model trained here


# -- thresholds and versions, on the demo knowledge base with its trained model ------------------------------------

REPORT = "Outlook keeps asking for my password since this morning"


def test_a_lead_threshold_takes_effect_on_the_next_suggestion_and_is_versioned(demo_copy: Settings) -> None:
    with Workspace(demo_copy) as ws:
        before = ws.triage(REPORT).category
        assert before.value is not None and ws.thresholds().version is None
        first = set_thresholds(
            ws.kb,
            actor=acct(ws, LEAD),
            precision={"category": 0.95},
            class_thresholds={"category": {before.value: 1.0}},
            note="too many wrong mailbox suggestions",
        )
        after = ws.triage(REPORT)
        assert after.category.value is None and after.category.best == before.value
        assert after.threshold_version == first.id and "set by a lead" in say_all(after.category.reasons)
        [created] = [e for e in ws.kb.events("threshold_policy", first.id) if e.action == "create"]
        assert created.actor == LEAD and "too many wrong" in created.new_value

        # A case filed now records the threshold version its suggestions were judged by.
        case = intake.submit(ws, actor=acct(ws, "Raj Mehta"), title="Outlook", body=REPORT)
        assert {s.threshold_version for s in ws.kb.suggestions(case)} == {first.id}

        set_thresholds(ws.kb, actor=acct(ws, LEAD), precision={}, class_thresholds={})
        assert ws.triage(REPORT).category.value == before.value
        restored = restore_thresholds(ws.kb, first.id, actor=acct(ws, LEAD))
        assert (restored.id, restored.class_thresholds) == (first.id + 2, first.class_thresholds)
        assert ws.triage(REPORT).category.value is None
        with pytest.raises(InvalidValue, match="between 0 and 1"):
            set_thresholds(
                ws.kb, actor=acct(ws, LEAD), precision={}, class_thresholds={"category": {before.value: 1.5}}
            )


def test_curves_and_class_table_come_from_the_held_out_cases(demo_copy: Settings) -> None:
    with Workspace(demo_copy) as ws:
        models = ws.suggestion_models()
        held = models.holdout["category"]
        assert held.ids and all(is_held_out(i) for i in held.ids)
        lines = curves(models, "category")
        for _, group in lines.groupby("class"):
            assert group["coverage"].is_monotonic_increasing and group["coverage"].iloc[-1] == 1.0
        table = class_table(models, Thresholds(0.9), "category").set_index("class")
        assert table["held_out_suggestions"].sum() == len(held.ids)
        strict = class_table(models, Thresholds(0.9, {}, {"category": {"Email": 1.0}}), "category").set_index("class")
        assert (strict.loc["Email", "source"], strict.loc["Email", "coverage"]) == ("set", 0.0)


def test_compare_activate_discard_and_roll_back(candidate_copy: Settings) -> None:
    with Workspace(candidate_copy) as ws:
        active, candidate = ws.kb.active_model_version(), ws.kb.model_versions()[0]
        assert (active.id, candidate.id) == (2, 3)  # a candidate waits for a lead
        comparison = ws.compare_versions(candidate.id)
        assert comparison.baseline == active.id and set(comparison.targets) >= {"category", "priority"}
        category = comparison.targets["category"]
        held_out = sum(is_held_out(i.id) for batch in ws.kb.resolved_incidents() for i in batch if i.category)
        assert category.cases == held_out
        # Trained on the same data with the same seed, the two versions do exactly the same.
        assert category.figures["baseline"].tolist() == category.figures["candidate"].tolist()
        assert set(category.classes["verdict"]) == {"same"}

        ws.activate(candidate.id, actor=acct(ws, LEAD))
        assert ws.suggestion_models().version == candidate.id
        ws.activate(active.id, actor=acct(ws, LEAD))  # roll back
        assert ws.kb.active_model_version().id == active.id
        with pytest.raises(InvalidValue, match="active one"):
            discard_version(ws.kb, active.id, actor=acct(ws, LEAD))
        discard_version(ws.kb, candidate.id, actor=acct(ws, LEAD))
        assert not Path(candidate.artifact).exists() and ws.kb.model_version(candidate.id).discarded_at
        with pytest.raises(InvalidValue, match="discarded"):
            ws.activate(candidate.id, actor=acct(ws, LEAD))
