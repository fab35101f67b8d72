"""Every word a person reads comes from one catalogue, in English and Japanese: each code the code base uses is
there, in both languages, with the same placeholders; switching to 日本語 changes every word; values are worded by
their kind; and what people type is shown as typed, never read as a template."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from pathlib import Path

from kb.vocab import DECISIONS, ESCALATION_LEVELS, IMPACTS, ROLES
from pipeline.desk.queue import SORTS, VIEWS
from pipeline.desk.sla import STATES
from pipeline.settings import CRITERIA
from pipeline.text import ReportError
from pipeline.triage.targets import TARGETS
from pipeline.triage.training import METRICS, NotTrained
from pipeline.triage.versions import FIGURES
from words import CATALOGUE, Localized, Phrase, duration, say, say_all

REPO = Path(__file__).resolve().parent.parent
# Calls whose first argument is a code: phrases, phrased errors, and the edges' ways of wording one.
WORDING_CALLS = {"Phrase", "say", "t", "echo", "progress"}
# Codes built from a vocabulary at run time (``Phrase(f"level_{level}")``), each family with all its members.
FAMILIES = {
    "criterion_{}": CRITERIA,
    "criterion_short_{}": CRITERIA,
    "level_{}": ESCALATION_LEVELS,
    "scale_{}": IMPACTS,
    "target_{}": TARGETS,
    "rule_{}": ("model", "matrix", "outage", "checklist"),
    "sla_{}": STATES,
    "clock_{}": ("response", "resolution"),
    "reason_sure{}": ("", "_lead"),
    "reason_below_threshold{}": ("", "_lead"),
    "cli_classes_{}": ("better", "worse"),
    "classes_{}": ("better", "worse"),
    "decision_{}": DECISIONS,
    "role_{}": ROLES,
    "view_{}": VIEWS,
    "sort_{}": SORTS,
    "sla_state_{}": STATES,
    "threshold_source_{}": ("set", "too_few", "precision", "unreachable"),
    "figure_{}": tuple(FIGURES),
    "verdict_{}": ("better", "worse", "same"),
    "show_{}": ("all", "came_back_down", "avoidable"),
    "event_{}": ("create", "update", "delete", "add_message", "add_suggestion", "add_handoff", "add_follower"),
}


def _phrased_errors() -> set[str]:
    names = {"PhrasedError"}
    for path in REPO.glob("[!.]*/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") in names for b in node.bases):
                names.add(node.name)
    return names


def codes_used() -> dict[str, str]:
    """Each literal code the project's code hands to a phrase, an error or a wording call, with where."""
    calls = WORDING_CALLS | _phrased_errors()
    used = {}
    for folder in ("kb", "pipeline", "cli", "app_pages"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in calls and isinstance(node.args[0].value, str):
                    used[node.args[0].value] = f"{path.relative_to(REPO)}:{node.lineno}"
    return used


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_code_the_code_base_uses_is_in_the_catalogue() -> None:
    used = codes_used()
    assert len(used) > 300  # the scan finds them
    assert {code: where for code, where in used.items() if code not in CATALOGUE} == {}
    family = [pattern.format(member) for pattern, members in FAMILIES.items() for member in members]
    assert [code for code in family if code not in CATALOGUE] == []


def test_every_entry_has_both_languages_with_the_same_placeholders() -> None:
    for code, entry in CATALOGUE.items():
        assert set(entry) == {"en", "ja"} and entry["en"].strip() and entry["ja"].strip(), code
        assert placeholders(entry["en"]) == placeholders(entry["ja"]), code


def test_switching_to_japanese_changes_every_word() -> None:
    english_words = re.compile(r"[A-Za-z]{3,}")
    same_by_design = {"report_placeholder", "search_placeholder", "sla"}  # examples in both languages; an acronym
    untranslated = [
        code
        for code, entry in CATALOGUE.items()
        if english_words.findall(re.sub(r"\{[^}]*\}", "", entry["en"])) and entry["ja"] == entry["en"]
    ]
    assert sorted(untranslated) == sorted(same_by_design)


def test_values_are_worded_by_their_kind() -> None:
    status = Localized("In progress", "対応中")
    refused = Phrase("move_refused", old=status, new=Localized("New", "新規"), allowed=[])
    assert str(refused) == "a case cannot move from In progress to New (allowed: none)"
    assert refused.say("ja") == "ケースを「対応中」から「新規」へは移せません（移せる先: なし）"
    nested = Phrase("no_suggestion_for", target=Phrase("target_priority"), reason=Phrase("too_few_labels", counts={}))
    assert nested.say("ja") == "優先度の提案はありません: 2件以上あるラベルが2種類以上必要です（現在: なし）"
    assert say("sla_breached", "en", clock="Response", due=dt.timedelta(hours=2, minutes=5)) == (
        "Response overdue by 2 h 5 min"
    )
    assert duration(dt.timedelta(days=3, hours=4), "ja") == "3日4時間" and duration(-dt.timedelta(hours=1)) == "0 min"
    assert say_all([Phrase("reason_matrix_unsure"), Phrase("too_few_to_hold_out")], "ja").count("。") == 1


def test_a_stored_phrase_reads_back_whole_with_the_phrases_within_it() -> None:
    reason = Phrase("no_suggestion_for", target=Phrase("target_priority"), reason=Phrase("too_few_labels", counts={}))
    stored = METRICS.dump_python({"priority": NotTrained(reason)}, mode="json")
    assert METRICS.validate_python(stored)["priority"].reason == reason


def test_what_people_type_is_shown_as_typed_never_read_as_a_template() -> None:
    hostile = "{0} {__class__} {.__init__.__globals__} %s <script>alert(1)</script> **bold**"
    said = Phrase("reason_outage", words=hostile)
    assert hostile in str(said) and hostile in said.say("ja")
    assert say("row_problem", "en", line=3, reason=hostile) == f"line 3: {hostile}"


def test_a_code_or_value_gone_wrong_is_still_said_not_raised() -> None:
    assert say("no_such_code", "ja") == "no_such_code"
    assert "7" in say("incident_not_found", "en", id=7, extra=1)  # an extra value is harmless
    missing = say("incident_not_found", "en", wrong=7)  # a value missing: the template and the values, as they are
    assert "incident" in missing and "7" in missing


def test_phrased_errors_word_themselves_and_survive_a_trip_between_processes() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ReportError("report_empty")))
    assert isinstance(error, ValueError) and str(error).startswith("The report is empty")
    assert error.phrase.say("ja").startswith("報告が空です")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert say("report_empty", "fr") == say("report_empty", "en") != say("report_empty", "ja")
