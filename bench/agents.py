"""The load run of ``bench/scale.py load``: simulated agents on two processes over one PostgreSQL.

The knowledge base is the demo's, built on PostgreSQL, with 400 new reports (Endava tickets) filed at intake
for the agents to work. Two processes each open a workspace on it, as two app processes behind a proxy do, and
run half of the agents, one thread each, for the same fixed time. Each agent calls what the pages call, in a
desk's mix: a similar-case search (half of what it does), a claim of an unassigned case, an internal note on any
open case, a status move of any open case (from the version it read, as a page submits it), and a resolution of a
case it holds. Every call is timed; a claim someone else won or a move on a case changed meanwhile is a conflict
(the page says so and the agent reads again), and so is a move the workflow no longer allows from where the case
has got to meanwhile; anything else that fails is an error.

Lost updates are counted after the run, against the database: every note the agents were told was stored must be
there, every move and resolution they were told succeeded must be in the case's event log, and no two of them may
have been accepted from the same version of one case (the second would have overwritten what the first did).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kb import StaleEdit
from pipeline.access import Account
from pipeline.access.team import add_account
from pipeline.demo import build_if_empty
from pipeline.desk import casework, intake
from pipeline.progress import no_progress
from pipeline.settings import Settings
from pipeline.workflow import TransitionRefused
from pipeline.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
ENDAVA = ROOT.parent / "shared" / "datasets" / "endava_tickets_subset.csv.gz"
MIX = {"search": 50, "claim": 12, "note": 15, "move": 15, "resolve": 8}
PASSWORD = "load-run-password"
# An agent acts on the open cases as its page last showed them, read again this often (seconds): what it submits
# carries the version it saw, so a case someone changed meanwhile is refused, as on a real desk.
LOOK_AGAIN = 3.0


@dataclass
class Write:
    """One write the agent was told succeeded."""

    action: str
    case: int
    read_version: int | None
    value: str


@dataclass
class AgentLog:
    agent: str
    millis: dict[str, list[float]] = field(default_factory=dict)
    conflicts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)


def _email(name: str) -> str:
    return f"agent{name[-2:]}@load.test"


def settings_for(url: str, folder: Path) -> Settings:
    return Settings(database_url=url, index_path=folder / "kb.index", model_dir=folder / "models")


def prepare(url: str, folder: Path, agents: int) -> list[str]:
    """The demo knowledge base on PostgreSQL, 400 new reports to work, and the agents' accounts (their names)."""
    operator = Account.operator("load run")
    with Workspace(settings_for(url, folder)) as ws:
        started = time.perf_counter()
        build_if_empty(ws, no_progress)
        tickets = pd.read_csv(ENDAVA).dropna(subset=["title", "body"]).sample(400, random_state=3)
        upload = io.StringIO()
        tickets[["title", "body"]].to_csv(upload, index=False)
        intake.upload(ws, "load.csv", upload.getvalue().encode(), actor=operator)
        names = [f"Load agent {n:02d}" for n in range(agents)]
        for name in names:
            add_account(ws.kb, name, "agent", actor=operator, email=_email(name), password=PASSWORD)
        print(
            f"knowledge base ready in {time.perf_counter() - started:.0f} s: {ws.kb.stats().incidents:,} "
            f"incidents, {len(ws.kb.open_incidents())} open"
        )
    return names


def agent(ws: Workspace, me: Account, until: float, reports: list[str], log: AgentLog, seed: int) -> None:
    rng = random.Random(seed)
    actions, weights = zip(*MIX.items(), strict=True)
    seen, seen_at = [], 0.0
    while time.monotonic() < until:
        if time.monotonic() - seen_at > LOOK_AGAIN:
            seen, seen_at = ws.kb.open_incidents(), time.monotonic()
        action = rng.choices(actions, weights)[0]
        started = time.perf_counter()
        try:
            done = _act(ws, me, action, rng, reports, seen, log)
        except (casework.AlreadyClaimed, StaleEdit, TransitionRefused):  # the page was behind: it says so
            log.conflicts[action] += 1
            done = True
        except Exception as exc:  # counted and shown: the run's figure of errors
            log.errors.append(f"{action}: {type(exc).__name__}: {exc}")
            done = True
        if done:
            log.millis.setdefault(action, []).append((time.perf_counter() - started) * 1000)


def _act(
    ws: Workspace, me: Account, action: str, rng: random.Random, reports: list[str], open_cases: list, log: AgentLog
) -> bool:
    """Do one action on the cases as the agent last saw them; False when there was nothing to do it on."""
    if action == "search":
        ws.similar_cases(rng.choice(reports), k=5)
        return True
    if action == "claim":
        free = [c for c in open_cases if not c.assignee]
        if not free:
            return False
        case = rng.choice(free)
        casework.claim(ws, case.id, actor=me, version=case.version)
        log.writes.append(Write("claim", case.id, case.version, me.name))
    elif action == "note":
        case = rng.choice(open_cases)
        token = f"load note {me.name} {len(log.writes)} {rng.random():.12f}"
        casework.note(ws, case.id, token, actor=me)
        log.writes.append(Write("note", case.id, None, token))
    elif action == "move":
        case = rng.choice(open_cases)
        # Another status than the one it saw: a move to where a case already is changes nothing, and is no write.
        choices = [s for s in ws.workflow.next_statuses(case.status) if s not in ("resolved", "closed", case.status)]
        if not choices:
            return False
        status = rng.choice(choices)
        casework.move(ws, case.id, status, actor=me, version=case.version)
        log.writes.append(Write("move", case.id, case.version, status))
    else:  # resolve one of mine
        mine = [c for c in open_cases if c.assignee == me.name]
        if not mine:
            return False
        case = rng.choice(mine)
        text = f"Resolved in the load run by {me.name}: restarted the service."
        casework.resolve(
            ws,
            case.id,
            actor=me,
            version=case.version,
            resolution=text,
            root_cause="load run",
            category=case.category,
            priority=case.priority,
            escalation_level=case.escalation_level,
        )
        log.writes.append(Write("resolve", case.id, case.version, "resolved"))
    return True


