"""Long work done by the background worker, away from the page that asked for it: an upload of many rows or
messages, a rebuild of the similar-case index, a training, a review's report (``pipeline.review.worker_reports``).
A page (or the command line) asks with ``enqueue`` and follows the job's record (``KnowledgeBase.job``);
``incident-kb worker`` runs the queue.

The queue is huey's, kept where the knowledge base is: in a SQLite file beside it (``<database>.queue``), or in
the same PostgreSQL database (``huey_*`` tables), so a team runs nothing more than the worker. What people see of a
job (who asked, how far it got, how it ended) is the knowledge base's ``jobs`` table, written as it goes. What a job
works on (an uploaded file) is kept there too, so a worker on another machine reads it. A job whose worker was
killed is run again when a worker starts on that machine; one that failed says why and can be asked for again
(``run_again``). Every minute the worker also does the desk's upkeep (``upkeep``), which nobody asks for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from huey import PostgresHuey, SqliteHuey, crontab
from huey.api import Huey
from sqlalchemy.engine import make_url

from kb import DeliveryRecord, IncidentRecord, JobRecord, KnowledgeBase
from kb.index import process_alive
from pipeline.access.accounts import AGENTS, LEADS, Account, PermissionDenied, require, write_as
from pipeline.channels import deliver, inbound, notices
from pipeline.desk import casework, intake, sla, sla_raise
from pipeline.progress import Progress
from pipeline.review import computed
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

logger = logging.getLogger(__name__)

# The huey task every job runs through (the job's kind says what it does), and the minute's upkeep.
TASK = "incident_kb.job"
UPKEEP = "incident_kb.upkeep"
# The mailboxes of ``settings.mail`` polled, each at most every ``interval_minutes`` (``pipeline.channels.inbound``).
MAIL_POLL = "incident_kb.mail_poll"
# What goes out (notices, then due mails and chat posts): every minute, and at once after a reply.
OUTBOX = "incident_kb.outbox"
# At most this often a job's progress is written to its record (a page polls it).
PROGRESS_EVERY = 0.5


class JobError(PhrasedError, RuntimeError):
    """A job cannot be asked for as it is (an upload without its file), run (its account is disabled) or run
    again (it has not failed)."""


@dataclass(frozen=True)
class Kind:
    """What a kind of job does and who may ask for it: ``run(ws, actor, job, progress)`` returns the result."""

    roles: tuple[str, ...]
    action: str  # the refusal's wording (``access``'s actions)
    run: Callable[..., dict]
    needs_payload: bool = False
    # Asked for on behalf of all who may (a review's report): run again, it runs as whoever asked again.
    shared: bool = False


def _upload(ws: Workspace, actor: Account, job: JobRecord, progress) -> dict:
    data = ws.kb.job_payload(job.id)
    if data is None:
        raise JobError("job_without_file", id=job.id)
    try:
        report = intake.upload(ws, job.args["name"], data, actor=actor, progress=progress)
    except intake.IntakeError as exc:  # the whole file refused, as the page would have said at once
        raise intake.IntakeError("upload_refused", error=exc.phrase) from exc
    return {
        "added": report.added,
        "messages": report.messages,
        "already_present": report.already_present,
        "problems": [dataclasses.asdict(p) for p in report.problems],
        "notes": [dataclasses.asdict(p) for p in report.notes],
    }


def _reindex(ws: Workspace, actor: Account, job: JobRecord, progress) -> dict:
    return {"count": len(ws.reindex(progress))}


def _train(ws: Workspace, actor: Account, job: JobRecord, progress) -> dict:
    return {"version": ws.train(actor=actor, activate=job.args.get("activate", True), progress=progress).id}


def _report(ws: Workspace, actor: Account, job: JobRecord, progress) -> dict:
    return {"report": computed.compute(ws, job.args["report"], job.args["scope"], progress)}


KINDS = {
    "upload": Kind(AGENTS, "work_cases", _upload, needs_payload=True),
    "reindex": Kind(LEADS, "train", _reindex),
    "train": Kind(LEADS, "train", _train),
    "report": Kind(LEADS, "review", _report, shared=True),
}


@dataclass(frozen=True)
class JobQueue:
    """A knowledge base's queue, and the huey task that runs a job by its id (calling it enqueues)."""

    huey: Huey
    send: Callable[[int], Any]
    send_out: Callable[[], Any]  # asks for the outbox now


_QUEUES: dict[str, JobQueue] = {}


