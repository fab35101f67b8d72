"""The demo knowledge base: the bundled requesters and incidents of ``data/``, imported and indexed, with the
last weeks of its history replayed through the desk so that the leads' review has a past to show."""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from kb import CaseFilter, IncidentRecord, KnowledgeBase, NewTemplate
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.access.accounts import Account, write_as
from pipeline.access.team import add_account, reset_password, update_account
from pipeline.desk import casework, handoff
from pipeline.desk.business_time import add_working_time
from pipeline.desk.importer import DATE_FIELDS, ImportReport, import_incidents, import_requesters
from pipeline.desk.intake import assess, stored_suggestions
from pipeline.desk.replies import save_template
from pipeline.desk.values import parse_datetime
from pipeline.files import read_rows
from pipeline.progress import ProgressFactory
from pipeline.settings import LOCAL_HOSTS, Settings
from pipeline.triage.training import resolved_incidents
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

logger = logging.getLogger(__name__)

REQUESTERS_FILE = "demo_requesters.jsonl"
INCIDENTS_FILE = "demo_incidents.jsonl"
TEAM_FILE = "demo_team.toml"
REPLAYED_WEEKS = 8
DEMO_STATE = "demo"  # kb_meta key: "building" while the demo is being built, "ready" once it is whole
# Who builds the demo, as the event log records it.
DEMO = Account(id=None, name="demo", role="admin")
# Every demo account's password: shown on the sign-in page while the database is the demo (``demo_password``), so a
# newcomer tries each role in a minute. A desk's own accounts get their own passwords.
DEMO_PASSWORD = "incident-kb-demo"
DEMO_SHIFT = "demo_shift_days"  # kb_meta key: how many days the demo's dates were moved forward
DAY = dt.timedelta(days=1)
# How the demo's open desk stands when it is built: the share of its next SLA target each case whose clock runs has
# used, oldest first: two breached, three close to a breach, then the rest spread evenly between the last two.
OPEN_DESK = (1.15, 1.04, 0.92, 0.86, 0.8, (0.7, 0.04))
WAITING_SHARES = (0.5, 0.15)  # the same for the cases waiting for their requester, whose clocks stand still
# What the replay's agents write (the demo's history knows the right values, not why), in the case's language:
# data of the demo, like its reports, not words of the app.
OVERRIDE_REASONS = {
    "en": {
        "category": "Checked with the requester: it belongs elsewhere",
        "priority": "Impact and urgency confirmed with the requester",
        "escalation_level": "Another level handles this kind of case",
    },
    "ja": {
        "category": "依頼者に確認したところ、別のカテゴリーでした",
        "priority": "影響度と緊急度を依頼者に確認しました",
        "escalation_level": "この種のケースは別のレベルが担当します",
    },
}
# The replay's agents' first reply to each requester.
ACKNOWLEDGEMENTS = {
    "en": "Thank you for your report. We are looking into it and will update you here.",
    "ja": "ご連絡ありがとうございます。確認して、こちらでご報告いたします。",
}


class DemoError(PhrasedError, ValueError):
    """The demo cannot be built here."""


def build_demo(ws: Workspace, progress: ProgressFactory) -> list[ImportReport]:
    """Import the demo files into an empty knowledge base (their dates moved forward by ``date_shift``), index it,
    add the team and its reply templates, replay the last weeks through the desk, train the suggestion models on
    everything, and store suggestions for the open cases.

    Returns what each import did.
    """
    if ws.kb.stats().incidents:
        raise DemoError("demo_not_empty", kb=str(ws.kb))
    folder = ws.settings.demo_dir
    missing = [name for name in (REQUESTERS_FILE, INCIDENTS_FILE, TEAM_FILE) if not (folder / name).is_file()]
    if missing:
        raise DemoError("demo_files_missing", files=missing, folder=str(folder))
    now = dt.datetime.now(dt.UTC)
    shift = date_shift(folder / INCIDENTS_FILE, now)
    with ws.kb.write("demo") as w:
        w.set_meta(DEMO_STATE, "building")  # until the end: an interrupted build is known as such
        w.set_meta(DEMO_SHIFT, str(shift.days))
    with tempfile.TemporaryDirectory() as scratch:
        incidents = Path(scratch) / INCIDENTS_FILE
        incidents.write_text(open_desk(ws.settings, folder / INCIDENTS_FILE, now, shift), encoding="utf-8")
        reports = [
            import_requesters(ws.kb, folder / REQUESTERS_FILE, actor=DEMO, progress=progress),
            import_incidents(
                ws.kb, incidents, statuses=ws.workflow.statuses, shift=shift, actor=DEMO, progress=progress
            ),
        ]
    ws.reindex(progress)
    team = tomllib.loads((folder / TEAM_FILE).read_text(encoding="utf-8"))
    for user in team["users"]:
        add_account(ws.kb, user["name"], user["role"], actor=DEMO, email=user["email"], password=DEMO_PASSWORD)
    for template in team["templates"]:
        save_template(ws, NewTemplate(**template), actor=DEMO)
    replay_desk(ws, [Account.signed_in(ws.kb.user(u["name"])) for u in team["users"] if u["role"] == "agent"], progress)
    ws.train(actor=DEMO, progress=progress)
    assess(ws, [case.id for case in ws.kb.open_incidents()], actor=DEMO, progress=progress)
    with ws.kb.write("demo") as w:
        w.set_meta(DEMO_STATE, "ready")
    return reports


