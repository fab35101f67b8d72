"""The leads' review in the terminal: suggestion quality, the escalation review, recurring problems."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path

import click

from cli.common import Group, Run, pass_run
from pipeline.review.escalation_review import escalation_review
from pipeline.review.problems import recurring_problems
from pipeline.review.suggestion_quality import quality_report


def _day(value: dt.datetime | None) -> dt.date | None:
    return value and value.date()


@click.group(cls=Group)
def review() -> None:
    """The leads' review from the command line: suggestion quality, escalations, recurring problems."""


@review.command("quality")
@click.option("--by", type=click.Choice(["target", "class", "week"]), default="target", show_default=True)
@pass_run
def review_quality(run: Run, by: str) -> None:
    """How the stored suggestions fared: coverage, precision as it happened, acceptance and override rates."""
    report = quality_report(run.workspace().kb)
    table = {"target": report.by_target, "class": report.by_class, "week": report.by_week}[by]
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


@review.command("escalations")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Cases opened on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Cases opened on or before this day.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write every case here.")
@pass_run
def review_escalations(run: Run, since: dt.datetime | None, until: dt.datetime | None, csv_path: Path | None) -> None:
    """The escalation review: times to escalation, criteria ticked, levels, and escalations that look avoidable."""
    result = escalation_review(run.workspace(), since=_day(since), until=_day(until), progress=run.progress())
    summary = result.summary
    median = "-" if summary.median_hours is None else f"{summary.median_hours:.1f}"
    run.echo("escalation_summary", **{**asdict(summary), "median_hours": median})
    click.echo(result.criteria.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(result.levels.to_string())
    if csv_path:
        csv_path.write_text(result.to_csv(), encoding="utf-8")
        run.echo("wrote_cases", n=summary.cases, path=str(csv_path))


@review.command("problems")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Reports opened on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Reports opened on or before this day.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many clusters to list.")
@pass_run
def review_problems(run: Run, since: dt.datetime | None, until: dt.datetime | None, top: int) -> None:
    """Recurring problems: the largest clusters of similar reports of the period, with their telling words and
    their cases (the most typical first); candidates for a problem record."""
    found = recurring_problems(run.workspace(), _day(since), _day(until), top=top, progress=run.progress())
    if not found:
        run.echo("no_recurring_problems_cli")
    for problem in found:
        languages = ", ".join(f"{n} {lang}" for lang, n in problem.languages.items())
        line = run.say(
            "problem_line", label=problem.label, n=problem.size, languages=languages, similarity=problem.similarity
        )
        click.echo("\n" + line)
        for case in problem.cases.itertuples():
            click.echo(f"  #{case.id:<6} {case.created_at:%Y-%m-%d} {case.language} {case.status:<12} {case.title}")


COMMANDS = (review,)
