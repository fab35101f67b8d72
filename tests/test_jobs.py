"""The background worker: the real `incident-kb worker` process runs what pages ask for, a job whose worker is
killed is run again by the next one with nothing half written, and only those who may ask for a job get it run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from kb import JobRecord, KnowledgeBase
from pipeline import jobs
from pipeline.access import PermissionDenied
from pipeline.desk.intake import IntakeError
from pipeline.review import computed
from pipeline.review.escalation_review import escalation_review
from pipeline.review.kb_health import health_report
from pipeline.review.problems import recurring_problems
from pipeline.review.worker_reports import ask_report, report_of
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import acct, work_off
from tests.test_store import dead_pid

REPO = Path(__file__).resolve().parent.parent
LEAD, AGENT = "Emily Carter", "Raj Mehta"
ROWS = "title,body\n" + "".join(f"Printer {n} on floor 3 jams,paper stuck in tray {n}\n" for n in range(40))


@contextmanager
def worker(settings: Settings, log: Path) -> Iterator[subprocess.Popen]:
    """`incident-kb worker` on this knowledge base, in a process of its own."""
    env = {**os.environ, "INCIDENT_KB_DATABASE_URL": settings.resolved_database_url}
    with open(log, "a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


def wait_for(kb: KnowledgeBase, job_id: int, done: callable, log: Path, timeout: float = 300) -> JobRecord:
    deadline = time.monotonic() + timeout
    while not done(job := kb.job(job_id)):
        assert time.monotonic() < deadline, f"job {job_id} is still {job.status}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    return job


@pytest.mark.slow
def test_the_worker_files_an_upload_and_a_killed_training_is_run_again_with_nothing_half_written(
    demo_copy: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with Workspace(demo_copy) as ws:
        before = ws.kb.stats().incidents
        upload = jobs.enqueue_upload(ws, "printers.csv", ROWS.encode(), actor=acct(ws, AGENT))
        assert ws.kb.job(upload).status == "queued"  # nothing filed by the page itself
        with worker(demo_copy, log):
            filed = wait_for(ws.kb, upload, lambda j: j.finished, log)
        assert filed.status == "done" and len(filed.result["added"]) == 40 and filed.attempts == 1
        assert ws.kb.stats().incidents == before + 40
        assert ws.kb.job_payload(upload) is None  # filed: the file is no longer kept

        versions = [v.id for v in ws.kb.model_versions()]
        training = jobs.enqueue(ws, "train", {}, actor=acct(ws, LEAD))
        with worker(demo_copy, log) as process:
            wait_for(ws.kb, training, lambda j: j.status == "running" and j.step is not None, log)
            time.sleep(1)
            process.send_signal(signal.SIGKILL)  # mid-training, as a crash or an out-of-memory kill would
            process.wait(timeout=30)
        stranded = ws.kb.job(training)
        assert stranded.status == "running" and [v.id for v in ws.kb.model_versions()] == versions

        with worker(demo_copy, log):  # the next worker finds it and runs it again
            trained = wait_for(ws.kb, training, lambda j: j.finished, log)
        assert trained.status == "done" and trained.attempts == 2
        assert len(ws.kb.model_versions()) == len(versions) + 1
        assert ws.kb.active_model_version().id == trained.result["version"]
        assert "job(s) left unfinished sent again" in log.read_text()


def test_only_those_who_may_ask_get_a_job_run_and_a_failed_one_says_why_and_runs_again(demo_copy: Settings) -> None:
    with Workspace(demo_copy) as ws:
        before = ws.kb.stats()
        with pytest.raises(PermissionDenied, match="Raj Mehta"):
            jobs.enqueue(ws, "train", {}, actor=acct(ws, AGENT))
        assert ws.kb.jobs() == []

        with pytest.raises(IntakeError, match="is empty"):  # refused before anything is kept or queued
            jobs.enqueue_upload(ws, "empty.csv", b" \n", actor=acct(ws, AGENT))
        # Bytes that are not text, under a name in markup: refused whole by the worker, which says why.
        bad = jobs.enqueue_upload(ws, "<b>x</b>.csv", bytes(range(256)) * 40, actor=acct(ws, AGENT))
        [failed] = work_off(demo_copy)
        assert failed.status == "failed" and ws.kb.stats() == before
        why = str(jobs.error_phrase(failed))
        assert "Nothing stored" in why and "not valid UTF-8" in why
        assert ws.kb.job_payload(bad) is not None  # kept while it may be run again

        jobs.run_again(ws, bad, actor=acct(ws, AGENT))
        assert ws.kb.job(bad).status == "queued"
        with pytest.raises(jobs.JobError, match="has not failed"):
            jobs.run_again(ws, bad, actor=acct(ws, AGENT))

        # Asked for by a lead who is an agent by the time the worker takes it, or by an agent whose account is
        # disabled since: refused where the work is done.
        rebuild = jobs.enqueue(ws, "reindex", {}, actor=acct(ws, LEAD))
        upload = jobs.enqueue_upload(ws, "ok.csv", b"title,body\nVPN down,since 9\n", actor=acct(ws, AGENT))
        with ws.kb.write("admin") as w:
            w.update_user(ws.kb.user(LEAD).id, role="agent")
            w.update_user(ws.kb.user(AGENT).id, active=False)
        ran = {job.id: job for job in work_off(demo_copy)}
        assert ran[rebuild].status == "failed" and "may not" in str(jobs.error_phrase(ran[rebuild]))
        assert ran[upload].status == "failed" and "disabled" in str(jobs.error_phrase(ran[upload]))
        assert ws.kb.stats() == before

        # An upload asked for without its file (a forged path among its arguments is never read).
        with pytest.raises(jobs.JobError, match="no file"):
            jobs.enqueue(ws, "upload", {"name": "x.csv", "path": "/etc/passwd"}, actor=acct(ws, LEAD))


def test_a_job_delivered_twice_is_taken_once_and_one_left_running_by_a_dead_worker_is_sent_again(
    demo_copy: Settings,
) -> None:
    with Workspace(demo_copy) as ws:
        job = jobs.enqueue(ws, "reindex", {}, actor=acct(ws, LEAD))
        with ws.kb.write("worker") as w:
            assert w.take_job(job, worker="vm:1", at=w.now())
            assert not w.take_job(job, worker="vm:2", at=w.now())  # the second delivery finds it taken
        assert ws.kb.job(job).attempts == 1
        assert jobs.run(ws, job).status == "running"  # a third is left alone too

        gone = f"{socket.gethostname()}:{dead_pid()}"
        with ws.kb.write("test") as w:  # as if that worker had taken it, then been killed
            assert w.requeue_job(job, worker="vm:1") and w.take_job(job, worker=gone, at=w.now())
        assert jobs.recover(ws.kb, demo_copy) == [job] and ws.kb.job(job).status == "queued"
        assert jobs.run(ws, job).status == "done" and ws.kb.job(job).attempts == 3


def same(kept: object, computed_here: object) -> None:
    """A report read back is the report computed: every table exactly (dtypes, index, names), every value."""
    if isinstance(kept, pd.DataFrame):
        pd.testing.assert_frame_equal(kept, computed_here)
    elif dataclasses.is_dataclass(kept):
        assert type(kept) is type(computed_here)
        for field in dataclasses.fields(kept):
            same(getattr(kept, field.name), getattr(computed_here, field.name))
    elif isinstance(kept, dict):
        assert kept.keys() == computed_here.keys()
        for key in kept:
            same(kept[key], computed_here[key])
    elif isinstance(kept, list):
        assert len(kept) == len(computed_here)
        for a, b in zip(kept, computed_here, strict=True):
            same(a, b)
    else:
        assert kept == computed_here


@pytest.mark.slow
def test_each_review_report_reads_back_as_it_was_computed(demo_copy: Settings) -> None:
    with Workspace(demo_copy) as ws:
        reports = {
            "health": health_report(ws),
            "escalations": escalation_review(ws),
            "problems": recurring_problems(ws),
            "comparison": ws.compare_versions(1, 2),
        }
    assert reports["problems"] and reports["health"].near_duplicates.size  # something in each to get wrong
    for name, report in reports.items():
        kept = json.loads(json.dumps(computed.encode(report)))  # as the job's record keeps it
        same(computed.read(name, kept), report)


def test_a_review_report_is_asked_of_the_worker_once_shared_and_asked_again_when_the_data_moves(
    demo_copy: Settings,
) -> None:
    period = {"since": dt.date(2026, 1, 1), "until": dt.date(2026, 12, 31)}
    with Workspace(demo_copy) as ws:
        lead, other_lead = acct(ws, LEAD), acct(ws, "森 健一")
        with pytest.raises(PermissionDenied, match="Raj Mehta"):  # the review is for leads, asked or run
            ask_report(ws, "health", {}, [1], actor=acct(ws, AGENT))
        with pytest.raises(ValueError, match="no report is called"):
            ask_report(ws, "../../etc/passwd", {}, [1], actor=lead)
        assert ws.kb.jobs() == []

        first = ask_report(ws, "escalations", period, (1, "a"), actor=lead)
        assert (first.shown, first.working.status) == (None, "queued")
        again = ask_report(ws, "escalations", period, (1, "a"), actor=other_lead)  # another lead, or a rerun
        assert again.working.id == first.working.id and len(ws.kb.jobs()) == 1
        [done] = work_off(demo_copy)
        assert done.status == "done" and done.finished_at is not None
        ready = ask_report(ws, "escalations", period, (1, "a"), actor=lead)
        assert (ready.shown.id, ready.current, ready.working) == (done.id, True, None)
        same(report_of(ws, done.id), escalation_review(ws, since=period["since"], until=period["until"]))

        # The knowledge base moved on: the last report is shown, marked as earlier, and a new one is asked for
        # only once the last is older than the refresh, and only one at a time, however often the data moves.
        moved = ask_report(ws, "escalations", period, (2, "a"), actor=lead, now=done.finished_at)
        assert (moved.shown.id, moved.current, moved.working) == (done.id, False, None)
        later = done.finished_at + dt.timedelta(minutes=ws.settings.report_refresh_minutes)
        moved = ask_report(ws, "escalations", period, (2, "a"), actor=lead, now=later)
        assert (moved.shown.id, moved.current, moved.working.status) == (done.id, False, "queued")
        moved_more = ask_report(ws, "escalations", period, (3, "a"), actor=lead, now=later)
        assert moved_more.working.id == moved.working.id and len(ws.kb.jobs()) == 2
        other = ask_report(ws, "escalations", {**period, "until": "2026-06-30"}, (3, "a"), actor=lead, now=later)
        assert other.shown is None  # another period's report is not this one's
        work_off(demo_copy)
        # The worker's minute drops what a newer report over the same scope replaced, and what nobody asked for
        # in a week.
        assert jobs.upkeep(ws) is not None and [j.id for j in ws.kb.jobs()] == [other.working.id, moved.working.id]
        computed.forget_replaced(ws.kb, now=later + computed.KEPT_FOR + dt.timedelta(days=1))
        assert ws.kb.jobs() == []

        # A report that fails says why, and is not asked for again in a loop: it waits to be run again by hand,
        # by any lead, as whom it then runs (the first to ask may have left).
        broken = ask_report(ws, "comparison", {"candidate": 99, "baseline": 2}, [1], actor=lead)
        [failed] = work_off(demo_copy)
        assert failed.id == broken.working.id and failed.status == "failed"
        assert "99" in str(jobs.error_phrase(failed))
        assert ask_report(ws, "comparison", {"candidate": 99, "baseline": 2}, [1], actor=lead).working == failed
        assert str(jobs.describe(failed)) == "Comparing the two model versions on the held-out cases"
        with ws.kb.write("admin") as w:
            w.update_user(ws.kb.user(LEAD).id, active=False)
        jobs.run_again(ws, failed.id, actor=other_lead)
        assert ws.kb.job(failed.id).created_by == "森 健一"