def start_over(settings: Settings, *, recreate: bool = False) -> bool:
    """Delete the SQLite knowledge base (its database, index and model files) when asked to (``recreate``) or when
    it holds a demo whose build was interrupted; returns whether it was such an interrupted build."""
    if recreate and settings.sqlite_path is None:
        raise DemoError("recreate_sqlite_only")
    with KnowledgeBase(settings.resolved_database_url) as kb:
        broken = interrupted(kb)
    if recreate or broken:
        _remove_sqlite(settings)
    return broken and not recreate


def build_if_empty(ws: Workspace, progress: ProgressFactory) -> list[ImportReport] | None:
    """Build the demo into the workspace's knowledge base if it is empty (what each import did); None if it holds
    incidents already."""
    if ws.kb.stats().incidents:
        _sign_in_for_older_demos(ws)
        _retrain_for_older_demos(ws, progress)
        return None
    return build_demo(ws, progress)


def _sign_in_for_older_demos(ws: Workspace) -> None:
    """A demo built before accounts signed in has its team without passwords: they get the demo's password and
    e-mail, so ``make run`` on it still lets a newcomer in."""
    if ws.kb.meta(DEMO_STATE) != "ready":
        return
    team = tomllib.loads((ws.settings.demo_dir / TEAM_FILE).read_text(encoding="utf-8"))["users"]
    for user in team:
        credentials = ws.kb.credentials(user["name"])
        if credentials is not None and credentials.password_hash is None:
            update_account(ws.kb, credentials.id, email=user["email"], actor=DEMO)
            reset_password(ws.kb, credentials.id, DEMO_PASSWORD, actor=DEMO)


def _retrain_for_older_demos(ws: Workspace, progress: ProgressFactory) -> None:
    """A demo trained before the suggestion models read what they read now has an active version made on other
    embeddings, which no longer loads: a new one is trained, so that ``make run`` on it still suggests."""
    active = ws.kb.active_model_version()
    if ws.kb.meta(DEMO_STATE) == "ready" and active and active.embedding_model != ws.suggestion_embedder.name:
        ws.train(actor=DEMO, progress=progress)


def _remove_sqlite(settings: Settings) -> None:
    database = settings.sqlite_path
    if database is None:  # a server database interrupted mid-build: dropping it is its owner's call
        raise DemoError("recreate_sqlite_only")
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), settings.resolved_index_path):
        path.unlink(missing_ok=True)
    # Model files belong to the database's registry; without it they are orphans.
    for path in settings.resolved_model_dir.glob("suggestions-*"):
        path.unlink()


