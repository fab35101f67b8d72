"""What PostgreSQL adds: one similar-case index in the database (pgvector) for every app process, several
processes over one database, and a clear refusal where the pgvector extension is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kb import KnowledgeBase, KnowledgeBaseUnavailable, PgVectorMissing
from kb.pgvector import PgVectorIndex
from pipeline import jobs
from pipeline.settings import Settings
from pipeline.triage.evaluate import EvaluationError, evaluate_retrieval, read_pairs, scratch_database
from pipeline.triage.indexing import Encoders
from pipeline.triage.thresholds import set_thresholds
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR, add_resolved, work_off
from tests.postgres import TestPostgres

RUN_ON = ("postgresql",)
ROOT = Path(__file__).resolve().parent.parent


def other_processes(settings: Settings, tmp_path: Path, *jobs: tuple[str, str]) -> Callable[[], list[dict]]:
    """Start one app process per (action, argument) of ``jobs`` on the same database; once all are ready, the
    returned function lets them go at once and gives back what each reports."""
    go = tmp_path / "go"
    url = settings.resolved_database_url
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.other_process", url, str(tmp_path / f"p{n}.index"), str(go), action, arg],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for n, (action, arg) in enumerate(jobs)
    ]
    for process in running:
        assert process.stdout.readline().strip() == "ready"

    def release() -> list[dict]:
        go.touch()
        results = []
        for process in running:
            out, _ = process.communicate(timeout=120)
            assert process.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results

    return release


@pytest.mark.slow
def test_a_case_resolved_in_one_process_is_found_by_the_next_search_in_another(
    workspace: Workspace, settings: Settings, tmp_path: Path
) -> None:
    add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    workspace.index()
    release = other_processes(settings, tmp_path, ("search", "the laptop battery is bulging"))
    with workspace.kb.write("agent") as w:
        case = w.add_incident(title="Laptop battery swollen", body="the case no longer closes", language="en")
    workspace.resolve(case, actor=OPERATOR, resolution="Replaced the battery")
    [found] = release()
    assert found["titles"][0] == "Laptop battery swollen" and found["notices"] == 0  # nothing rebuilt there


def test_two_processes_claiming_one_case_at_once_have_exactly_one_winner(
    workspace: Workspace, settings: Settings, tmp_path: Path
) -> None:
    with workspace.kb.write("requester") as w:
        case = w.add_incident(title="Laptop will not boot", body="black screen", language="en")
    results = other_processes(settings, tmp_path, ("claim", str(case)), ("claim", str(case)))()
    winners = [r for r in results if r["won"]]
    assert len(winners) == 1
    [loser] = [r for r in results if not r["won"]]
    assert winners[0]["assignee"] in loser["error"]
    assert workspace.kb.incident(case).assignee == winners[0]["assignee"]


def test_a_threshold_set_in_one_process_holds_for_the_next_suggestion_in_another(
    workspace: Workspace, settings: Settings, tmp_path: Path
) -> None:
    release = other_processes(settings, tmp_path, ("thresholds", ""))
    policy = set_thresholds(workspace.kb, actor=OPERATOR, precision={"category": 0.95}, class_thresholds={})
    assert release() == [{"version": policy.id}]


@pytest.mark.slow
def test_cases_imported_edited_or_reopened_elsewhere_are_taken_into_the_shared_index(workspace: Workspace) -> None:
    printer = add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    assert [c.incident.id for c in workspace.similar_cases("printer paper jam", k=3)] == [printer]
    # Written straight to the database, as an import is: no search index was told.
    imported = add_resolved(workspace, "Outlook cannot send mail", "messages stay in the outbox")
    assert workspace.similar_cases("mail stuck in outbox", k=1)[0].incident.id == imported
    with workspace.kb.write("agent") as w:
        w.update_incident(printer, status="in_progress")  # reopened: no longer knowledge
    assert printer not in [c.incident.id for c in workspace.similar_cases("printer paper jam", k=3)]
    with workspace.kb.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM search_pending")).scalar_one() == 0


def test_the_worker_minute_writes_the_vectors_an_import_left_pending(workspace: Workspace, settings: Settings) -> None:
    workspace.similar_cases("printer paper jam", k=1)  # the index is there; then an import adds to the database
    imported = add_resolved(workspace, "Outlook cannot send mail", "messages stay in the outbox")
    with workspace.kb.engine.connect() as c:
        assert c.execute(text("SELECT incident_id FROM search_pending")).scalars().all() == [imported]
    with Workspace(settings) as worker:
        jobs.upkeep(worker)
    with workspace.kb.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM search_pending")).scalar_one() == 0
        stored = c.execute(text("SELECT count(*) FROM search_vectors WHERE key = :id"), {"id": imported})
        assert stored.scalar_one() >= 1


def test_a_whole_rebuild_in_another_process_drops_what_it_dropped_here(
    workspace: Workspace, settings: Settings
) -> None:
    printer = add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    add_resolved(workspace, "Outlook cannot send mail", "messages stay in the outbox")
    assert printer in [c.incident.id for c in workspace.similar_cases("printer paper jam", k=3)]
    with workspace.kb.write("agent") as w:
        w.update_incident(printer, status="in_progress")
    with Workspace(settings) as other:  # rebuilds from the database before this process has looked again
        other.reindex()
    assert printer not in [c.incident.id for c in workspace.similar_cases("printer paper jam", k=3)]


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://kb:s3cret-pw@/incident_kb?host={tmp_path / 'no-server-here'}"
    with pytest.raises(KnowledgeBaseUnavailable, match="cannot open the knowledge base") as refused:
        KnowledgeBase(url)
    assert "s3cret-pw" not in str(refused.value) and "no-server-here" in str(refused.value)


@pytest.mark.slow
def test_search_on_pgvector_ranks_the_development_set_as_faiss_does(
    encoders: Encoders, make_kb: Callable[..., KnowledgeBase]
) -> None:
    pairs = read_pairs(ROOT / "data" / "retrieval_dev.tsv")
    weights = Settings().search_weights
    on_faiss = evaluate_retrieval(pairs, encoders, weights, {}, same=0.95)
    on_pgvector = evaluate_retrieval(pairs, encoders, weights, {}, same=0.95, engine=make_kb().engine)
    assert abs(on_pgvector.search.mrr - on_faiss.search.mrr) <= 0.01
    assert on_faiss.search.mrr > 0.8


def test_a_database_without_pgvector_is_refused_with_how_to_add_it(postgres: TestPostgres) -> None:
    url = make_url(postgres.new_database())
    admin = create_engine(postgres.admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:  # the app's own role, as a team's server has it: no right to add extensions
        c.execute(text("DROP ROLE IF EXISTS kb_app"))
        c.execute(text("CREATE ROLE kb_app LOGIN"))
        c.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO kb_app'))
    try:
        with pytest.raises(PgVectorMissing, match=r"(?s)lacks the pgvector extension.*CREATE EXTENSION vector"):
            KnowledgeBase(url.set(username="kb_app").render_as_string(hide_password=False))
        with create_engine(url.render_as_string(hide_password=False)).connect() as c:
            assert c.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
    finally:
        postgres.drop(url.render_as_string(hide_password=False))
        with admin.connect() as c:
            c.execute(text("DROP ROLE kb_app"))
        admin.dispose()


def test_evaluating_on_pgvector_refuses_a_database_that_holds_a_knowledge_base(
    workspace: Workspace, settings: Settings
) -> None:
    add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    with pytest.raises(EvaluationError, match="not a knowledge base"):
        scratch_database(settings.resolved_database_url)
    assert workspace.kb.stats().incidents == 1


def test_jobs_queue_in_the_postgresql_database_and_run_there(workspace: Workspace, settings: Settings) -> None:
    job = jobs.enqueue_upload(workspace, "reports.csv", b"title,body\nVPN down,since 9\n", actor=OPERATOR)
    with workspace.kb.engine.connect() as c:  # huey's queue is in the same database: nothing else to run
        assert c.execute(text("SELECT count(*) FROM huey_task")).scalar_one() == 1
    [done] = work_off(settings)
    assert (
        done.id == job and done.status == "done" and workspace.kb.incident(done.result["added"][0]).title == "VPN down"
    )


def test_filtered_search_on_pgvector_finds_what_exact_search_finds_however_wide_the_filter(settings: Settings) -> None:
    """Narrow filters are searched exactly, wide ones by a walk that keeps what passes, and a filter whose cases all
    lie far from the query by walks further out, or one that tests each vector against the list until enough pass:
    each gives the true nearest allowed cases."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 3001)
    kb = KnowledgeBase(settings.resolved_database_url)
    index = PgVectorIndex.build(kb.engine, "meaning", ids, vectors, model="toy")
    with kb.engine.begin() as c:
        c.execute(text("ANALYZE search_vectors"))  # its size, which the choice of way goes by
    query = vectors[0]
    farthest_first = ids[np.argsort(vectors @ query)]
    # 2 %; 50 %; the farthest fifth, of which walks further out find nothing, so a walk tests each vector against
    # the list; all but the nearest sixth, found by walks further out.
    for allowed in (ids[::50], ids[::2], farthest_first[:600], farthest_first[:2500]):
        truth = allowed[np.argsort(-(vectors[allowed - 1] @ query))[:10]]
        assert [key for key, _ in index.search(query, 10, allowed)] == truth.tolist()
    kb.close()
