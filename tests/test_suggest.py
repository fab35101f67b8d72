"""Suggestions end to end on the demo knowledge base; model versions; the ITIL matrix and the escalation checklist."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import joblib
import pytest
from sqlalchemy import text

from kb import IncidentRecord
from pipeline.settings import Settings
from pipeline.triage.rules import RuleFigure, measure_rules
from pipeline.triage.search import SimilarCase
from pipeline.triage.suggest import Criterion, Suggestion, _escalation, _priority, propose_criteria
from pipeline.triage.thresholds import Thresholds
from pipeline.triage.training import HeldOut, HeldOutPredictions, SuggestionModelUnavailable
from pipeline.triage.versions import load_version, sign, signing_key, version_metrics
from pipeline.workspace import Workspace
from tests.conftest import acct
from words import say_all


def why(said: Suggestion | Criterion) -> str:
    """A suggestion's or a criterion's reasons, in English."""
    return say_all(said.reasons)


def sure(target: str, value: str, confidence: float = 0.95) -> Suggestion:
    return Suggestion(target, value, confidence, ((value, confidence),), 0.5)


def unsure(target: str, best: str) -> Suggestion:
    return Suggestion(target, None, 0.4, ((best, 0.4),), 0.8)


BACKED = {("matrix", "priority"): RuleFigure("matrix", "priority", 40, 38)} | {
    ("outage", target): RuleFigure("outage", target, 20, 19) for target in ("impact", "urgency", "priority")
}


def priority_of(direct, impact, urgency, text="x", settings=None, rules=BACKED):
    return _priority(direct, impact, urgency, text, settings or Settings(), rules, Thresholds(0.9))


def test_the_matrix_gives_the_priority_when_the_model_is_not_sure_and_cites_its_held_out_record() -> None:
    priority, _, _ = priority_of(unsure("priority", "P3"), sure("impact", "medium"), sure("urgency", "high"))
    assert priority.value == "P2" and priority.source == "matrix"
    assert "impact medium x urgency high = P2" in why(priority)
    assert "held out, this rule was right on 38 of 40 cases (95%)" in why(priority)


def test_an_edited_matrix_takes_effect() -> None:
    settings = Settings(
        priority_matrix={
            "high": {"high": "P1", "medium": "P1", "low": "P2"},
            "medium": {"high": "P1", "medium": "P2", "low": "P3"},
            "low": {"high": "P3", "medium": "P4", "low": "P4"},
        }
    )
    priority, _, _ = priority_of(
        unsure("priority", "P3"), sure("impact", "low"), sure("urgency", "high"), "x", settings
    )
    assert priority.value == "P3"


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (None, "it applied to no held-out case"),  # never measured (an older version, or no case it fits)
        (RuleFigure("matrix", "priority", 6, 6), "right on 6 of 6 cases (100%), too few or too seldom for the 90%"),
        (RuleFigure("matrix", "priority", 40, 30), "right on 30 of 40 cases (75%), too few or too seldom"),
    ],
)
def test_a_rule_without_a_held_out_record_at_the_target_only_proposes(record, says) -> None:
    rules = {} if record is None else {("matrix", "priority"): record}
    priority, _, _ = priority_of(
        unsure("priority", "P3"), sure("impact", "medium"), sure("urgency", "high"), rules=rules
    )
    assert priority.abstained and priority.best == "P3"  # the model's candidates, not the rule's value
    assert "only proposes P2" in why(priority) and says in why(priority)


def test_a_sure_model_stands_on_its_own_record_whatever_the_matrix_says() -> None:
    differs, _, _ = priority_of(sure("priority", "P4"), sure("impact", "low"), sure("urgency", "high"))
    assert differs.value == "P4" and differs.source == "model" and "the matrix would say" in why(differs)
    agree, _, _ = priority_of(sure("priority", "P2"), sure("impact", "low"), sure("urgency", "high"))
    assert agree.value == "P2" and agree.source == "model" and "agrees" in why(agree)


@pytest.mark.parametrize(
    "report",
    [
        "Email is down for everyone at the Osaka office",
        "The file server is down, about 40 people cannot work",
        "本社の全員がメールを送れず業務が止まっています",
    ],
)
def test_a_service_down_for_many_users_ranks_first_where_the_rule_held_up(report: str) -> None:
    priority, impact, urgency = priority_of(
        sure("priority", "P4"), sure("impact", "low"), sure("urgency", "low"), report
    )
    assert (priority.value, impact.value, urgency.value) == ("P1", "high", "high")
    assert priority.source == "outage" and "ranks first" in why(priority) and "19 of 20" in why(priority)


def test_outage_words_whose_rule_did_not_hold_up_leave_the_model_deciding() -> None:
    weak = {("outage", t): RuleFigure("outage", t, 30, 12) for t in ("impact", "urgency", "priority")}
    report = "Email is down for everyone at the Osaka office"
    priority, impact, _ = priority_of(
        sure("priority", "P3"), unsure("impact", "low"), sure("urgency", "low"), report, rules=weak
    )
    assert priority.value == "P3" and priority.source == "model"
    assert impact.abstained and "only proposes high" in why(impact) and "12 of 30" in why(impact)


def test_rules_are_measured_on_the_held_out_cases() -> None:
    def held(ids, truth, predicted, confidence=0.99):
        return HeldOutPredictions(ids, truth, predicted, [confidence] * len(ids))

    texts = {1: "mail is down for everyone", 2: "everyone lost the share", 3: "printer jam", 4: "printer jam"}
    holdout = {
        "priority": held([1, 2, 3, 4], ["P1", "P3", "P2", "P4"], ["P3", "P3", "P3", "P3"]),
        "impact": held([1, 2, 3, 4], ["high", "high", "medium", "low"], ["high", "high", "medium", "low"]),
        "urgency": held([1, 2, 3, 4], ["high", "low", "high", "low"], ["high", "high", "high", "low"]),
    }
    thresholds = {
        "impact": {"high": 0.5, "medium": 0.5, "low": 0.5},
        "urgency": {"high": 0.5, "low": float("inf")},
        "priority": {},  # the priority twin is never sure here: the matrix would decide on every case
    }
    figures = {(f.rule, f.target): f for f in measure_rules(texts, holdout, thresholds, Settings())}
    assert figures["outage", "priority"] == RuleFigure("outage", "priority", 2, 1)
    assert figures["outage", "impact"] == RuleFigure("outage", "impact", 2, 2)
    assert figures["outage", "urgency"] == RuleFigure("outage", "urgency", 2, 1)
    # The matrix applies where impact and urgency were both sure: cases 1-3 (urgency "low" never is).
    assert figures["matrix", "priority"] == RuleFigure("matrix", "priority", 3, 2)
    # Where the priority model is sure the matrix does not decide, so those cases are not its record.
    thresholds["priority"] = {"P3": 0.5}
    figures = {(f.rule, f.target): f for f in measure_rules(texts, holdout, thresholds, Settings())}
    assert figures["matrix", "priority"] == RuleFigure("matrix", "priority", 0, 0)


def test_impact_and_urgency_set_by_a_rule_do_not_feed_the_matrix() -> None:
    """The matrix's record counts the models' impact and urgency only; outage-set ones would borrow it unearned."""
    rules = {("outage", t): RuleFigure("outage", t, 20, 19) for t in ("impact", "urgency")} | {
        ("outage", "priority"): RuleFigure("outage", "priority", 20, 3),
        ("matrix", "priority"): RuleFigure("matrix", "priority", 40, 38),
    }
    report = "Email is down for everyone at the Osaka office"
    priority, impact, urgency = priority_of(
        unsure("priority", "P3"), unsure("impact", "low"), unsure("urgency", "low"), report, rules=rules
    )
    assert (impact.value, urgency.value) == ("high", "high") and impact.source == "outage"
    assert priority.abstained and "only proposes P1" in why(priority)


def _case(incident_id: int, level: str) -> SimilarCase:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    record = IncidentRecord(
        incident_id, "t", "b", "en", None, "Network", "P3", level, None, None, "resolved", None, now, now, now, "", ""
    )
    return SimilarCase(record, 0.8)


def test_criteria_are_proposed_with_reasons() -> None:
    similar = [_case(1, "L3"), _case(2, "L2"), _case(3, "none")]
    criteria = {
        c.key: c for c in propose_criteria("Urgent: please escalate, deadline today", similar, Settings(), ticked=None)
    }
    assert criteria["time_constraint"].proposed and '"Urgent"' in why(criteria["time_constraint"])
    assert criteria["customer_request"].proposed and '"escalate"' in why(criteria["customer_request"])
    assert criteria["technical_limit"].proposed and "2 of 3 similar cases went to L2 or L3" in why(
        criteria["technical_limit"]
    )
    assert not criteria["complexity"].proposed
    assert not any(c.ticked for c in criteria.values())  # proposals only: the agent ticks


def test_a_ticked_criterion_raises_the_level_to_its_setting() -> None:
    settings = Settings(criterion_levels={"technical_limit": "L3", "time_constraint": "L1", "complexity": "L2",
                                          "customer_request": "L1"})  # fmt: skip
    criteria = propose_criteria("keyboard sticky key", [], settings, ticked={"technical_limit"})
    raised = _escalation(sure("escalation_level", "L1"), criteria)
    assert raised.value == "L3" and raised.source == "checklist" and "raised from L1 to L3" in why(raised)
    kept = _escalation(sure("escalation_level", "L1"), propose_criteria("x", [], settings, ticked={"time_constraint"}))
    assert kept.value == "L1" and kept.source == "model"
    untouched = _escalation(sure("escalation_level", "none"), propose_criteria("x", [], settings, ticked=set()))
    assert untouched.value == "none"


@pytest.fixture(scope="module")
def demo(demo_settings: Settings):
    with Workspace(demo_settings) as ws:
        yield ws


def test_the_demo_suggests_with_reasons(demo: Workspace) -> None:
    t = demo.triage("VPNに接続できません。エラー809が出ます。")
    assert t.category.value == "Network" and t.category.confidence > 0.9
    assert t.category.supporters and all(s.label == "Network" for s in t.category.supporters)
    assert any(term in ("vpn", "ＶＰＮ", "809") for term, _ in t.category.terms)
    assert {c.key for c in t.criteria} == {"technical_limit", "time_constraint", "complexity", "customer_request"}
    assert t.model_version is not None


def test_where_it_is_not_sure_it_says_so_with_candidates(demo: Workspace) -> None:
    t = demo.triage("Something is wrong, please help")
    abstained = [s for s in (t.category, t.priority, t.escalation_level) if s.abstained]
    assert abstained, "a vague report should leave at least one suggestion unsure"
    for s in abstained:
        assert len(s.candidates) >= 2 and why(s).startswith("not sure")


def test_versions_round_trip_and_an_older_one_can_be_reactivated(demo_copy: Settings) -> None:
    # The demo has two versions: the model of eight weeks before (replayed at the desk) and the active one.
    report = "Printer on the 3rd floor jams on every page"
    with Workspace(demo_copy) as ws:
        first, second = sorted(ws.kb.model_versions(), key=lambda v: v.id)
        assert ws.kb.active_model_version().id == second.id
        before = ws.triage(report)
        ws.activate(first.id, actor=acct(ws, "Emily Carter"))
        older = ws.triage(report)
        assert older.model_version == first.id and older.category.candidates != before.category.candidates
        ws.activate(second.id, actor=acct(ws, "Emily Carter"))
        events = ws.kb.events("model_version", second.id)
        last = events[-1]
        assert (last.action, last.field, last.new_value, last.actor) == ("update", "active", "True", "Emily Carter")
    with Workspace(demo_copy) as ws:  # a new process reads the files back: the same fitted models
        after = ws.triage(report)
        assert after.model_version == second.id and after.category.candidates == before.category.candidates
        metrics = version_metrics(ws.kb.model_version(second.id))
        assert isinstance(metrics["category"], HeldOut) and metrics["category"].figures.accuracy > 0.9


def test_a_model_for_another_embedding_is_refused(demo: Workspace) -> None:
    record = demo.kb.active_model_version()
    with pytest.raises(
        SuggestionModelUnavailable, match=r"trained on use-ml.* embeddings, but the embedding model now"
    ):
        load_version(record, "minilm@0.1.0", signing_key(demo.settings))


def test_a_changed_model_file_is_refused(demo_copy: Settings) -> None:
    with Workspace(demo_copy) as ws:
        record = ws.kb.active_model_version()
    with open(record.artifact, "ab") as f:
        f.write(b"tampered")
    with Workspace(demo_copy) as ws, pytest.raises(SuggestionModelUnavailable, match="changed since it was saved"):
        ws.triage("VPN drops")  # a new process (the app, the CLI) reads the file and refuses it


def test_a_model_file_of_an_earlier_format_is_refused_by_name(demo: Workspace, tmp_path: Path) -> None:
    record = demo.kb.active_model_version()
    earlier = tmp_path / "suggestions-1.joblib"
    joblib.dump({"models": "of 0.2.0"}, earlier, compress=3)  # how versions were saved until pickle replaced it
    key = signing_key(demo.settings)
    registered = dataclasses.replace(record, artifact=str(earlier), signature=sign(earlier.read_bytes(), key))
    with pytest.raises(SuggestionModelUnavailable, match=r"cannot be read \(UnpicklingError.*incident-kb train"):
        load_version(registered, record.embedding_model, key)


def test_a_model_saved_by_another_scikit_learn_is_refused(demo: Workspace) -> None:
    record = demo.kb.active_model_version()
    older = dataclasses.replace(
        record, settings=record.settings | {"library_versions": {"incident-kb": "0.1.0", "scikit-learn": "0.24.2"}}
    )
    with pytest.raises(SuggestionModelUnavailable, match=r"scikit-learn 0.24.2 -> .*run `incident-kb train`"):
        load_version(older, record.embedding_model, signing_key(demo.settings))


def test_a_replaced_model_file_is_refused_even_with_its_registry_row_rewritten(candidate_copy: Settings) -> None:
    with Workspace(candidate_copy) as ws:
        active, candidate = ws.kb.active_model_version(), ws.kb.model_versions()[0]
        planted = pickle.dumps({"not": "the models"})
        Path(candidate.artifact).write_bytes(planted)
        with ws.kb.engine.begin() as c:  # whoever can write the database signs it too, with a key of their own
            c.execute(
                text("UPDATE model_versions SET signature = :s WHERE id = :i"),
                {"s": sign(planted, b"a guessed key"), "i": candidate.id},
            )
        with pytest.raises(SuggestionModelUnavailable, match="changed since it was saved"):
            ws.activate(candidate.id, actor=acct(ws, "Emily Carter"))
        assert ws.kb.active_model_version().id == active.id  # the version in force stays
        assert ws.triage("VPN drops").model_version == active.id
    key_file = candidate_copy.signing_key_file
    assert key_file.stat().st_mode & 0o077 == 0 and not key_file.is_relative_to(candidate_copy.resolved_model_dir)