def date_shift(path: Path, now: dt.datetime) -> dt.timedelta:
    """The whole days that bring the last date of the demo's incidents into the day before ``now``.

    The demo then opens on a desk whose cases came in over the last days, whatever day it is built; whole days keep
    its office hours where they were (its open cases are then placed by their SLA clocks: ``open_desk``).
    """
    dates = (parse_datetime(row[name]) for _, row in read_rows(path) for name in DATE_FIELDS if row.get(name))
    return DAY * max(0, (now - max(dates)) // DAY)


def open_desk(settings: Settings, path: Path, now: dt.datetime, shift: dt.timedelta) -> str:
    """The demo's incidents file (JSON Lines) with its open cases' arrival moved so that, at ``now``, their SLA
    clocks stand as at a real desk's: ``OPEN_DESK`` of each case's next target used, in business time on the
    settings' calendar, the oldest case the most. Whatever day and hour the demo is built, a weekend or a holiday
    in between, one or two cases are breached and a few close to it. The dates are written ``shift`` early, as the
    import moves every date by that much."""
    rows = [row for _, row in read_rows(path)]
    open_rows = sorted(
        (row for row in rows if row.get("status") not in RESOLVED_STATUSES),
        key=lambda row: parse_datetime(row["created_at"]),
    )
    paused = set(settings.sla.paused_statuses)
    running = [row for row in open_rows if row["status"] not in paused]
    waiting = [row for row in open_rows if row["status"] in paused]  # clocks stopped since they came in
    spread = np.linspace(*OPEN_DESK[-1], max(0, len(running) - len(OPEN_DESK) + 1))
    shares = [*OPEN_DESK[:-1], *spread][: len(running)] + list(np.linspace(*WAITING_SHARES, len(waiting)))
    for row, share in zip(running + waiting, shares, strict=True):
        targets = [settings.resolution_targets_hours.get(row.get("priority"))]
        if not row.get("assignee"):  # nobody holds it, so nobody has answered it: the first reply is due first
            targets.append(settings.response_targets_hours.get(row.get("priority")))
        if hours := min((t for t in targets if t is not None), default=None):
            used = dt.timedelta(hours=hours * float(share))
            came_in = add_working_time(settings, now, -used, category=row.get("category"))
            row["created_at"] = (came_in - shift).isoformat()
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def demo_password(kb: KnowledgeBase, settings: Settings) -> str | None:
    """The demo accounts' password while this database is the demo served to this machine only, for the sign-in
    page to show; else None (a demo served to the network does not advertise its admin's password)."""
    local = settings.bind_address in LOCAL_HOSTS
    return DEMO_PASSWORD if local and kb.meta(DEMO_STATE) == "ready" else None


def interrupted(kb: KnowledgeBase) -> bool:
    """Whether this knowledge base holds a demo whose build was interrupted (half imported, trained or replayed)."""
    return kb.meta(DEMO_STATE) == "building"


def replay_desk(ws: Workspace, agents: list[Account], progress: ProgressFactory, weeks: int = REPLAYED_WEEKS) -> None:
    """The resolved cases of the last ``weeks`` as if they had come through the desk: suggested by a model trained
    on the cases before them (so the quality figures are honest), the suggestions accepted or overridden by the
    value each case was resolved with, and the escalated ones handed off (first to the level the assistant
    suggested when it was higher, then down to the level that resolved them) with the criteria it proposed.

    Each case also gets the agent's first reply to the requester (with the decisions, tens of minutes after
    intake), and each hand-off gives the case to the level's holder until it goes back to whoever resolved it.
    The open cases someone holds get their holder's first reply.
    Times are drawn (seeded) within each case's life, and the event log records every change at its time.
    """
    resolved = resolved_incidents(ws.kb)
    start = max(case.created_at for case in resolved) - dt.timedelta(weeks=weeks)
    ws.train(actor=DEMO, created_before=start, progress=progress)
    rng = np.random.default_rng(0)
    recent = sorted((case for case in resolved if case.created_at >= start), key=lambda case: case.created_at)
    with progress(Phrase("progress_replaying"), len(recent)) as step:
        for case in recent:
            _replay(ws, case, agents[int(rng.choice(len(agents)))], rng)
            step(1)
    # The open cases someone holds have had their first reply too. It came before they reached the status they were
    # imported with (a path the replay does not know), so it is recorded without the move a reply makes.
    for case in ws.kb.open_incidents():
        if case.assignee:
            replied = min(case.created_at + _first_reply_delay(rng), dt.datetime.now(dt.UTC))  # never yet to come
            with ws.kb.write(case.assignee, at=replied) as w:
                w.add_message(case.id, kind="to_requester", author=case.assignee, body=ACKNOWLEDGEMENTS[case.language])


def _first_reply_delay(rng: np.random.Generator) -> dt.timedelta:
    """How long an agent takes to first answer a requester: twenty minutes or so, now and then hours."""
    return dt.timedelta(minutes=float(rng.lognormal(np.log(20), 0.8)))


def _replay(ws: Workspace, case: IncidentRecord, agent: Account, rng: np.random.Generator) -> None:
    before = CaseFilter(until=case.created_at.date() - dt.timedelta(days=1))  # what was known when it came in
    result = ws.triage(case, where=before, fold=False)
    resolved_at = case.resolved_at or case.created_at + dt.timedelta(days=1)
    life = resolved_at - case.created_at
    answered = case.created_at + min(life / 4, _first_reply_delay(rng))
    with write_as(ws.kb, agent, at=case.created_at) as w:
        w.add_suggestions(case.id, stored_suggestions(result, at=case.created_at))
    casework.reply(
        ws, case.id, actor=agent, subject="", body=ACKNOWLEDGEMENTS[case.language], version=None, at=answered
    )
    reasons = OVERRIDE_REASONS[case.language]
    for target, suggestion in result.suggestions.items():
        final = getattr(case, target)
        if final is not None:  # the agent gives the case the value it was resolved with, as the desk records it
            reason = reasons[target] if casework.decision(suggestion.value, final) == "overridden" else ""
            casework.decide(ws, case.id, target, final, actor=agent, version=None, reason=reason, at=answered)
    if case.escalation_level not in ESCALATION_LEVELS[1:]:
        return
    suggested = result.escalation_level.best if result.escalation_level else case.escalation_level
    levels = [case.escalation_level]
    if ESCALATION_LEVELS.index(suggested) > ESCALATION_LEVELS.index(case.escalation_level):
        levels.insert(0, suggested)  # escalated as suggested, then handed back down
    criteria = [c.key for c in result.criteria if c.proposed]
    at = case.created_at + min(life / 2, dt.timedelta(hours=float(rng.lognormal(np.log(2), 1))))
    for level in levels:
        drafted = handoff.draft(ws, case.id, level, criteria=criteria, similar=result.similar)
        package = drafted.markdown(case.language)
        with write_as(ws.kb, agent, at=at) as w:
            holder = ws.settings.escalation_holders[level]
            w.update_incident(case.id, assignee=holder)
            w.add_handoff(
                case.id, level=level, holder=holder, package=package, created_by=agent.name, criteria=criteria
            )
        at += (resolved_at - at) / 2
    with write_as(ws.kb, agent, at=resolved_at) as w:  # the case goes back to whoever resolved it
        w.update_incident(case.id, assignee=case.assignee)
