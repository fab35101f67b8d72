"""The knowledge base on a real SQLite file: schema, transactions, vocabulary, requesters and the event log."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from kb import (
    IncidentNotFound,
    InvalidValue,
    KnowledgeBase,
    KnowledgeBaseBusy,
    KnowledgeBaseUnavailable,
    NewSuggestion,
    StaleEdit,
    pgvector,
)
from kb.models import Base
from kb.schema import alembic_config, current_revision, head_revision
from pipeline.triage.training import HeldOut, NotHeldOut, NotTrained
from pipeline.triage.versions import version_metrics
from pipeline.workspace import Workspace


def test_schema_is_migrated_to_head_and_matches_the_models(kb: KnowledgeBase) -> None:
    assert current_revision(kb.engine) == head_revision()
    # PostgreSQL's search tables belong to the pgvector index (kb.pgvector), not to the ORM's models.
    ours = {"include_name": lambda name, kind, _: not (kind == "table" and name in pgvector.TABLES)}
    with kb.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts=ours), Base.metadata)
    assert diff == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(kb: KnowledgeBase) -> None:
    with kb.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with pytest.raises(IntegrityError), kb.write("test") as w:
        w.add_incident(title="x", language="en", requester_id=999)


def test_reopening_an_existing_database_keeps_its_data(make_kb) -> None:
    kb = make_kb("same.db")
    with kb.write("alice") as w:
        incident_id = w.add_incident(title="Printer jam", language="en")
    kb.close()
    assert make_kb("same.db").incident(incident_id).title == "Printer jam"


def test_every_write_is_logged_with_who_when_and_from_what_to_what(kb: KnowledgeBase) -> None:
    with kb.write("alice") as w:
        incident_id = w.add_incident(title="VPN drops", body="every 10 minutes", language="en", priority="P3")
    with kb.write("bob") as w:
        w.update_incident(incident_id, priority="P2", assignee="bob")
    created, *updates = kb.events("incident", incident_id)
    assert created.action == "create" and created.actor == "alice"
    assert json.loads(created.new_value)["title"] == "VPN drops"
    changes = {(e.field, e.old_value, e.new_value, e.actor) for e in updates}
    assert changes == {("priority", "P3", "P2", "bob"), ("assignee", None, "bob", "bob")}
    assert all(e.at.tzinfo is not None for e in updates)


def test_the_event_log_is_append_only(kb: KnowledgeBase) -> None:
    with kb.write("alice") as w:
        w.add_incident(title="x", language="en")
    statements = ["UPDATE events SET actor = 'mallory'", "DELETE FROM events"]
    if kb.is_postgresql:
        statements.append("TRUNCATE events")  # SQLite has no TRUNCATE; PostgreSQL's skips row triggers
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"), kb.engine.begin() as connection:
            connection.execute(text(statement))
    assert kb.events("incident", 1)[0].actor == "alice"


def test_a_write_needs_an_actor(kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="actor"), kb.write("  "):
        pass


def test_a_bad_value_is_refused_by_name_and_the_whole_transaction_rolls_back(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidValue, match=r"priority must be one of P1, P2, P3, P4; got 'urgent'"), kb.write("a") as w:
        w.add_incident(title="first", language="en")
        w.add_incident(title="second", language="en", priority="urgent")
    assert kb.stats().incidents == 0


def test_unknown_fields_are_refused_with_the_valid_ones(kb: KnowledgeBase) -> None:
    with kb.write("a") as w:
        incident_id = w.add_incident(title="x", language="en")
    with pytest.raises(TypeError, match="editable fields"), kb.write("a") as w:
        w.update_incident(incident_id, colour="red")


def test_a_missing_incident_is_named(kb: KnowledgeBase) -> None:
    with pytest.raises(IncidentNotFound, match="no incident has id 42"):
        kb.incident(42)


def test_times_are_kept_in_utc_whatever_zone_they_come_in(kb: KnowledgeBase) -> None:
    with kb.write("a") as w:
        incident_id = w.add_incident(title="x", language="en")
    at = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with kb.write("b") as w:
        w.update_incident(incident_id, status="resolved", resolution="Replaced cable", resolved_at=at)
    record = kb.incident(incident_id)
    assert (record.status, record.resolution) == ("resolved", "Replaced cable")
    assert record.resolved_at == at and record.resolved_at.tzinfo == dt.UTC


def test_a_requester_has_several_addresses_each_owned_once(kb: KnowledgeBase) -> None:
    with kb.write("admin") as w:
        taro = w.add_requester("山田 太郎", ["Taro <Taro.Yamada@Example.jp>", "t.yamada@old.example.jp"])
        hanako = w.add_requester("Hanako", ["hanako@example.jp"])
    assert kb.requester(taro).emails == ("taro.yamada@example.jp", "t.yamada@old.example.jp")
    assert kb.requester_by_email("T.YAMADA@old.example.jp").id == taro
    with pytest.raises(InvalidValue, match=f"already belongs to requester {taro}"), kb.write("admin") as w:
        w.link_email(hanako, "taro.yamada@example.jp")
    with kb.write("admin") as w:
        w.unlink_email("t.yamada@old.example.jp")
        w.link_email(hanako, "t.yamada@old.example.jp")
    assert kb.requester(hanako).emails == ("hanako@example.jp", "t.yamada@old.example.jp")
    actions = [(e.action, e.new_value or e.old_value) for e in kb.events("requester", taro)]
    assert ("unlink_email", "t.yamada@old.example.jp") in actions
    with pytest.raises(InvalidValue, match="not an e-mail address"), kb.write("admin") as w:
        w.add_requester("x", ["not-an-address"])


def test_corpus_version_follows_the_searchable_knowledge_only(kb: KnowledgeBase) -> None:
    start = kb.corpus_version()
    with kb.write("a") as w:
        open_id = w.add_incident(title="open case", language="en")
    assert kb.corpus_version() == start  # an open case is not knowledge yet
    with kb.write("a") as w:
        w.update_incident(open_id, assignee="bob")
    assert kb.corpus_version() == start
    with kb.write("a") as w:
        w.update_incident(open_id, status="resolved", resolution="done")
    resolved = kb.corpus_version()
    assert resolved != start
    with kb.write("a") as w:
        w.update_incident(open_id, assignee="carol")
    assert kb.corpus_version() == resolved
    with kb.write("a") as w:
        w.update_incident(open_id, body="more detail")
    assert kb.corpus_version() != resolved


def test_two_databases_never_share_a_corpus_version(make_kb) -> None:
    assert make_kb("a.db").corpus_version() != make_kb("b.db").corpus_version()


def test_naive_datetimes_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(Exception, match="no time zone"), kb.write("a") as w:
        w.add_incident(title="x", language="en", created_at=dt.datetime(2026, 1, 1))


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path) -> None:
    path = tmp_path / "kb.db"
    path.write_bytes(b"not a database at all" * 200)
    with pytest.raises(KnowledgeBaseUnavailable, match=f"cannot open the knowledge base sqlite:///{path}: file is not"):
        KnowledgeBase(f"sqlite:///{path}")
    assert path.read_bytes() == b"not a database at all" * 200


def test_a_change_bumps_the_version_and_an_edit_on_an_older_one_is_refused_naming_who(kb: KnowledgeBase) -> None:
    with kb.write("sato") as w:
        case = w.add_incident(title="Printer jams", language="en")
    seen = kb.incident(case).version
    with kb.write("tanaka") as w:
        w.update_incident(case, expected_version=seen, priority="P2")
    assert kb.incident(case).version == seen + 1
    with pytest.raises(StaleEdit, match="changed by tanaka"), kb.write("sato") as w:
        w.update_incident(case, expected_version=seen, priority="P4")
    assert kb.incident(case).priority == "P2"


def test_two_writers_of_the_same_version_at_once_cannot_both_win(kb: KnowledgeBase) -> None:
    with kb.write("intake") as w:
        case = w.add_incident(title="VPN down", language="en")
    version = kb.incident(case).version
    errors: list[Exception] = []
    inside = threading.Event()

    def second_writer() -> None:
        inside.wait()
        try:
            with kb.write("tanaka") as w:
                w.update_incident(case, expected_version=version, assignee="tanaka")
        except StaleEdit as exc:
            errors.append(exc)

    other = threading.Thread(target=second_writer)
    other.start()
    with kb.write("sato") as w:
        w.update_incident(case, expected_version=version, assignee="sato", status="in_progress")
        inside.set()  # the other writer now reads the case at the same version and waits for this one to commit
        time.sleep(0.3)
    other.join()
    assert kb.incident(case).assignee == "sato"
    assert len(errors) == 1 and "changed" in str(errors[0])


def test_case_parts_are_logged_in_the_case_history(kb: KnowledgeBase) -> None:
    with kb.write("intake") as w:
        case = w.add_incident(title="Mail bounces", language="en")
        w.add_suggestions(case, [NewSuggestion("category", "Email", "Email", 0.93, None, None)])
        w.add_message(case, kind="from_requester", author="a@example.com", body="It bounces")
    with kb.write("sato") as w:
        w.decide(case, "category", decision="overridden", final_value="Network", user="sato", reason="MX record")
        w.follow(case, "sato")
    with pytest.raises(InvalidValue, match="decision must be one of"), kb.write("sato") as w:
        w.decide(case, "category", decision="ignored", final_value="Email", user="sato")
    history = [(e.actor, e.action, e.field, e.new_value) for e in kb.events("incident", case)]
    assert ("sato", "update", "suggestion.category.decision", "overridden") in history
    assert ("sato", "update", "suggestion.category.final_value", "Network") in history
    assert {a for _, a, _, _ in history} >= {"create", "add_suggestion", "add_message", "add_follower"}
    assert kb.suggestions(case)[0].reason == "MX record"
    assert kb.followed_by("sato") == {case}


def test_model_metrics_stored_by_an_earlier_release_are_read_as_typed_outcomes(tmp_path) -> None:
    """Migration 0005: figures, a bare "held_out" note and a "skipped" list become the three typed outcomes."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        figures = {"accuracy": 0.9, "macro_f1": 0.8, "per_class": {"Email": {"precision": 1, "recall": 1, "f1": 1,
                   "support": 12}}, "coverage_at_precision": {"0.9": 0.7}, "calibration_error": 0.01,
                   "abstaining": {"coverage": 0.8, "precision": 0.95}}  # fmt: skip
        old = {
            "category": figures | {"train_seconds": 3.0, "n_train": 60},
            "priority": {"held_out": "too few cases to hold any out", "train_seconds": 1.0, "n_train": 5},
            "skipped": {"impact": "needs at least two labels with two cases each; has {}"},
        }
        connection.execute(
            text(
                "INSERT INTO model_versions (created_at, artifact, sha256, embedding_model, snapshot, n_train, "
                "settings, metrics, active) VALUES ('2026-11-20 00:00:00', 'm.joblib', 'x', 'use-ml@0.2.1', 's', 60, "
                "'{}', :metrics, 1)"
            ),
            {"metrics": json.dumps(old)},
        )
    engine.dispose()
    with KnowledgeBase(url) as kb:
        metrics = version_metrics(kb.model_version(1))
        assert kb.model_version(1).signature == "unsigned"  # migration 0008: a plain hash proves nothing
    category, priority, impact = metrics["category"], metrics["priority"], metrics["impact"]
    assert isinstance(category, HeldOut) and (category.n_train, category.n_held_out) == (60, 12)
    assert category.figures.accuracy == 0.9 and category.figures.coverage_at_precision == {0.9: 0.7}
    assert isinstance(priority, NotHeldOut) and str(priority.reason) == "too few cases to hold any out"
    assert isinstance(impact, NotTrained) and "needs at least two labels" in str(impact.reason)


