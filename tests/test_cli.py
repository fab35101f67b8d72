"""The incident-kb command line, run as a user would (click's CliRunner, real files, real models)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli import cli
from kb import KnowledgeBase
from pipeline.access import SignInRefused, sign_in
from pipeline.demo import DEMO_PASSWORD, INCIDENTS_FILE, REQUESTERS_FILE, TEAM_FILE, start_over
from pipeline.settings import REPO_ROOT, Settings
from tests.conftest import demo_date
from tests.test_browser import free_port

COMMANDS = [
    "api", "demo", "evaluate", "import", "models", "reindex", "resolve", "review", "search", "serve", "settings",
    "suggest", "thresholds", "train", "users",
]  # fmt: skip


def run(*args: str, db: Path | None = None) -> tuple[int, str]:
    """Exit code and everything printed (stdout, then stderr)."""
    prefix = ["--db", str(db)] if db else []
    result = CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_help_lists_every_command_and_each_has_help() -> None:
    code, output = run("--help")
    assert code == 0
    listed = output.split("Commands:")[1]
    assert all(f"  {name} " in listed for name in COMMANDS)
    for name in COMMANDS:
        code, output = run(name, "--help")
        assert code == 0 and "Usage: incident-kb " + name in output.replace("cli ", "incident-kb ")


def test_import_reports_problems_by_line_then_indexes(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("Subject,Text,Prio\nVPN drops,every ten minutes,2\n,,3\nPrinter jam,tray 2,P9\n", encoding="utf-8")
    db = tmp_path / "kb.db"
    code, output = run(
        "import", str(data), "--map", "title=Subject", "--map", "body=Text", "--map", "priority=Prio", db=db
    )
    assert code == 0, output
    assert "line 3: no title and no body" in output
    assert "line 4: priority 'P9' is not one of P1-P4" in output
    assert "t.csv: 3 rows read, 1 added, 2 left out with problems." in output
    assert "Index: 1 resolved incidents" in output
    # Again, now without reading Prio: the row that failed on it is added, the stored one is not repeated.
    code, output = run("import", str(data), "--map", "title=Subject", "--map", "body=Text", db=db)
    assert "3 rows read, 1 added, 1 already in the knowledge base, 1 left out with problems." in output


def test_a_bad_file_is_one_line_without_traceback(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_bytes("title\nプリンター\n".encode("cp932"))
    code, output = run("import", str(data), db=tmp_path / "kb.db")
    assert code == 1 and "Error: t.csv is not valid UTF-8 text" in output and "Traceback" not in output
    code, output = run("import", str(tmp_path / "missing.csv"), db=tmp_path / "kb.db")
    assert code == 2 and "does not exist" in output


def test_search_resolve_and_reindex(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    data = tmp_path / "t.jsonl"
    rows = [
        {"title": "VPN drops every ten minutes", "resolution": "Updated the VPN client"},
        {"title": "メールが送信できない", "body": "送信トレイに残る", "resolution": "添付ファイルを小さくした"},
        {"title": "Teams has no sound", "status": "in_progress"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert run("import", str(data), db=db)[0] == 0

    code, output = run("search", "メールを送れません", "-k", "1", "--json", db=db)
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1])["title"] == "メールが送信できない"

    # A resolution carrying terminal control sequences (clear the screen, ring the bell) is stored without them.
    code, output = run("resolve", "3", "--resolution", "Chose the headset\x1b[2J\x07 as audio device", db=db)
    assert code == 0 and "#3 resolved and indexed" in output
    code, output = run("search", "no audio in Teams meetings", "-k", "1", db=db)
    assert "Teams has no sound" in output and "-> Chose the headset" in output
    assert "\x1b" not in output and "\x07" not in output

    code, output = run("reindex", db=db)
    assert code == 0 and "Indexed 3 resolved incidents" in output
    code, output = run("resolve", "99", "--resolution", "x", db=db)
    assert code == 1 and "no incident has id 99" in output
    code, output = run("search", "   ", db=db)
    assert code == 1 and "The report is empty" in output


@pytest.mark.slow
def test_demo_builds_once_and_again_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every fourth demo incident, over the whole time span: the command behaves the same, the build costs less.
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in (REQUESTERS_FILE, TEAM_FILE):
        shutil.copy(REPO_ROOT / "data" / name, demo)
    lines = (REPO_ROOT / "data" / INCIDENTS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)[::4]
    (demo / INCIDENTS_FILE).write_text("".join(lines), encoding="utf-8")
    monkeypatch.setenv("INCIDENT_KB_DEMO_DIR", str(demo))
    n = len(lines)
    db = tmp_path / "demo.db"
    code, output = run("demo", db=db)
    assert code == 0, output
    assert f"demo_incidents.jsonl: {n} rows read, {n} added." in output
    assert f"Demo knowledge base ready: {n} incidents" in output
    code, output = run("demo", db=db)
    assert code == 0 and f"already holds {n} incidents; nothing to do" in output
    code, output = run("--lang", "ja", "demo", db=db)
    assert code == 0 and f"すでに {n} 件のインシデントがあります" in output
    settings = Settings(database_url=str(db))
    with KnowledgeBase(settings.resolved_database_url) as kb:
        assert sign_in(kb, settings, "raj.mehta@example.com", DEMO_PASSWORD).account.name == "Raj Mehta"
        with kb.engine.begin() as c:  # as a demo built before accounts signed in left its team
            c.execute(text("UPDATE users SET password_hash = NULL, email = NULL"))
    assert run("demo", db=db)[0] == 0  # nothing to build, but the team can sign in again
    with KnowledgeBase(settings.resolved_database_url) as kb:
        assert sign_in(kb, settings, "raj.mehta@example.com", DEMO_PASSWORD).account.name == "Raj Mehta"
        trained_on, older = kb.active_model_version().embedding_model, kb.active_model_version().id
        assert "+minilm@" in trained_on  # the suggestion models read both embedding models
        with kb.engine.begin() as c:  # as a demo trained on the multilingual model alone left its version
            c.execute(text("UPDATE model_versions SET embedding_model = 'use-ml@0.2.1'"))
    assert run("demo", db=db)[0] == 0  # nothing to build, but a version that fits is trained
    with KnowledgeBase(settings.resolved_database_url) as kb:
        assert kb.active_model_version().embedding_model == trained_on and kb.active_model_version().id > older
    with KnowledgeBase(f"sqlite:///{db}") as kb, kb.write("test") as w:
        w.set_meta("demo", "building")  # as a build stopped by Ctrl-C leaves it
    # Building again is the first run's path (above); that it starts from scratch shows in the files it then
    # misses, before anything is imported.
    monkeypatch.setenv("INCIDENT_KB_DEMO_DIR", str(tmp_path / "elsewhere"))
    code, output = run("demo", db=db)
    assert code == 1 and "was interrupted before it finished; building it again" in output
    assert INCIDENTS_FILE in output and "Traceback" not in output
    with KnowledgeBase(f"sqlite:///{db}") as kb:
        assert kb.stats().incidents == 0 and not kb.meta("demo")


def test_recreate_deletes_the_sqlite_knowledge_base_with_its_index_and_models(tmp_path: Path) -> None:
    settings = Settings(database_url=str(tmp_path / "kb.db"))
    with KnowledgeBase(settings.resolved_database_url) as kb, kb.write("test") as w:
        w.add_incident(title="scratch", language="en")
    settings.resolved_index_path.write_bytes(b"index")
    settings.resolved_model_dir.mkdir()
    for old_and_new in ("suggestions-1.joblib", "suggestions-2.pickle"):
        (settings.resolved_model_dir / old_and_new).write_bytes(b"model")
    assert not start_over(settings)  # neither asked nor interrupted: kept
    assert settings.sqlite_path.exists()
    assert not start_over(settings, recreate=True)
    assert not settings.sqlite_path.exists() and not settings.resolved_index_path.exists()
    assert not list(settings.resolved_model_dir.iterdir())
    code, output = run("--db", "postgresql://localhost/kb", "demo", "--recreate")
    assert code == 1 and "--recreate only deletes SQLite files" in output


def test_settings_lists_every_setting_with_its_variable(tmp_path: Path) -> None:
    code, output = run("settings", db=tmp_path / "x.db")
    assert code == 0
    for name in Settings.model_fields:
        assert f"INCIDENT_KB_{name.upper()}:" in output
    assert f"database_url = {tmp_path / 'x.db'}" in output


def test_suggest_compare_activate_and_discard_from_the_command_line(candidate_copy: Settings) -> None:
    db = Path(candidate_copy.database_url)
    # The demo's two versions (the model of eight weeks before, replayed at the desk, and the active one) and a
    # candidate trained on the same data.
    code, output = run("models", "list", db=db)
    assert [line[:4] for line in output.splitlines()] == ["  v3", "* v2", "  v1"]
    assert "category 99." in output.splitlines()[1]  # the held-out accuracy of each measured target
    code, output = run("suggest", "VPNに接続できません。エラー809が出ます。", "--json", db=db)
    assert code == 0, output
    result = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert result["category"]["value"] == "Network" and result["model_version"] == 2
    assert set(result["criteria"]) == {"technical_limit", "time_constraint", "complexity", "customer_request"}
    code, output = run("models", "compare", "3", db=db)
    assert code == 0 and "v2 (baseline) against v3 (candidate)" in output and "coverage_at_0.9" in output
    code, output = run("models", "activate", "3", db=db)
    assert code == 0 and "Model version 3 is now active" in output
    code, output = run("--lang", "ja", "models", "activate", "2", db=db)
    assert code == 0 and "モデル v2 を有効にしました" in output
    code, output = run("models", "discard", "3", db=db)
    assert code == 0 and run("models", "list", db=db)[1].splitlines()[0].startswith("x v3")
    code, output = run("models", "activate", "7", db=db)
    assert code == 1 and "no trained model has version 7" in output
    code, output = run("--lang", "ja", "models", "activate", "7", db=db)
    assert code == 1 and "バージョン 7 の学習済みモデルはありません" in output and "Traceback" not in output


def test_search_and_suggest_fold_near_identical_cases_as_the_pages_do(demo_copy: Settings) -> None:
    db = Path(demo_copy.database_url)
    code, output = run("search", "今日はCRMが非常に遅い", "--json", db=db)
    entries = [json.loads(line) for line in output.strip().splitlines()]
    assert code == 0 and len(entries) == 10  # entries, each possibly holding several cases
    folded = [e for e in entries if e["folded"]]
    assert folded and all(sum(n for _, n in e["fixes"]) <= 1 + len(e["folded"]) for e in folded)
    shown = [e["id"] for e in entries] + [i for e in entries for i in e["folded"]]
    assert len(shown) == len(set(shown))  # no case twice
    code, output = run("search", "今日はCRMが非常に遅い", db=db)
    assert code == 0 and "Happened" in output and "near-identical cases folded here" in output
    code, output = run("suggest", "今日はCRMが非常に遅い", db=db)
    assert code == 0 and re.search(r"similar cases: .*\(0\.\d\d x\d+\)", output), output


def test_thresholds_and_the_review_from_the_command_line(demo_copy: Settings, tmp_path: Path) -> None:
    db = Path(demo_copy.database_url)
    code, output = run("thresholds", "--precision", "category=0.95", "--class", "category:Email=1", db=db)
    assert code == 0 and "version 1" in output and "category 'Email': suggested from confidence 1.00" in output
    code, output = run("suggest", "Outlook keeps asking for my password", db=db)
    assert output.splitlines()[0].startswith("category    not sure (Email")
    code, output = run("thresholds", "--class", "category:Email=", db=db)
    assert code == 0 and "version 2" in output and "Email" not in output
    code, output = run("thresholds", "--precision", "category", db=db)
    assert code == 2 and "write TARGET=P" in output

    code, output = run("review", "quality", db=db)  # the demo's 215 replayed cases and 22 open ones
    assert code == 0 and output.splitlines()[1].split()[:3] == ["category", "237", "235"]
    csv = tmp_path / "escalations.csv"
    code, output = run("review", "escalations", "--since", demo_date(demo_copy, "2026-09-01"), "--csv", str(csv), db=db)
    assert code == 0 and "handed off through the desk" in output
    assert csv.read_text().startswith("incident_id,title,created_at,escalated_at,hours_to_escalation")
    since, until = demo_date(demo_copy, "2026-08-24"), demo_date(demo_copy, "2026-11-22")
    code, output = run("review", "problems", "--since", since, "--until", until, "--top", "2", db=db)
    assert code == 0 and output.count(" reports (") == 2 and "#" in output
    code, output = run("review", "problems", "--since", until, "--until", until, db=db)  # after the last report
    assert code == 0 and "No group of similar reports in this period." in output


def test_users_are_added_listed_locked_out_given_a_password_and_disabled_by_the_operator(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    code, output = run_with_input(
        "long enough password\n", "users", "add", "Ada", "--role", "admin", "--email", "ada@example.com",
        "--password-stdin", db=db,
    )  # fmt: skip
    assert code == 0 and "Added Ada (admin)." in output
    code, output = run_with_input("short\n", "users", "add", "Bo", "--password-stdin", db=db)
    assert code == 1 and "A password needs 10 to 1024 characters." in output and "Traceback" not in output
    code, output = run_with_input("bo's password 1\n", "users", "add", "Bo", "--password-stdin", db=db)
    assert code == 0 and "Added Bo (agent)." in output
    settings = Settings(database_url=str(db))
    with KnowledgeBase(settings.resolved_database_url) as kb:
        for _ in range(5):
            with pytest.raises(SignInRefused):
                sign_in(kb, settings, "Bo", "wrong password")
        events = [(e.actor, e.field) for e in kb.events("user", kb.user("Ada").id)]
    assert events[0][0].startswith("operator (")  # the command line acts as the operator, and says so
    code, output = run("users", "list", db=db)
    assert code == 0 and "ada@example.com" in output and "locked until" in output
    code, output = run_with_input("a brand new one\n", "users", "passwd", "Bo", "--password-stdin", db=db)
    assert code == 0 and "Password of Bo set" in output
    with KnowledgeBase(settings.resolved_database_url) as kb:
        assert sign_in(kb, settings, "Bo", "a brand new one").account.name == "Bo"
    code, output = run("users", "disable", "Bo", db=db)
    assert code == 0 and "Bo is disabled" in output
    code, output = run("users", "disable", "Ada", db=db)
    assert code == 1 and "Ada is the last active admin" in output
    code, output = run("users", "passwd", "Nobody", "--password-stdin", db=db)
    assert code == 1 and "Nobody" in output and "Traceback" not in output


def run_with_input(text: str, *args: str, db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], input=text, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_serve_listens_where_the_settings_say(tmp_path: Path) -> None:
    port = free_port()
    api_port = free_port()
    env = {
        **os.environ,
        "INCIDENT_KB_DATABASE_URL": str(tmp_path / "kb.db"),
        "INCIDENT_KB_PORT": str(port),
        "INCIDENT_KB_API__PORT": str(api_port),
    }
    cli_path = Path(sys.executable).with_name("incident-kb")
    process = subprocess.Popen(
        [str(cli_path), "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        # The app's health, then the API beside it.
        for url in (f"http://127.0.0.1:{port}/_stcore/health", f"http://127.0.0.1:{api_port}/api/v1/openapi.json"):
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        assert response.status == 200
                        break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
                    time.sleep(0.5)
        children = psutil.Process(process.pid).children(recursive=True)
        assert {"streamlit", "worker", "api"} <= {part for child in children for part in child.cmdline()}
    finally:
        process.terminate()
        process.wait(timeout=60)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []  # the app, the worker and the API stop with it