def process_main(url: str, folder: str, names: str, seconds: str, go: str, seed: str) -> None:
    """One app process: its agents, one thread each, from the moment the go file appears."""
    with Workspace(settings_for(url, Path(folder))) as ws:
        ws.index()  # loaded before the clock starts, as a running app has it
        ws.similar_cases("warm up the models", k=5)
        agents = [Account.signed_in(ws.kb.user_by_email(_email(name))) for name in names.split(",")]
        reports = pd.read_csv(ENDAVA)["title"].dropna().astype(str).sample(2000, random_state=int(seed)).tolist()
        logs = [AgentLog(a.name) for a in agents]
        print("ready", flush=True)
        while not Path(go).exists():
            time.sleep(0.01)
        until = time.monotonic() + float(seconds)
        threads = [
            threading.Thread(target=agent, args=(ws, a, until, reports, log, int(seed) * 100 + n))
            for n, (a, log) in enumerate(zip(agents, logs, strict=True))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(json.dumps([{**asdict(log), "conflicts": dict(log.conflicts)} for log in logs]), flush=True)


def load_run(url: str, folder: Path, *, agents: int, seconds: float) -> None:
    names = prepare(url, folder, agents)
    go = folder / "go"
    halves = [names[0::2], names[1::2]]
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, url, str(folder), ",".join(half), str(seconds), str(go), str(n + 1)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n, half in enumerate(halves)
    ]
    for p in processes:
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("an agent process did not start; see above")
    started = time.perf_counter()
    go.touch()
    logs = [log for p in processes for log in json.loads(p.communicate()[0])]
    elapsed = time.perf_counter() - started
    report(url, folder, logs, agents, seconds, elapsed)


def report(url: str, folder: Path, logs: list[dict], agents: int, seconds: float, elapsed: float) -> None:
    millis: dict[str, list[float]] = defaultdict(list)
    conflicts: Counter = Counter()
    errors = [e for log in logs for e in log["errors"]]
    for log in logs:
        for action, values in log["millis"].items():
            millis[action] += values
        conflicts.update(log["conflicts"])
    every = [m for values in millis.values() for m in values]
    print(f"\n{agents} agents on two processes for {seconds:.0f} s (all done after {elapsed:.0f} s)")
    print(f"{'action':<10}{'done':>7}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'conflicts':>11}")
    for action in [*MIX, "all"]:
        values = every if action == "all" else millis[action]
        refused = sum(conflicts.values()) if action == "all" else conflicts[action]
        if values:
            print(
                f"{action:<10}{len(values):>7}{len(values) / seconds:>8.1f}{np.median(values):>9.1f}"
                f"{np.percentile(values, 99):>9.1f}{refused:>11}"
            )
    print(f"errors: {len(errors)}")
    for error in Counter(errors).most_common(5):
        print(f"  {error[1]} x {error[0][:200]}")
    lost = lost_updates(url, folder, [Write(**w) for log in logs for w in log["writes"]])
    print(f"lost updates: {len(lost)}")
    for line in lost[:10]:
        print(f"  {line}")


def lost_updates(url: str, folder: Path, writes: list[Write]) -> list[str]:
    """Every acknowledged write that the database does not show, or that was accepted on a version another
    acknowledged write had already changed."""
    lost = []
    with Workspace(settings_for(url, folder)) as ws:
        notes = {m.body for m in ws.kb.messages(sorted({w.case for w in writes if w.action == "note"}))}
        lost += [f"note on case {w.case} missing" for w in writes if w.action == "note" and w.value not in notes]
        base: Counter = Counter((w.case, w.read_version) for w in writes if w.read_version is not None)
        lost += [f"case {case}: {n} writes accepted from version {v}" for (case, v), n in base.items() if n > 1]
        events: dict[int, set[tuple[str, str, str]]] = {}
        for w in writes:
            if w.read_version is None:
                continue
            if w.case not in events:
                events[w.case] = {(e.actor, e.field or "", e.new_value or "") for e in ws.kb.events("incident", w.case)}
            field_ = "assignee" if w.action == "claim" else "status"
            if not any(f == field_ and v == w.value for _, f, v in events[w.case]):
                lost.append(f"{w.action} of case {w.case} to {w.value} not in its history")
    return lost


if __name__ == "__main__":
    process_main(*sys.argv[1:])
