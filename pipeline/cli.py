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

from kb import IncidentNotFound, InvalidValue, KnowledgeBase, KnowledgeBaseUnavailable, ModelVersionNotFound
from pipeline import versions
from pipeline.demo import build_demo, interrupted
from pipeline.embed import OFFLINE_MODELS, ModelUnavailable, load_embedder
from pipeline.embed_cache import EmbeddingCache
from pipeline.escalations import escalation_review
from pipeline.evaluate import EvaluationError, evaluate_classify, evaluate_retrieval, read_labelled, read_pairs
from pipeline.importer import IMPORTERS, ImportFileError, parse_mapping
from pipeline.problems import recurring_problems
from pipeline.progress import Progress
from pipeline.quality import quality_report
from pipeline.settings import CRITERIA, Settings
from pipeline.suggest import Suggestion, Triage
from pipeline.text import ReportError
from pipeline.thresholds import change_thresholds
from pipeline.training import SuggestionModelUnavailable
from pipeline.workspace import Workspace

logger = logging.getLogger(__name__)

# Failures that are the user's to fix: one line, no traceback.
_USER_ERRORS = (
    ImportFileError,
    ReportError,
    ModelUnavailable,
    SuggestionModelUnavailable,
    ModelVersionNotFound,
    IncidentNotFound,
    InvalidValue,
    FileNotFoundError,
    KnowledgeBaseUnavailable,
    ValidationError,  # a setting with a bad value
    EvaluationError,
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
        click.echo(f"Index: {len(index)} resolved incidents ({', '.join(index.models.values())}).")


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the similar-case index from the database (embeddings come from the cache where possible)."""
    ws = _workspace(ctx)
    index = ws.reindex(progress_bar)
    models = ", ".join(index.models.values())
    click.echo(f"Indexed {len(index)} resolved incidents with {models} into {ws.settings.resolved_index_path}.")


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


def _suggestion_line(s: Suggestion | None, name: str) -> str:
    if s is None:
        return f"{name:<11} (no model for this target)"
    if s.abstained:
        candidates = ", ".join(f"{label} {p:.0%}" for label, p in s.candidates)
        return f"{name:<11} not sure ({candidates}) - {s.reason}"
    how = f"{s.confidence:.0%}" if s.source == "model" else f"by {s.source}"
    return f"{name:<11} {s.value} ({how}) - {s.reason}"


def _triage_json(t: Triage) -> dict:
    def one(s: Suggestion | None) -> dict | None:
        if s is None:
            return None
        return {
            "value": s.value,
            "source": s.source,
            "confidence": round(s.confidence, 4),
            "candidates": [[label, round(p, 4)] for label, p in s.candidates],
            "reason": s.reason,
            "terms": [term for term, _ in s.terms],
            "similar_cases": [[c.incident_id, round(c.similarity, 4)] for c in s.supporters],
        }

    return {
        "category": one(t.category),
        "priority": one(t.priority),
        "escalation_level": one(t.escalation),
        "impact": one(t.impact),
        "urgency": one(t.urgency),
        "criteria": {c.key: {"ticked": c.ticked, "proposed": c.proposed, "reason": c.reason} for c in t.criteria},
        "model_version": t.model_version,
    }


@cli.command()
@click.argument("report")
@click.option(
    "--tick",
    "ticked",
    multiple=True,
    type=click.Choice(CRITERIA),
    help="Tick an escalation criterion yourself (repeatable); without any, the proposed ones count.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def suggest(ctx: click.Context, report: str, ticked: tuple[str, ...], as_json: bool) -> None:
    """Suggest category, priority and escalation level for REPORT, with confidence and reasons."""
    ws = _workspace(ctx)
    ws.index(progress_bar)
    _echo_notices(ws)
    t = ws.triage(report, ticked=ticked or None)
    for note in t.notes:
        click.echo(note, err=True)
    if as_json:
        click.echo(json.dumps(_triage_json(t), ensure_ascii=False))
        return
    for s, name in ((t.category, "category"), (t.priority, "priority"), (t.escalation, "escalation")):
        click.echo(_suggestion_line(s, name))
    click.echo("escalation checklist:")
    for c in t.criteria:
        mark = "x" if c.ticked else " "
        click.echo(f"  [{mark}] {c.label} (raises to {c.raises_to})" + (f" - {c.reason}" if c.reason else ""))
    cases = ", ".join(f"#{c.incident.id} ({c.similarity:.2f})" for c in t.similar[:5])
    click.echo(f"similar cases: {cases}  (model version {t.model_version})")


@cli.command()
@click.option("--actor", default="train", show_default=True, help="Name recorded in the event log.")
@click.option(
    "--candidate", is_flag=True, help="Keep the active version; compare the new one with it (see `models compare`)."
)
@click.pass_context
def train(ctx: click.Context, actor: str, candidate: bool) -> None:
    """Train the suggestion models on every resolved incident and make the new version active."""
    ws = _workspace(ctx)
    record = ws.train(actor=actor, activate=not candidate, progress=progress_bar)
    state = "kept as a candidate" if candidate else "made active"
    click.echo(f"Model version {record.id} trained on {record.n_train} resolved incidents and {state}.")
    for target, figures in record.metrics.items():
        if target == "skipped":
            for skipped, why in figures.items():
                click.echo(f"  {skipped:<17} not trained: {why}")
            continue
        if "abstaining" not in figures:
            click.echo(f"  {target:<17} trained, not measured: {figures['held_out']}")
            continue
        abstain = figures["abstaining"]
        precision = "-" if abstain["precision"] is None else f"{abstain['precision']:.1%}"
        click.echo(
            f"  {target:<17} held-out accuracy {figures['accuracy']:.1%}, macro F1 {figures['macro_f1']:.3f}; "
            f"answers {abstain['coverage']:.0%} of cases at {precision} precision"
        )


@cli.group(cls=_Group)
def models() -> None:
    """List, compare, activate or discard the trained suggestion model versions."""


@models.command("list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """Every trained version, newest first; * marks the active one, x a discarded one."""
    ws = _workspace(ctx)
    for r in ws.kb.model_versions():
        accuracy = ", ".join(
            f"{t} {m['accuracy']:.1%}" for t, m in r.metrics.items() if t != "skipped" and "accuracy" in m
        )
        mark = "*" if r.active else "x" if r.discarded_at else " "
        click.echo(f"{mark} v{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.n_train} cases  {r.embedding_model}  {accuracy}")


@models.command("activate")
@click.argument("version", type=int)
@click.option("--actor", default="admin", show_default=True, help="Name recorded in the event log.")
@click.pass_context
def models_activate(ctx: click.Context, version: int, actor: str) -> None:
    """Make VERSION the active suggestion model (it is checked to load and fit the embedding model first)."""
    ws = _workspace(ctx)
    record = ws.activate(version, actor=actor)
    click.echo(f"Model version {record.id} is now active.")


@models.command("compare")
@click.argument("candidate", type=int)
@click.option("--with", "baseline", type=int, help="The version to compare with (default: the active one).")
@click.pass_context
def models_compare(ctx: click.Context, candidate: int, baseline: int | None) -> None:
    """Compare CANDIDATE with the active version on the same held-out cases, at the thresholds in force."""
    ws = _workspace(ctx)
    result = versions.compare_versions(ws, candidate, baseline, progress=progress_bar)
    click.echo(f"v{result.baseline} (baseline) against v{result.candidate} (candidate):")
    for target, c in result.targets.items():
        click.echo(f"  {target} ({c.cases} held-out cases)")
        for figure, row in c.figures.iterrows():
            old, new = (f"{v:.1%}" if v == v and v is not None else "-" for v in row)
            click.echo(f"    {figure:<17} {old:>7} -> {new:>7}")
        for verdict in ("better", "worse"):
            changed = c.classes.loc[c.classes["verdict"] == verdict, "class"].tolist()
            if changed:
                click.echo(f"    {verdict}: {', '.join(changed)}")


@models.command("discard")
@click.argument("version", type=int)
@click.option("--actor", default="admin", show_default=True, help="Name recorded in the event log.")
@click.pass_context
def models_discard(ctx: click.Context, version: int, actor: str) -> None:
    """Discard VERSION (not the active one): it is marked so and its file deleted."""
    versions.discard_version(_workspace(ctx), version, user=actor)
    click.echo(f"Model version {version} discarded.")


@cli.command()
@click.option(
    "--precision", "precisions", multiple=True, metavar="TARGET=P", help="Set a target's precision target (repeatable)."
)
@click.option(
    "--class", "classes", multiple=True, metavar="TARGET:CLASS=C",
    help="Set one class's confidence threshold; TARGET:CLASS= clears it (repeatable).",
)  # fmt: skip
@click.option("--note", default="", help="Why, recorded with the new version.")
@click.option("--actor", default="admin", show_default=True, help="Name recorded in the event log.")
@click.pass_context
def thresholds(
    ctx: click.Context, precisions: tuple[str, ...], classes: tuple[str, ...], note: str, actor: str
) -> None:
    """Show the thresholds in force, or change them (a new version, in force for the next suggestion)."""
    ws = _workspace(ctx)
    if precisions or classes:
        try:
            precision = {target.strip(): float(value) for target, value in (i.split("=", 1) for i in precisions)}
            chosen = {}
            for item in classes:
                key, value = item.split("=", 1)
                target, label = key.split(":", 1)
                chosen[target.strip(), label.strip()] = float(value) if value.strip() else None
        except ValueError:
            raise click.BadParameter(
                "write TARGET=P and TARGET:CLASS=C, e.g. category=0.95 category:Network=0.8"
            ) from None
        change_thresholds(ws.kb, ws.settings, user=actor, precision=precision, classes=chosen, note=note)
    policy = ws.thresholds()
    source = f"version {policy.version}" if policy.version else "the settings' default"
    click.echo(f"Thresholds in force: {source}; default precision target {policy.default_precision:.0%}")
    for target, value in policy.precision.items():
        click.echo(f"  {target}: precision target {value:.0%}")
    for target, chosen in policy.class_thresholds.items():
        for label, value in chosen.items():
            click.echo(f"  {target} {label!r}: suggested from confidence {value:.2f}")


@cli.group(cls=_Group)
def evaluate() -> None:
    """Measure the assistant on labelled data, against plain baselines, on a held-out split."""


@evaluate.command("classify")
@click.option("--data", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text", "texts", required=True, multiple=True, help="Text column (repeatable; joined in order).")
@click.option("--label", required=True, help="Label column.")
@click.option("--test-size", default=0.2, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--encoding", help="Text encoding of the file (default UTF-8).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.pass_context
def evaluate_classify_command(
    ctx: click.Context,
    path: Path,
    texts: tuple[str, ...],
    label: str,
    test_size: float,
    seed: int,
    encoding: str | None,
    as_json: bool,
) -> None:
    """Train on a stratified split of a CSV / JSON Lines file and report test figures beside a TF-IDF + SVM baseline."""
    ws = _workspace(ctx)
    data = read_labelled(path, texts, label, encoding=encoding)
    s = ws.settings
    figures = evaluate_classify(
        data,
        ws.embedder,
        test_size=test_size,
        seed=seed,
        precision_target=s.precision_target,
        min_class_examples=s.min_class_examples,
        batch_size=s.embed_batch_size,
        progress=progress_bar,
    )
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    for note in figures["notes"]:
        click.echo(f"note: {note}", err=True)
    base = figures["baseline"]
    click.echo(f"{figures['n_train']} training rows, {figures['n_test']} test rows, {figures['n_classes']} classes")
    click.echo(f"{'':<22}{'model':>10}{'baseline':>10}")
    click.echo(f"{'accuracy':<22}{figures['accuracy']:>10.4f}{base['accuracy']:>10.4f}")
    click.echo(f"{'macro F1':<22}{figures['macro_f1']:>10.4f}{base['macro_f1']:>10.4f}")
    click.echo(f"{'training seconds':<22}{figures['train_seconds']:>10.1f}{base['train_seconds']:>10.1f}")
    for level, coverage in figures["coverage_at_precision"].items():
        click.echo(f"{'coverage @ precision ' + level:<22}{coverage:>10.4f}")
    abstain = figures["abstaining"]
    click.echo(
        f"with per-class thresholds for precision {abstain['precision_target']}: answers {abstain['coverage']:.1%} "
        f"of test cases, right {abstain['precision'] or 0:.1%} of those; calibration error "
        f"{figures['calibration_error']:.3f}"
    )
    click.echo(f"{'class':<28}{'precision':>10}{'recall':>10}{'support':>9}")
    for name, c in figures["per_class"].items():
        click.echo(f"{name[:27]:<28}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['support']:>9}")


@evaluate.command("retrieval")
@click.option("--pairs", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.pass_context
def evaluate_retrieval_command(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Rank the corpus of a pairs file (TSV: duplicate|non-duplicate, text A, text B) for each duplicate's text A.

    Reports MRR and recall at 1, 5 and 10 of text B (the query itself left out, ties counted against), for the
    configured search and, in the same run, for plain TF-IDF and for each offline embedding model alone.
    """
    ws = _workspace(ctx)
    s = ws.settings
    pairs = read_pairs(path)
    cache = EmbeddingCache(s.embedding_cache_path)
    others = {
        name: ws.embedder if name == s.embedding_model else load_embedder(name, threads=s.threads, cache=cache)
        for name in OFFLINE_MODELS
    }
    figures = evaluate_retrieval(pairs, ws.encoders, s.search_weights, others, progress=progress_bar)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    for note in figures["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{figures['n_queries']} queries over {figures['n_docs']} texts")
    click.echo(f"{'':<24}{'MRR':>8}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'queries/s':>11}")
    click.echo(f"search: {figures['configuration']}")
    rows = {"search": figures, **figures["baselines"]}
    for name, f in rows.items():
        click.echo(
            f"{name[:23]:<24}{f['mrr']:>8.4f}{f['recall_at_1']:>8.4f}{f['recall_at_5']:>8.4f}"
            f"{f['recall_at_10']:>8.4f}{f['queries_per_second']:>11.0f}"
        )
    kinds = list(figures["mrr_by_languages"])
    click.echo(f"\nMRR by languages of query > answer\n{'':<24}" + "".join(f"{kind:>8}" for kind in kinds))
    for name, f in rows.items():
        click.echo(f"{name[:23]:<24}" + "".join(f"{f['mrr_by_languages'][kind]:>8.4f}" for kind in kinds))


@cli.group(cls=_Group)
def review() -> None:
    """The leads' review from the command line: suggestion quality, escalations, recurring problems."""


@review.command("quality")
@click.option("--by", type=click.Choice(["target", "class", "week"]), default="target", show_default=True)
@click.pass_context
def review_quality(ctx: click.Context, by: str) -> None:
    """How the stored suggestions fared: coverage, precision as it happened, acceptance and override rates."""
    report = quality_report(_workspace(ctx).kb)
    table = {"target": report.by_target, "class": report.by_class, "week": report.by_week}[by]
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


@review.command("escalations")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Cases opened on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Cases opened on or before this day.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write every case here.")
@click.pass_context
def review_escalations(ctx: click.Context, since, until, csv_path: Path | None) -> None:
    """The escalation review: times to escalation, criteria ticked, levels, and escalations that look avoidable."""
    result = escalation_review(
        _workspace(ctx), since=since and since.date(), until=until and until.date(), progress=progress_bar
    )
    cases = result.cases
    timed = cases["hours_to_escalation"].dropna()
    click.echo(
        f"{len(cases)} escalated cases; {len(timed)} handed off through the desk, median "
        f"{timed.median() if len(timed) else float('nan'):.1f} h to escalation; {int(cases['came_back_down'].sum())} "
        f"came back down; {int(cases['resolved_without_escalation'].notna().sum())} had a similar case resolved "
        "without escalation before them"
    )
    click.echo(result.criteria.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(result.levels.to_string())
    if csv_path:
        csv_path.write_text(result.to_csv(), encoding="utf-8")
        click.echo(f"Wrote {len(cases)} cases to {csv_path}")


@review.command("problems")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Reports opened on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Reports opened on or before this day.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many clusters to list.")
@click.pass_context
def review_problems(ctx: click.Context, since, until, top: int) -> None:
    """Recurring problems: the largest clusters of similar reports of the period, with their telling words and
    their cases (the most typical first); candidates for a problem record."""
    try:
        found = recurring_problems(
            _workspace(ctx), since and since.date(), until and until.date(), top=top, progress=progress_bar
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not found:
        click.echo("No group of similar reports in this period.")
    for problem in found:
        languages = ", ".join(f"{n} {lang}" for lang, n in problem.languages.items())
        click.echo(f"\n{problem.label}: {problem.size} reports ({languages}), similarity {problem.similarity:.2f}")
        for case in problem.cases.itertuples():
            click.echo(f"  #{case.id:<6} {case.created_at:%Y-%m-%d} {case.language} {case.status:<12} {case.title}")


@cli.command()
@click.option("--recreate", is_flag=True, help="Delete the existing SQLite knowledge base and its index first.")
@click.pass_context
def demo(ctx: click.Context, recreate: bool) -> None:
    """Build the demo knowledge base from data/ (about 1,600 incidents, half Japanese) if it is empty."""
    settings: Settings = ctx.obj["settings"]
    if not recreate:
        with KnowledgeBase(settings.resolved_database_url) as kb:
            recreate = interrupted(kb)
        if recreate:
            click.echo(f"The demo build in {kb} was interrupted before it finished; building it again.")
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
    database = settings.sqlite_path
    if database is None:
        raise click.UsageError("--recreate only deletes SQLite files; drop a server database yourself")
    for path in (
        database,
        Path(f"{database}-wal"),
        Path(f"{database}-shm"),
        settings.resolved_index_path,
    ):
        path.unlink(missing_ok=True)
    # Model files belong to the database's registry; without it they are orphans.
    for path in settings.resolved_model_dir.glob("suggestions-*.joblib"):
        path.unlink()


@cli.command("settings")
@click.pass_context
def show_settings(ctx: click.Context) -> None:
    """Print every setting with its current value and what it does."""
    settings: Settings = ctx.obj["settings"]
    values = settings.model_dump(mode="json")  # nested settings (the workflow) print as they are written
    for name, info in Settings.model_fields.items():
        value = values[name]
        click.echo(f"{name} = {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
        click.echo(f"    INCIDENT_KB_{name.upper()}: {info.description}")


def main() -> None:
    cli(prog_name="incident-kb")