def queue(settings: Settings) -> JobQueue:
    """The job queue of a knowledge base (one per database, shared by the app's pages and the worker)."""
    url = make_url(settings.resolved_database_url)
    key = url.render_as_string(hide_password=False)
    if key not in _QUEUES:
        if settings.on_postgresql:
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            huey: Huey = PostgresHuey("incident-kb", dsn=dsn, results=False)
        else:
            huey = SqliteHuey("incident-kb", filename=str(queue_place(settings)), results=False)

        @functools.cache
        def workspace() -> Workspace:  # one per worker: the models load once, not per job
            return Workspace(settings)

        def run_job(job_id: int) -> None:
            """The worker's side: run the job as whoever asked for it, and record how it went."""
            run(workspace(), job_id)

        @huey.periodic_task(crontab(minute="*"), name=UPKEEP)
        @huey.lock_task(UPKEEP)  # several workers on one database: one does it at a time
        def upkeep_task() -> None:
            upkeep(workspace())

        @huey.periodic_task(crontab(minute="*"), name=OUTBOX)
        @huey.lock_task(OUTBOX)  # one sender at a time (each delivery is taken by one anyway)
        def outbox_task() -> None:
            outbox(workspace())

        @huey.task(name=f"{OUTBOX}.now")
        @huey.lock_task(OUTBOX)  # the minute's run, if it is on, sends it
        def outbox_now() -> None:
            outbox(workspace())

        @huey.periodic_task(crontab(minute="*"), name=MAIL_POLL)
        def mail_poll_task() -> None:  # each mailbox under its own lock, at its own interval
            inbound.poll_due(workspace(), lock=huey.lock_task)

        _QUEUES[key] = JobQueue(huey, huey.task(name=TASK)(run_job), outbox_now)
    return _QUEUES[key]


def queue_place(settings: Settings) -> str:
    """Where the queue is: a SQLite file beside the index, or the PostgreSQL database (password hidden)."""
    return (
        settings.database_label if settings.on_postgresql else str(settings.resolved_index_path.with_suffix(".queue"))
    )


def enqueue(ws: Workspace, kind: str, args: dict, *, actor: Account, payload: bytes | None = None) -> int:
    """Ask the worker for a job; its id, to follow it by. PermissionDenied where ``actor`` may not ask for it."""
    spec = KINDS[kind]
    if spec.needs_payload and payload is None:
        raise JobError("job_without_file", id=0)
    with write_as(ws.kb, actor, spec.roles, spec.action) as w:
        job_id = w.add_job(kind, args, created_by=actor.name, created_by_id=actor.id, payload=payload)
    queue(ws.settings).send(job_id)
    return job_id


def enqueue_upload(ws: Workspace, name: str, data: bytes, *, actor: Account) -> int:
    """Ask the worker to file an uploaded file's reports. Refused at once (IntakeError) if the file is empty, too
    big or of a kind intake does not read; otherwise kept with the job until it is filed."""
    intake.check_upload(ws, name, data)
    return enqueue(ws, "upload", {"name": name}, actor=actor, payload=data)


def run_again(ws: Workspace, job_id: int, *, actor: Account) -> None:
    """Put a failed job back in the queue, as it was asked for; by someone who may ask for that kind (a shared one
    then runs as them)."""
    spec = KINDS[ws.kb.job(job_id).kind]
    with write_as(ws.kb, actor, spec.roles, spec.action) as w:
        if w.locked_job(job_id).status != "failed":
            raise JobError("job_not_failed", id=job_id)
        w.update_job(job_id, status="queued", error=None, step=None, done=0, total=None, finished_at=None)
        if spec.shared:  # the one who first asked may no longer be able to
            w.reassign_job(job_id, created_by=actor.name, created_by_id=actor.id)
    queue(ws.settings).send(job_id)


def recover(kb: KnowledgeBase, settings: Settings) -> list[int]:
    """At a worker's start: every job left running by a worker of this machine that is gone (this very process
    included: a restarted container reuses ids), and every job still queued (its message may have been lost
    with a killed process), back in the queue. The ids sent again."""
    host = socket.gethostname()
    again = []
    for job in kb.jobs(statuses=("queued", "running"), limit=10_000):
        if job.status == "running":
            where, _, pid = (job.worker or "").rpartition(":")
            if where != host or (int(pid or 0) != os.getpid() and process_alive(int(pid or 0))):
                continue
            with kb.write("worker") as w:
                if not w.requeue_job(job.id, worker=job.worker or ""):
                    continue  # another worker starting at the same moment got there first
            logger.warning("job %s was interrupted (its worker %s is gone): run again", job.id, job.worker)
        again.append(job.id)
    for job_id in again:
        queue(settings).send(job_id)
    return again


def work(settings: Settings, *, on_start: Callable[[list[int]], Any] = lambda sent: None) -> None:
    """Be the worker until stopped (SIGINT finishes the job at hand first, SIGTERM stops at once; either way an
    unfinished job is run again at the next start): jobs left by a killed worker first, then the queue, one job at
    a time (two trainings side by side would only halve each other's cores)."""
    with KnowledgeBase(settings.resolved_database_url) as kb:
        on_start(recover(kb, settings))
    # A worker killed while it held a lock (mid-poll, mid-send) would leave it held for good: the locks are let go
    # at the start. Were another worker still inside one, it is harmless: filing is idempotent by Message-ID and
    # each delivery is taken by one worker only.
    mailboxes = ",".join(inbound.mailbox_lock(box) for box in settings.mail.mailboxes) or None
    consumer = queue(settings).huey.create_consumer(
        workers=1, worker_type="thread", initial_delay=0.2, max_delay=2, flush_locks=True, extra_locks=mailboxes
    )
    consumer.run()


