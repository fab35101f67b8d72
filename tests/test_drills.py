"""Escalation drills: answers kept on both backends; drills drawn from resolved cases, favouring those where agents
disagreed or escalated too early or too late, never one twice in a row nor one the agent handled; answers scored
against the level that resolved the case and the criteria its hand-offs ticked (or the report matches); hostile
answers refused; an agent's results for them and the leads only; the page as an agent and as a lead."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator

import pytest
import streamlit as st

from kb import IncidentNotFound, InvalidValue, KnowledgeBase, NewSuggestion
from kb.drills import NewDrillAnswer
from pipeline.access import PermissionDenied, add_account
from pipeline.demo import DEMO_PASSWORD
from pipeline.desk.sla_config import SlaSettings
from pipeline.knowledge.drill_results import drill_results
from pipeline.knowledge.drills import NotADrill, answer_drill, pick_drill
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, OPERATOR, acct, add_resolved
from tests.test_app import open_app
from tests.test_app_desk import run, texts

AGENT, OTHER, LEAD = "Ann", "Ben", "Lea"
JST = dt.timezone(dt.timedelta(hours=9))


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """A time in November 2026, Tokyo time (the default calendar's): Friday 6, Saturday 7, Monday 9."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=JST)


def answer(agent: str, case: int, level: str, right: bool, when: dt.datetime) -> NewDrillAnswer:
    return NewDrillAnswer(
        agent, case, level, ["technical_limit"], "L2", ["technical_limit"], right, 1.0, 0.5 + right / 2
    )


def test_answers_are_kept_newest_first_per_agent_and_logged(kb: KnowledgeBase) -> None:
    with kb.write("setup") as w:
        case = w.add_incident(title="VPN", body="", language="en", status="resolved", escalation_level="L2")
    for agent, day in ((AGENT, 2), (OTHER, 3), (AGENT, 4)):
        with kb.write(agent, at=dt.datetime(2026, 11, day, tzinfo=dt.UTC)) as w:
            kept = w.add_drill_answer(answer(agent, case, "L2", True, at(day)))
    assert (kept.agent, kept.incident_id, kept.criteria, kept.level_right) == (AGENT, case, ["technical_limit"], True)
    assert [a.answered_at.day for a in kb.drill_answers(AGENT)] == [4, 2]
    assert [a.agent for a in kb.drill_answers()] == [AGENT, OTHER, AGENT]
    assert len(kb.drill_answers(limit=1)) == 1 and kb.drill_answers("nobody") == []
    with pytest.raises(InvalidValue), kb.write(AGENT) as w:
        w.add_drill_answer(answer(AGENT, case, "L9", False, at(5)))
    assert len(kb.drill_answers()) == 3  # the refused one left nothing
    logged = kb.events("drill_answer", kept.id)
    assert [(e.actor, e.action, e.new_value) for e in logged] == [(AGENT, "create", str(case))]
    assert not [e for e in kb.events("incident", case) if "drill" in e.action]  # not in the case's history


def handoff(ws: Workspace, case: int, level: str, when: dt.datetime, by: str = OTHER, criteria=()) -> None:
    with ws.kb.write(by, at=when) as w:
        w.add_handoff(case, level=level, holder="team", package="...", created_by=by, criteria=criteria)


@pytest.fixture
def business(settings: Settings) -> Iterator[Workspace]:
    """A workspace whose desk keeps the default business hours (Tokyo, 9:00-18:00 Monday to Friday, holidays)."""
    with Workspace(settings.model_copy(update={"sla": SlaSettings()})) as ws:
        yield ws


@pytest.fixture
def desk(business: Workspace) -> tuple[Workspace, dict[str, int]]:
    """Resolved cases with a known final level:

    PLAIN1..3 resolved at first line, nothing to argue about  | LATE  P2, 19 business hours at first line, L2
    EARLY escalated to L2 by Ben, resolved at L1 (came back down) | MINE resolved by Ann herself
    OPEN  still open (no drill)                                 | OVER  the suggested level overridden
    """
    ws = business
    for name, role in ((AGENT, "agent"), (OTHER, "agent"), (LEAD, "lead")):
        add_account(ws.kb, name, role, actor=OPERATOR, password=DEMO_PASSWORD)
    ids = {
        f"plain{i}": add_resolved(ws, f"Password reset {i}", "I forgot my password.", escalation_level="none")
        for i in (1, 2, 3)
    }
    ids["late"] = add_resolved(
        ws, "Payroll export fails", "The payroll export stops with error 0x1F; the vendor must look.",
        escalation_level="L2", priority="P2", created_at=at(5), resolved_at=at(10), resolution="Vendor patch.",
    )  # fmt: skip
    handoff(ws, ids["late"], "L2", at(9, 10), criteria=["technical_limit", "complexity"])
    ids["early"] = add_resolved(
        ws, "Outlook will not start", "Outlook closes at once.", escalation_level="L1", priority="P3",
        created_at=at(6, 10), resolved_at=at(9, 15), root_cause="Add-in",
    )  # fmt: skip
    handoff(ws, ids["early"], "L2", at(6, 11), criteria=["technical_limit"])
    ids["mine"] = add_resolved(ws, "Printer jam", "Paper stuck.", escalation_level="none", assignee=AGENT)
    ids["over"] = add_resolved(ws, "Teams crashes", "Teams crashes on start, urgent.", escalation_level="L1")
    with ws.kb.write("intake") as w:
        w.add_suggestions(ids["over"], [NewSuggestion("escalation_level", "none", "none", 0.9, 1, None)])
        w.decide(ids["over"], "escalation_level", decision="overridden", final_value="L1", user=OTHER)
        ids["open"] = w.add_incident(title="Open one", body="Still open.", language="en", status="new")
    return ws, ids


def test_drills_favour_disagreement_and_bad_timing_never_the_agents_own_nor_open_cases(desk) -> None:
    ws, ids = desk
    rng = random.Random(21)
    drawn = Counter(pick_drill(ws, acct(ws, AGENT), rng=rng).incident_id for _ in range(450))
    assert set(drawn) == {ids[k] for k in ("plain1", "plain2", "plain3", "late", "early", "over")}
    disputed = [drawn[ids[k]] for k in ("late", "early", "over")]
    plain = [drawn[ids[f"plain{i}"]] for i in (1, 2, 3)]
    # favour 4: 4 in 15 for each disputed case, 1 in 15 for each plain one.
    assert min(disputed) > 2 * max(plain)
    drill = pick_drill(ws, acct(ws, AGENT), rng=rng)
    assert set(vars(drill)) == {"incident_id", "title", "body"}  # the report, nothing the desk made of it
    # Ben handed off LATE and EARLY himself: never drawn for him.
    for_ben = {pick_drill(ws, acct(ws, OTHER), rng=rng).incident_id for _ in range(100)}
    assert ids["late"] not in for_ben and ids["early"] not in for_ben and ids["mine"] in for_ben
    for own, who in ((ids["mine"], AGENT), (ids["late"], OTHER)):  # nor answered, calling the pipeline directly
        with pytest.raises(NotADrill, match="you handled it"):
            answer_drill(ws, own, "none", [], actor=acct(ws, who))
    assert ws.kb.drill_answers() == []


def test_a_case_is_never_drawn_twice_in_a_row(desk) -> None:
    ws, _ = desk
    ws.settings.drills.not_again_within = 3
    ann, rng = acct(ws, AGENT), random.Random(4)
    seen = []
    for _ in range(12):
        drill = pick_drill(ws, ann, rng=rng)
        answer_drill(ws, drill.incident_id, "none", [], actor=ann)
        seen.append(drill.incident_id)
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert all(len(set(seen[i : i + 3])) == 3 for i in range(len(seen) - 2))  # nor within the last three


def test_with_a_single_case_it_is_drawn_again_only_after_another_answer(workspace: Workspace) -> None:
    ws = workspace
    add_account(ws.kb, AGENT, "agent", actor=OPERATOR, password=DEMO_PASSWORD)
    ann = acct(ws, AGENT)
    assert pick_drill(ws, ann) is None  # nothing resolved yet
    only = add_resolved(ws, "VPN", "VPN down", escalation_level="none")
    assert pick_drill(ws, ann).incident_id == only
    answer_drill(ws, only, "none", [], actor=ann)
    assert pick_drill(ws, ann) is None  # the one case was the last answered


def test_an_answer_is_scored_on_the_level_and_the_criteria_and_told_what_happened(desk) -> None:
    ws, ids = desk
    ann = acct(ws, AGENT)
    late = answer_drill(ws, ids["late"], "L2", ["technical_limit"], actor=ann)
    assert late.answer.level_right and late.answer.criteria_overlap == 0.5 and late.answer.score == 0.75
    assert [c.key for c in late.criteria] == ["technical_limit", "complexity"]
    assert late.resolution == "Vendor patch." and late.guide.code == "drills_guide_L2"
    said = [str(p) for p in late.what_happened]
    # Thursday 5 and Friday 6 whole days (9 h each) and Monday 9:00-10:00: 19 business hours, 79% of P2's 24.
    assert said[0] == "Handled at first line for 19 h 0 min of business time before the first hand-off."
    assert said[1].startswith("Handed off to L2 specialist team at 2026-11-09 01:00")
    assert said[2:] == [
        "Resolved at L2 specialist team.",
        "Escalated too late: 79% of its resolution target went by at first line.",
    ]

    early = answer_drill(ws, ids["early"], "L2", [], actor=ann)
    assert not early.answer.level_right and early.answer.score == 0.5 and early.answer.correct_level == "L1"
    assert "Escalated too early" in str(early.what_happened[-1])

    over = answer_drill(ws, ids["over"], "L1", ["time_constraint"], actor=ann)  # no hand-off: the report's words
    assert [(c.key, c.raises_to) for c in over.criteria] == [("time_constraint", "L1")]
    assert "urgent" in str(over.criteria[0].reasons[0]) and over.answer.score == 1.0
    assert "the level the assistant suggested was overridden" in str(over.what_happened[-1])

    plain = answer_drill(ws, ids["plain1"], "none", [], actor=ann)  # nothing to tick, nothing ticked: all right
    assert plain.answer.score == 1.0 and plain.criteria == ()


def test_a_criterion_that_sent_a_case_up_too_early_is_not_the_right_answer(desk) -> None:
    ws, ids = desk
    ann = acct(ws, AGENT)
    # EARLY: Ben ticked "technical limit" (at least L2) and handed it to L2; it was resolved at L1.
    right = answer_drill(ws, ids["early"], "L1", [], actor=ann)
    assert right.criteria == () and right.answer.score == 1.0
    repeated = answer_drill(ws, ids["early"], "L1", ["technical_limit"], actor=ann)
    assert repeated.answer.criteria_overlap == 0.0 and repeated.answer.score == 0.5


@pytest.mark.parametrize(
    ("level", "criteria", "error"),
    [
        ("L4", [], InvalidValue),
        ("", [], InvalidValue),
        ("L1", ["technical_limit", "<script>alert(1)</script>"], InvalidValue),
        ("L1", ["bribery"], InvalidValue),
    ],
)
def test_an_answer_outside_the_guide_is_refused_and_keeps_nothing(desk, level, criteria, error) -> None:
    ws, ids = desk
    with pytest.raises(error):
        answer_drill(ws, ids["late"], level, criteria, actor=acct(ws, AGENT))
    assert ws.kb.drill_answers() == []


def test_only_resolved_cases_with_a_known_level_are_drills(desk) -> None:
    ws, ids = desk
    ann = acct(ws, AGENT)
    with pytest.raises(NotADrill, match="cannot be a drill"):
        answer_drill(ws, ids["open"], "none", [], actor=ann)
    with pytest.raises(IncidentNotFound):
        answer_drill(ws, 999_999, "none", [], actor=ann)
    # Drawn, then reopened before the answer came (a stale drill).
    with ws.kb.write("setup") as w:
        w.update_incident(ids["plain2"], status="in_progress")
    with pytest.raises(NotADrill):
        answer_drill(ws, ids["plain2"], "none", [], actor=ann)
    assert ws.kb.drill_answers() == []


def test_an_agent_reads_their_own_results_and_only_leads_read_everyones(desk) -> None:
    ws, ids = desk
    for agent, day, right in ((AGENT, 2, True), (AGENT, 3, False), (AGENT, 10, True), (OTHER, 10, True)):
        with ws.kb.write(agent, at=dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC)) as w:
            w.add_drill_answer(answer(agent, ids["late"], "L2" if right else "none", right, at(day)))
    ann, lead = acct(ws, AGENT), acct(ws, LEAD)
    with pytest.raises(PermissionDenied):
        drill_results(ws, ann, OTHER)
    with pytest.raises(PermissionDenied):
        drill_results(ws, ann)  # everyone's
    own = drill_results(ws, ann, AGENT)
    assert own.agents[["agent", "answered", "right"]].values.tolist() == [[AGENT, 3, 2]]
    everyone = drill_results(ws, lead)
    weekly = everyone.weekly[["agent", "week", "answered", "share_right"]].values.tolist()
    assert weekly == [
        [AGENT, dt.date(2026, 11, 2), 2, 0.5],
        [AGENT, dt.date(2026, 11, 9), 1, 1.0],
        [OTHER, dt.date(2026, 11, 9), 1, 1.0],
    ]
    assert everyone.agents["answered"].tolist() == [3, 1]
    assert drill_results(ws, lead, OTHER).agents["agent"].tolist() == [OTHER]


