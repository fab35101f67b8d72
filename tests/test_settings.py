"""Settings: one object, from keyword arguments, environment variables or a TOML file, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.desk.importer import import_incidents
from pipeline.desk.sla_config import SlaSettings
from pipeline.desk.values import parse_status
from pipeline.files import RowError
from pipeline.settings import Settings
from pipeline.workflow import TransitionRefused, Workflow
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR


def test_environment_beats_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "incident-kb.toml"
    config.write_text('embedding_model = "minilm"\nsearch_top_k = 7\n', encoding="utf-8")
    monkeypatch.setenv("INCIDENT_KB_CONFIG", str(config))
    monkeypatch.setenv("INCIDENT_KB_SEARCH_TOP_K", "12")
    settings = Settings()
    assert (settings.embedding_model, settings.search_top_k) == ("minilm", 12)
    assert Settings(search_top_k=3).search_top_k == 3


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_KB_SEARCH_TOP_K", "many")
    with pytest.raises(ValidationError, match="search_top_k"):
        Settings()


def test_the_index_lives_next_to_the_sqlite_file(tmp_path: Path) -> None:
    assert Settings(database_url=str(tmp_path / "kb.db")).resolved_index_path == tmp_path / "kb.index"
    settings = Settings(database_url=f"sqlite:///{tmp_path}/other.sqlite3")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/other.sqlite3"
    assert settings.resolved_index_path == tmp_path / "other.index"
    explicit = Settings(database_url="postgresql://kb@localhost/helpdesk", index_path=tmp_path / "pg.index")
    assert explicit.resolved_index_path == tmp_path / "pg.index"


def test_the_workflow_is_configured_in_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "incident-kb.toml"
    config.write_text(
        """
[statuses.new]
en = "Open"
ja = "受付"
next = ["on_hold", "resolved"]
[statuses.on_hold]
en = "On hold"
ja = "保留"
next = ["resolved"]
[statuses.resolved]
en = "Done"
ja = "完了"
next = ["closed"]
[statuses.closed]
en = "Closed"
ja = "終了"
[automatic_moves]
claim = { new = "on_hold" }
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("INCIDENT_KB_CONFIG", str(config))
    workflow = Workflow.from_settings(Settings())
    assert workflow.label("on_hold", "ja") == "保留"
    assert workflow.after("claim", "new") == "on_hold"
    assert workflow.after("reply", "new") is None  # not configured: replying moves nothing
    with pytest.raises(TransitionRefused, match="cannot move from Done to On hold"):
        workflow.check("resolved", "on_hold")


def test_a_workflow_naming_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError, match="moves to unknown status"):
        Settings(statuses={**Settings().statuses, "new": {"en": "New", "ja": "新規", "next": ["limbo"]}})
    with pytest.raises(ValidationError, match="must include closed"):
        Settings(statuses={k: v for k, v in Settings().statuses.items() if k != "closed"})
    with pytest.raises(ValidationError, match=r"paused_statuses names unknown status.*on_hold"):
        Settings(sla=SlaSettings(paused_statuses=["waiting_requester", "on_hold"]))


CUSTOM = {
    "new": {"en": "Open", "ja": "受付", "next": ["on_hold", "closed"]},
    "on_hold": {"en": "On hold", "ja": "保留", "next": ["closed"]},
    "resolved": {"en": "Done", "ja": "完了", "next": ["closed"]},
    "closed": {"en": "Closed", "ja": "終了", "next": []},
}


def test_the_statuses_come_from_the_settings_only(tmp_path: Path) -> None:
    """An import knows the workflow's statuses, not a list of its own, and resolving follows the workflow's resolve
    move: here straight to closed, from a status that may not move to resolved."""
    settings = Settings(
        database_url=str(tmp_path / "kb.db"), statuses=CUSTOM, automatic_moves={"resolve": {"*": "closed"}}
    )
    rows = tmp_path / "cases.csv"
    rows.write_text("title,status\nPrinter jam,on hold\nVPN down,in progress\n", encoding="utf-8")
    with Workspace(settings) as ws:
        report = import_incidents(ws.kb, rows, statuses=ws.workflow.statuses, actor=OPERATOR)
        assert [ws.kb.incident(i).status for i in report.added_ids] == ["on_hold"]
        assert [str(p) for p in report.problems] == [
            "line 3: status 'in progress' is not one of new, on_hold, resolved, closed"
        ]
        assert ws.workflow.resolved_status("on_hold") == "closed"
        with ws.kb.write("test") as w:
            case = w.add_incident(title="Mail bounces", language="en", status="new")
        record = ws.resolve(case, actor=OPERATOR, resolution="Fixed the MX record")
        assert (record.status, record.resolution) == ("closed", "Fixed the MX record")
        with pytest.raises(TransitionRefused, match="cannot move from Closed to On hold"):
            ws.workflow.check("closed", "on_hold")
    default = tuple(Settings().statuses)
    assert parse_status("On hold", default) == "waiting_requester"  # a common word for a status of the workflow
    with pytest.raises(RowError, match="status 'parked' is not one of new, triage, in_progress"):
        parse_status("parked", default)


def test_resolving_keeps_a_resolved_case_where_it_is_and_needs_a_move_from_elsewhere() -> None:
    workflow = Workflow.from_settings(Settings())
    assert workflow.resolved_status("closed") == "closed"  # correcting a closed case's resolution
    assert workflow.resolved_status("in_progress") == "resolved"
    only_new = Workflow.from_settings(Settings(automatic_moves={"resolve": {"new": "resolved"}}))
    with pytest.raises(TransitionRefused, match="no resolve move from In progress"):
        only_new.resolved_status("in_progress")  # never a resolution on a case left open
    with pytest.raises(ValidationError, match="resolving must lead to resolved, closed, not in_progress"):
        Settings(automatic_moves={"resolve": {"*": "in_progress"}})