def upkeep(ws: Workspace, *, now: dt.datetime | None = None) -> list[sla.Crossing]:
    """The worker's minute: on PostgreSQL, the vectors of cases imported, edited or reopened since are written
    (so no agent's search waits for them); reports a newer one replaced, or that nobody asked for in a week, are
    dropped; then SLA clocks that came close or ran out are recorded in their cases'
    history, and (when the settings ask for it) cases about to breach are raised to the next level. The crossings
    recorded."""
    if ws.settings.on_postgresql:
        ws.index()
    computed.forget_replaced(ws.kb, now=now)
    crossings = sla.record_crossings(ws, now=now)
    sla_raise.raise_before_breach(ws, now=now)
    return crossings


def outbox(ws: Workspace, *, now: dt.datetime | None = None) -> list[DeliveryRecord]:
    """The worker's minute for what goes out: the notices of what happened since it last looked, then every due
    delivery sent. The deliveries as they ended."""
    notices.notify(ws, now=now)
    return deliver.deliver(ws, now=now)


def reply(ws: Workspace, incident_id: int, **kwargs: Any) -> IncidentRecord:
    """``casework.reply``, and the worker asked to send its mail now rather than within the minute."""
    case = casework.reply(ws, incident_id, **kwargs)
    queue(ws.settings).send_out()
    return case


def describe(job: JobRecord) -> Phrase:
    """What a job does, for people: "Filing reports.csv"."""
    if job.kind == "report":
        return Phrase(f"job_report_{job.args['report']}")
    return Phrase(f"job_{job.kind}", **({"name": job.args["name"]} if "name" in job.args else {}))


def step_phrase(job: JobRecord) -> Phrase | None:
    """What a running job is doing now, as the worker last wrote it."""
    return None if job.step is None else Phrase.from_dict(job.step)


def error_phrase(job: JobRecord) -> Phrase | None:
    """Why a failed job failed."""
    return None if job.error is None else Phrase.from_dict(json.loads(job.error))


def result_phrases(job: JobRecord, key: str) -> list[Phrase]:
    """The phrases a finished job left under ``key`` of its result (an upload's problems or notes)."""
    return [Phrase.from_dict(p) for p in (job.result or {}).get(key, [])]


def run(ws: Workspace, job_id: int) -> JobRecord:
    """Run one queued job in this process and record its outcome. A job no longer queued is left as it is: the
    queue may deliver one twice (sent again by ``recover``), and only one delivery takes it."""
    with ws.kb.write("worker") as w:
        taken = w.take_job(job_id, worker=f"{socket.gethostname()}:{os.getpid()}", at=w.now())
    job = ws.kb.job(job_id)
    if not taken:
        return job
    try:
        spec = KINDS[job.kind]
        actor = _actor(ws.kb, job)
        require(actor, spec.roles, spec.action)  # again: the account may have been demoted since it asked
        result = spec.run(ws, actor, job, functools.partial(_progress, ws.kb, job_id))
    except Exception as exc:
        # Kept as a phrase, worded in each reader's language. An unforeseen error's text (SQL, paths) stays in the
        # worker's log, under a reference the page shows.
        reference = secrets.token_hex(4)
        logger.exception("job %s (%s) failed, reference %s", job_id, job.kind, reference)
        why = exc.phrase if isinstance(exc, PhrasedError) else Phrase("job_crashed", reference=reference)
        with ws.kb.write("worker") as w:
            error = json.dumps(dataclasses.asdict(why), ensure_ascii=False)
            return w.update_job(job_id, status="failed", error=error, finished_at=w.now())
    with ws.kb.write("worker") as w:  # done: what it worked on is no longer kept
        return w.update_job(job_id, status="done", result=result, step=None, payload=None, finished_at=w.now())


def _actor(kb: KnowledgeBase, job: JobRecord) -> Account:
    """Who asked for the job, as they are now: an account disabled since may no longer have it run."""
    if job.created_by_id is None:
        return Account(id=None, name=job.created_by, role="admin")  # the operator, at the shell
    user = kb.user_by_id(job.created_by_id)
    if not user.active:
        raise PermissionDenied("job_account_disabled", who=user.name)
    return Account.signed_in(user)


@contextlib.contextmanager
def _progress(kb: KnowledgeBase, job_id: int, step: Phrase, total: int) -> Iterator[Progress]:
    """A ``ProgressFactory`` that writes to the job's record, at most every ``PROGRESS_EVERY`` seconds."""
    done, written = 0, 0.0

    def write() -> None:
        with kb.write("worker") as w:
            w.update_job(job_id, step=dataclasses.asdict(step), done=done, total=total)

    def update(n: int) -> Any:
        nonlocal done, written
        done += n
        if time.monotonic() - written >= PROGRESS_EVERY:
            write()
            written = time.monotonic()

    write()
    yield update
    write()