def test_the_drill_page_shows_the_report_only_as_text_and_scores_the_answer(desk, monkeypatch) -> None:
    ws, ids = desk
    with ws.kb.write("setup") as w:  # every drawable case but one written in markup, the others out of reach
        for key in ("plain1", "plain2", "plain3", "late", "early", "over"):
            w.update_incident(ids[key], assignee=AGENT)
    hostile = add_resolved(
        ws, HTML_TITLE, "Body with <i>markup</i> and [a link](http://example.com) :red[x]", escalation_level="L1",
        category="SECRET-CATEGORY", priority="P1",
    )  # fmt: skip
    app = open_app(ws.settings, monkeypatch, "app_pages/drills.py", user=AGENT)
    shown = texts(app) + "\n".join(e.value for e in app.text)
    assert r"\<script\>" in shown and "<i>markup</i>" in "\n".join(e.value for e in app.text)
    assert "SECRET-CATEGORY" not in shown and "P1" not in shown and "Similar" not in shown
    assert not app.tabs  # an agent has no team tab
    app.button(key="drills_submit").click()
    run(app)
    assert "Choose a level first." in texts(app) and ws.kb.drill_answers() == []
    app.radio(key="drills_level").set_value("L2")
    app.checkbox(key="drills_criterion_technical_limit").check()
    app.button(key="drills_submit").click()
    run(app)
    shown = {m.label: m.value for m in app.metric}
    assert (shown["Score"], shown["Level right"], shown["Criteria in common"]) == ("0%", "No", "0%")
    assert "It was resolved at L1 senior helpdesk; you chose L2 specialist team." in texts(app)
    assert "Level 1: the senior helpdesk" in texts(app)
    [kept] = ws.kb.drill_answers(AGENT)
    assert (kept.incident_id, kept.chosen_level, kept.criteria) == (hostile, "L2", ["technical_limit"])
    st.cache_resource.clear()


def test_a_lead_sees_the_agreement_over_time(desk, monkeypatch) -> None:
    ws, ids = desk
    for day, right in ((2, True), (10, False)):
        with ws.kb.write(AGENT, at=dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC)) as w:
            w.add_drill_answer(answer(AGENT, ids["late"], "L2", right, at(day)))
    app = open_app(ws.settings, monkeypatch, "app_pages/drills.py", user=LEAD, role="lead")
    assert [tab.label for tab in app.tabs] == ["Practise", "The team's results"]
    assert "Agreement over time" in texts(app)
    assert app.get("vega_lite_chart")  # the chart, drawn
    [table] = [d for d in app.dataframe if d.value.get("agent") is not None]
    assert table.value[["agent", "answered", "right"]].values.tolist() == [[AGENT, 2, 1]]
    st.cache_resource.clear()
