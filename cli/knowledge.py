"""The knowledge base itself: import, reindex, search, resolve, the demo, serving the app, and the settings."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from cli.common import Run, pass_run
from pipeline import Settings, demo, jobs
from pipeline.desk.importer import IMPORTERS, parse_mapping
from pipeline.files import ReadLimits
from pipeline.serving import supervise
from pipeline.settings import REPO_ROOT


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(list(IMPORTERS)),
    default="incidents",
    show_default=True,
    help="What the file holds: incidents, or requesters (name, emails, department) to link addresses to people.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD from COLUMN, e.g. --map body=Description (repeatable). Columns named like fields need none.",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="File format (default: from the name).")
@click.option("--encoding", help="Text encoding (default UTF-8; cp932 for Japanese Excel exports).")
@click.option(
    "--status",
    "default_status",
    default="resolved",
    show_default=True,
    help="Status of rows that have none (history is usually resolved).",
)
@click.option("--date-format", help="strptime format of the date columns, e.g. '%d/%m/%Y %H:%M' (default ISO 8601).")
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of dates written without one.")
@click.option("--no-index", is_flag=True, help="Store only; leave the index to the next `reindex` or app start.")
@pass_run
def import_(run: Run, file: Path, kind: str, mappings: tuple[str, ...], no_index: bool, **options: Any) -> None:
    """Import incidents (or requesters) from a CSV or JSON Lines file, optionally gzipped.

    Rows with problems are listed by line number and left out; the rest are stored. Rows imported before
    (same external_id, or same content) are skipped, so importing a file twice adds nothing.

    Fields: external_id, title, body, language, requester, requester_email, category, priority,
    escalation_level, impact, urgency, status, assignee, created_at, updated_at, resolved_at, resolution,
    root_cause.
    """
    importer, fields = IMPORTERS[kind]
    mapping = parse_mapping(mappings, fields)
    ws = run.workspace()
    if kind == "requesters":
        options = {k: options[k] for k in ("fmt", "encoding")}
    else:
        options["statuses"] = ws.workflow.statuses
    limits = ReadLimits(max_unpacked_bytes=run.settings.max_unpacked_bytes)  # the operator's file: no row cap
    report = importer(ws.kb, file, mapping=mapping, actor=run.actor, limits=limits, progress=run.progress(), **options)
    for problem in report.problems:
        click.echo("  " + run.say(problem.phrase), err=True)
    if report.ignored_columns:
        run.echo("columns_not_used", err=True, columns=report.ignored_columns)
    run.echo(report.summary)
    if kind == "incidents" and report.added and not no_index:
        index = ws.reindex(run.progress())
        run.echo("import_indexed", n=len(index), models=list(index.models.values()))


@click.command()
@pass_run
def reindex(run: Run) -> None:
    """Rebuild the similar-case index from the database (embeddings come from the cache where possible)."""
    ws = run.workspace()
    index = ws.reindex(run.progress())
    run.echo("reindexed", n=len(index), models=list(index.models.values()), path=ws.settings.index_place)


@click.command()
@click.argument("report")
@click.option("-k", "--top", "k", type=click.IntRange(1, 100), help="How many entries (default: setting search_top_k).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one entry per line.")
@pass_run
def search(run: Run, report: str, k: int | None, as_json: bool) -> None:
    """Show the resolved incidents most similar to REPORT (a text in Japanese or English), near-identical ones folded
    into one entry with how each was resolved, different resolutions first."""
    ws = run.workspace()
    ws.index(run.progress())  # draws a bar only if the index has to be rebuilt
    run.notices()
    for entry in ws.search(report, k=k).folded:
        i, folded = entry.lead.incident, entry.cases[1:]
        if as_json:
            fields = ("id", "title", "category", "priority", "escalation_level", "resolution")
            line = {"similarity": round(entry.lead.similarity, 4)} | {f: getattr(i, f) for f in fields}
            line |= {"folded": [c.incident.id for c in folded], "fixes": [[f.resolution, f.count] for f in entry.fixes]}
            click.echo(json.dumps(line, ensure_ascii=False))
            continue
        click.echo(
            f"#{i.id}  {entry.lead.similarity:.2f}  [{i.category} · {i.priority} · {i.escalation_level}]  {i.title}"
        )
        if folded:
            ids = ", ".join(f"#{c.incident.id}" for c in folded)
            click.echo("      " + run.say("folded_cases", count=len(entry.cases), newest=entry.newest.id, ids=ids))
            for fix in entry.fixes:
                click.echo(f"      -> {run.say('fix_count', count=fix.count)} {fix.resolution}")
        elif i.resolution:
            click.echo(f"      -> {i.resolution}")


@click.command()
@click.argument("incident_id", type=int)
@click.option("--resolution", required=True, help="How it was fixed (what the next agent should do).")
@click.option("--root-cause", help="Why it happened.")
@pass_run
def resolve(run: Run, incident_id: int, resolution: str, root_cause: str | None) -> None:
    """Resolve an incident (as the workflow's resolve move does); it joins the similar-case index at once."""
    record = run.workspace().resolve(incident_id, actor=run.actor, resolution=resolution, root_cause=root_cause)
    run.echo("resolved_indexed", id=record.id, title=record.title)


@click.command("demo")
@click.option("--recreate", is_flag=True, help="Delete the existing SQLite knowledge base and its index first.")
@pass_run
def demo_(run: Run, recreate: bool) -> None:
    """Build the demo knowledge base from data/ (about 1,600 incidents, half Japanese) if it is empty."""
    if demo.start_over(run.settings, recreate=recreate):
        run.echo("demo_interrupted", kb=str(run.settings.sqlite_path))
    ws = run.workspace()
    reports = demo.build_if_empty(ws, run.progress())
    if reports is None:
        run.echo("demo_nothing_to_do", kb=str(ws.kb), n=ws.kb.stats().incidents)
        return
    for report in reports:
        run.echo(report.summary)
    run.echo("demo_ready", n=ws.kb.stats().incidents, path=run.settings.index_place)


@click.command()
@click.option("--no-worker", is_flag=True, help="Serve the app alone (the worker runs elsewhere: a team's server).")
@click.option("--no-api", is_flag=True, help="Serve no HTTP API beside the app (it runs elsewhere, or not at all).")
@pass_run
def serve(run: Run, no_worker: bool, no_api: bool) -> None:
    """Serve the app on the settings' bind_address and port, uploads capped at max_upload_bytes, errors shown as
    a reference (details in this terminal's log); and beside it the background worker, which the pages hand long
    work to, and the HTTP API (`incident-kb api`), each started again if it dies. All stop together (Ctrl-C,
    SIGTERM or SIGHUP to this process)."""
    settings = run.settings
    upload_mb = max(1, math.ceil(settings.max_upload_bytes / 2**20))  # Streamlit counts whole mebibytes
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py")]
    command += ["--server.address", settings.bind_address, "--server.port", str(settings.port)]
    command += ["--server.maxUploadSize", str(upload_mb), "--client.showErrorDetails", "none"]
    # What .streamlit/config.toml says, for a server started from another folder.
    command += ["--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    # The children read the settings as this run has them (--db and --model included), from the environment: a
    # password in a URL stays out of the process list.
    env = os.environ | {
        "INCIDENT_KB_DATABASE_URL": settings.resolved_database_url,
        "INCIDENT_KB_EMBEDDING_MODEL": settings.embedding_model,
    }
    helpers = {}
    if not no_worker:
        helpers["worker"] = [sys.executable, "-m", "cli", "worker"]
    if not no_api:
        helpers["api"] = [sys.executable, "-m", "cli", "api"]
    sys.exit(supervise(command, helpers, env))


@click.command()
@pass_run
def worker(run: Run) -> None:
    """Run the background worker: uploads, rebuilds of the index and trainings asked for on the pages, one at a
    time, each followed there; jobs a killed worker left are run again first. `serve` starts one beside the app."""
    logging.getLogger("huey").setLevel(logging.INFO)  # each job taken and finished, in the worker's log
    place = jobs.queue_place(run.settings)
    jobs.work(run.settings, on_start=lambda sent: run.echo("worker_started", place=place, again=len(sent)))


@click.command("settings")
@pass_run
def show_settings(run: Run) -> None:
    """Print every setting with its current value and what it does."""
    values = run.settings.model_dump(mode="json")  # nested settings (the workflow) print as they are written
    for name, info in Settings.model_fields.items():
        value = values[name]
        click.echo(f"{name} = {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
        click.echo(f"    INCIDENT_KB_{name.upper()}: {info.description}")


COMMANDS = (import_, reindex, search, resolve, demo_, serve, worker, show_settings)
