"""The public yardsticks: the suggestion model and similar-case search measured on any labelled file, each beside
plain baselines trained in the same run, on a held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.common import Group, Run, pass_run
from pipeline.triage.embed import OFFLINE_MODELS, load_embedder
from pipeline.triage.embed_cache import EmbeddingCache
from pipeline.triage.evaluate import (
    Ranking,
    evaluate_classify,
    evaluate_retrieval,
    read_labelled,
    read_pairs,
    scratch_database,
)


@click.group(cls=Group)
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
@pass_run
def evaluate_classify_command(
    run: Run,
    path: Path,
    texts: tuple[str, ...],
    label: str,
    test_size: float,
    seed: int,
    encoding: str | None,
    as_json: bool,
) -> None:
    """Train on a stratified split of a CSV / JSON Lines file and report test figures beside a TF-IDF + SVM baseline."""
    ws = run.workspace()
    s = ws.settings
    result = evaluate_classify(
        read_labelled(path, texts, label, encoding=encoding),
        ws.suggestion_embedder,
        test_size=test_size,
        seed=seed,
        precision_target=s.precision_target,
        min_class_examples=s.min_class_examples,
        batch_size=s.embed_batch_size,
        progress=run.progress(),
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    for note in result.notes:
        run.echo("note_line", err=True, note=note)
    model, base = result.figures, result.baseline
    run.echo("evaluation_rows", train=result.n_train, test=result.n_test, classes=result.n_classes)
    click.echo(f"{'':<22}{run.say('table_model'):>10}{run.say('table_baseline'):>10}")
    click.echo(f"{run.say('table_accuracy'):<22}{model.accuracy:>10.4f}{base.accuracy:>10.4f}")
    click.echo(f"{run.say('table_macro_f1'):<22}{model.macro_f1:>10.4f}{base.macro_f1:>10.4f}")
    seconds = run.say("table_training_seconds")
    click.echo(f"{seconds:<22}{result.train_seconds:>10.1f}{result.baseline_seconds:>10.1f}")
    for level, coverage in model.coverage_at_precision.items():
        click.echo(f"{run.say('table_coverage_at', level=level):<22}{coverage:>10.4f}")
    run.echo(
        "evaluation_abstaining",
        target=result.precision_target,
        coverage=model.abstaining.coverage,
        precision=model.abstaining.precision or 0,
        calibration=model.calibration_error,
    )
    heads = (run.say(f"table_{name}") for name in ("class", "precision", "recall", "support"))
    click.echo("{:<28}{:>10}{:>10}{:>9}".format(*heads))
    for name, c in model.per_class.items():
        click.echo(f"{name[:27]:<28}{c.precision:>10.3f}{c.recall:>10.3f}{c.support:>9}")


@evaluate.command("retrieval")
@click.option("--pairs", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.option(
    "--on-postgresql",
    "scratch",
    metavar="URL",
    help="Search on pgvector in this empty PostgreSQL database (made for it: its index is replaced), not faiss.",
)
@pass_run
def evaluate_retrieval_command(run: Run, path: Path, as_json: bool, scratch: str | None) -> None:
    """Rank the corpus of a pairs file (TSV: duplicate|non-duplicate, text A, text B) for each duplicate's text A.

    Reports MRR and recall at 1, 5 and 10 of text B (the query itself left out, ties counted against), for the
    configured search and, in the same run, for plain TF-IDF and for each offline embedding model alone.
    """
    ws = run.workspace()
    s = ws.settings
    pairs = read_pairs(path)
    cache = EmbeddingCache(s.embedding_cache_path)
    others = {
        name: ws.embedder if name == s.embedding_model else load_embedder(name, threads=s.threads, cache=cache)
        for name in OFFLINE_MODELS
    }
    database = scratch_database(scratch) if scratch else None
    try:
        result = evaluate_retrieval(
            pairs,
            ws.encoders,
            s.search_weights,
            others,
            same=s.fold_similarity,
            engine=database.engine if database else None,
            progress=run.progress(),
        )
    finally:
        if database is not None:
            database.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    for note in result.notes:
        run.echo("note_line", err=True, note=note)
    run.echo("retrieval_rows", queries=result.n_queries, texts=result.n_docs)
    click.echo(f"{'':<24}{'MRR':>8}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'queries/s':>11}")
    click.echo(f"search: {result.configuration}")
    rows = {"search": result.search, **result.baselines}
    for name, f in {"search": result.search, run.say("search_folded"): result.folded, **result.baselines}.items():
        speed = f"{f.queries_per_second:>11.0f}" if isinstance(f, Ranking) else ""
        click.echo(
            f"{name[:23]:<24}{f.mrr:>8.4f}{f.recall_at_1:>8.4f}{f.recall_at_5:>8.4f}{f.recall_at_10:>8.4f}{speed}"
        )
    kinds = list(result.search.mrr_by_languages)
    click.echo("\n" + run.say("mrr_by_languages") + f"\n{'':<24}" + "".join(f"{kind:>8}" for kind in kinds))
    for name, f in rows.items():
        click.echo(f"{name[:23]:<24}" + "".join(f"{f.mrr_by_languages[kind]:>8.4f}" for kind in kinds))


COMMANDS = (evaluate,)
