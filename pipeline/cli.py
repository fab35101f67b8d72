"""``incident-kb``: the one command line for batch work on the knowledge base."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from kb import IncidentNotFound, InvalidValue, KnowledgeBaseUnavailable
from pipeline.demo import build_demo
from pipeline.embed import ModelUnavailable
from pipeline.importer import IMPORTERS, ImportFileError, parse_mapping
from pipeline.progress import Progress
from pipeline.settings import Settings
from pipeline.text import ReportError
from pipeline.workspace import Workspace

logger = logging.getLogger(__name__)

# Failures that are the user's to fix: one line, no traceback.
_USER_ERRORS = (
    ImportFileError,
    ReportError,
    ModelUnavailable,
    IncidentNotFound,
    InvalidValue,
    FileNotFoundError,
    KnowledgeBaseUnavailable,
    ValidationError,  # a setting with a bad value
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Progress]:
    with tqdm(total=total, desc=description, unit="", dynamic_ncols=True) as bar:
        yield bar.update


def _workspace(ctx: click.Context) -> Workspace:
    ws = Workspace(ctx.obj["settings"])
    ctx.call_on_close(ws.close)
    return ws


def _echo_notices(ws: Workspace) -> None:
    for notice in ws.notices:
        click.echo(notice, err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Knowledge base: a SQLite file or an SQLAlchemy URL (default: setting database_url, var/incident-kb.db).",
)
@click.option("--model", metavar="NAME", help="Embedding model: use-ml, minilm, or a sentence-transformers path.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for troubleshooting.")
@click.pass_context
def cli(ctx: click.Context, db: str | None, model: str | None, verbose: bool) -> None:
    """incident-kb: a knowledge-centric incident resolution assistant.

    Settings come from INCIDENT_KB_* environment variables or incident-kb.toml; see `incident-kb settings`.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    overrides = {k: v for k, v in {"database_url": db, "embedding_model": model}.items() if v}
    ctx.obj = {"settings": Settings(**overrides)}


@cli.command("import")
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
@click.option("--actor", default="import", show_default=True, help="Name recorded in the event log for these rows.")
@click.option("--no-index", is_flag=True, help="Store only; leave the index to the next `reindex` or app start.")
@click.pass_context
def import_(
    ctx: click.Context, file: Path, kind: str, mappings: tuple[str, ...], no_index: bool, **options: Any
) -> None:
    """Import incidents (or requesters) from a CSV or JSON Lines file, optionally gzipped.

    Rows with problems are listed by line number and left out; the rest are stored. Rows imported before
    (same external_id, or same content) are skipped, so importing a file twice adds nothing.

    Fields: external_id, title, body, language, requester, requester_email, category, priority,
    escalation_level, status, assignee, created_at, updated_at, resolved_at, resolution, root_cause.
    """
    importer, fields = IMPORTERS[kind]
    mapping = parse_mapping(mappings, fields)
    if kind == "requesters":
        options = {k: options[k] for k in ("fmt", "encoding", "actor")}
    ws = _workspace(ctx)
    report = importer(ws.kb, file, mapping=mapping, progress=progress_bar, **options)
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    if report.ignored_columns:
        click.echo(f"Columns not used: {', '.join(report.ignored_columns)}", err=True)
    click.echo(report.summary())
    if kind == "incidents" and report.added and not no_index:
        index = ws.reindex(progress_bar)
        click.echo(f"Index: {len(index)} resolved incidents ({ws.embedder.name}).")


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the similar-case index from the database (embeddings come from the cache where possible)."""
    ws = _workspace(ctx)
    index = ws.reindex(progress_bar)
    click.echo(
        f"Indexed {len(index)} resolved incidents with {ws.embedder.name} into {ws.settings.resolved_index_path}."
    )


@cli.command()
@click.argument("report")
@click.option("-k", "--top", "k", type=click.IntRange(1, 100), help="How many cases (default: setting search_top_k).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one case per line.")
@click.pass_context
def search(ctx: click.Context, report: str, k: int | None, as_json: bool) -> None:
    """Show the resolved incidents most similar to REPORT (a text in Japanese or English)."""
    ws = _workspace(ctx)
    ws.index(progress_bar)  # draws a bar only if the index has to be rebuilt
    _echo_notices(ws)
    for case in ws.similar_cases(report, k=k):
        i = case.incident
        if as_json:
            fields = ("id", "title", "category", "priority", "escalation_level", "resolution")
            click.echo(
                json.dumps(
                    {"similarity": round(case.similarity, 4)} | {f: getattr(i, f) for f in fields}, ensure_ascii=False
                )
            )
        else:
            click.echo(
                f"#{i.id}  {case.similarity:.2f}  [{i.category} · {i.priority} · {i.escalation_level}]  {i.title}"
            )
            if i.resolution:
                click.echo(f"      -> {i.resolution}")


@cli.command()
@click.argument("incident_id", type=int)
@click.option("--resolution", required=True, help="How it was fixed (what the next agent should do).")
@click.option("--root-cause", help="Why it happened.")
@click.option("--actor", required=True, help="Who resolved it (recorded in the event log).")
@click.pass_context
def resolve(ctx: click.Context, incident_id: int, resolution: str, root_cause: str | None, actor: str) -> None:
    """Resolve an incident; it joins the similar-case index at once."""
    ws = _workspace(ctx)
    record = ws.resolve(incident_id, actor=actor, resolution=resolution, root_cause=root_cause)
    click.echo(f"#{record.id} resolved and indexed: {record.title}")


@cli.command()
@click.option("--recreate", is_flag=True, help="Delete the existing SQLite knowledge base and its index first.")
@click.pass_context
def demo(ctx: click.Context, recreate: bool) -> None:
    """Build the demo knowledge base from data/ (about 1,600 incidents, half Japanese) if it is empty."""
    settings: Settings = ctx.obj["settings"]
    if recreate:
        _remove_sqlite(settings)
    ws = _workspace(ctx)
    stats = ws.kb.stats()
    if stats.incidents:
        click.echo(f"{ws.kb} already holds {stats.incidents} incidents; nothing to do (use --recreate to start over).")
        return
    for report in build_demo(ws, progress_bar):
        click.echo(report.summary())
    click.echo(
        f"Demo knowledge base ready: {ws.kb.stats().incidents} incidents, index at {settings.resolved_index_path}."
    )


def _remove_sqlite(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.UsageError("--recreate only deletes SQLite files; drop a server database yourself")
    for path in (
        Path(url.database),
        Path(f"{url.database}-wal"),
        Path(f"{url.database}-shm"),
        settings.resolved_index_path,
    ):
        path.unlink(missing_ok=True)


@cli.command("settings")
@click.pass_context
def show_settings(ctx: click.Context) -> None:
    """Print every setting with its current value and what it does."""
    settings: Settings = ctx.obj["settings"]
    for name, info in Settings.model_fields.items():
        click.echo(f"{name} = {getattr(settings, name)!s}")
        click.echo(f"    INCIDENT_KB_{name.upper()}: {info.description}")


def main() -> None:
    cli(prog_name="incident-kb")