def test_a_write_kept_waiting_past_the_busy_timeout_is_refused_as_busy_and_changes_nothing(make_kb) -> None:
    importer = make_kb()
    with importer.write("setup") as w:
        case = w.add_incident(title="VPN drops", language="en")
    # SQLite locks the whole file for a write, PostgreSQL the row: both writers touch the same case.
    with KnowledgeBase(importer.url.render_as_string(hide_password=False), busy_seconds=0.2) as agent:
        with importer.write("import") as w:
            w.update_incident(case, priority="P2")  # the import holds the lock
            started = time.monotonic()
            busy = pytest.raises(KnowledgeBaseBusy, match=r"busy with another change.*nothing was changed")
            with busy, agent.write("agent") as other:
                other.add_incident(title="filed meanwhile", language="en")
                other.update_incident(case, priority="P1")
            assert time.monotonic() - started < 5
        assert importer.incident(case).priority == "P2" and importer.stats().incidents == 1
        with agent.write("agent") as other:  # once the import is done, trying again works
            other.add_incident(title="filed meanwhile", language="en")
        assert agent.stats().incidents == 2


def test_half_written_files_of_dead_processes_are_removed_at_start_and_live_ones_kept(settings) -> None:
    folder = settings.resolved_index_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    dead = folder / f"{settings.resolved_index_path.name}.tmp-{dead_pid()}"
    alive = folder / f"{settings.resolved_index_path.name}.tmp-{os.getpid()}"
    models = settings.resolved_model_dir
    models.mkdir(parents=True, exist_ok=True)
    dead_model = models / f"suggestions-1.pickle.tmp-{dead_pid()}"
    for path in (dead, alive, dead_model):
        path.write_bytes(b"half")
    with Workspace(settings):
        pass
    assert not dead.exists() and not dead_model.exists() and alive.exists()


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
