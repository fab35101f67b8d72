"""The suggestions: suggest for a report, train a version, manage versions, set the thresholds."""

from __future__ import annotations

import json

import click

from cli.common import Group, Run, pass_run
from pipeline.settings import CRITERIA
from pipeline.triage.suggest import Suggestion, Triage
from pipeline.triage.targets import SUGGESTED, TARGETS
from pipeline.triage.thresholds import change_thresholds
from pipeline.triage.training import HeldOut, NotHeldOut, SuggestionModelUnavailable, TargetMetrics
from pipeline.triage.versions import discard_version, version_metrics
from words import say_all


def _suggestion_line(run: Run, s: Suggestion | None, target: str) -> str:
    name = f"{run.say(f'target_{target}'):<11}"
    if s is None:
        return f"{name} {run.say('no_model_for_target')}"
    why = say_all(s.reasons, run.language)
    if s.abstained:
        candidates = ", ".join(f"{label} {p:.0%}" for label, p in s.candidates)
        return f"{name} {run.say('not_sure_candidates', candidates=candidates)} - {why}"
    how = f"{s.confidence:.0%}" if s.source == "model" else run.say("cli_by_rule", rule=run.say(f"rule_{s.source}"))
    return f"{name} {s.value} ({how}) - {why}"


def _triage_json(run: Run, t: Triage) -> dict:
    def one(s: Suggestion | None) -> dict | None:
        if s is None:
            return None
        return {
            "value": s.value,
            "source": s.source,
            "confidence": round(s.confidence, 4),
            "candidates": [[label, round(p, 4)] for label, p in s.candidates],
            "reason": say_all(s.reasons, run.language),
            "terms": [term for term, _ in s.terms],
            "similar_cases": [[c.incident_id, round(c.similarity, 4)] for c in s.supporters],
        }

    criteria = {
        c.key: {"ticked": c.ticked, "proposed": c.proposed, "reason": say_all(c.reasons, run.language)}
        for c in t.criteria
    }
    targets = {target: one(getattr(t, target)) for target in TARGETS}
    return targets | {"criteria": criteria, "model_version": t.model_version}


@click.command()
@click.argument("report")
@click.option(
    "--tick",
    "ticked",
    multiple=True,
    type=click.Choice(CRITERIA),
    help="Tick an escalation criterion (repeatable): only ticked ones raise the level; the rest are proposals.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_run
def suggest(run: Run, report: str, ticked: tuple[str, ...], as_json: bool) -> None:
    """Suggest category, priority and escalation level for REPORT, with confidence and reasons."""
    ws = run.workspace()
    ws.index(run.progress())
    run.notices()
    t = ws.triage(report, ticked=ticked or None)
    for note in t.notes:
        run.echo(note, err=True)
    if as_json:
        click.echo(json.dumps(_triage_json(run, t), ensure_ascii=False))
        return
    for target in SUGGESTED:
        click.echo(_suggestion_line(run, getattr(t, target), target))
    run.echo("escalation_checklist_heading")
    for c in t.criteria:
        mark = "x" if c.ticked else " "
        line = run.say(
            "criterion_at_least", criterion=run.say(f"criterion_{c.key}"), level=run.say(f"level_{c.raises_to}")
        )
        click.echo(f"  [{mark}] {line}" + (f" - {say_all(c.reasons, run.language)}" if c.reasons else ""))
    # As the Triage page lists them: near-identical cases folded (x N), different resolutions first.
    cases = ", ".join(
        f"#{e.lead.incident.id} ({e.lead.similarity:.2f}{f' x{len(e.cases)}' if len(e.cases) > 1 else ''})"
        for e in t.folded[:5]
    )
    run.echo("similar_cases_line", cases=cases, version=t.model_version)


def _metrics_line(run: Run, target: str, metrics: TargetMetrics) -> str:
    if isinstance(metrics, HeldOut):
        figures, abstain = metrics.figures, metrics.figures.abstaining
        precision = "-" if abstain.precision is None else f"{abstain.precision:.1%}"
        line = run.say(
            "train_held_out",
            accuracy=figures.accuracy,
            macro_f1=figures.macro_f1,
            coverage=abstain.coverage,
            precision=precision,
        )
    elif isinstance(metrics, NotHeldOut):
        line = run.say("train_not_held_out", reason=metrics.reason)
    else:
        line = run.say("train_not_trained", reason=metrics.reason)
    return f"  {target:<17} {line}"


@click.command()
@click.option(
    "--candidate", is_flag=True, help="Keep the active version; compare the new one with it (see `models compare`)."
)
@pass_run
def train(run: Run, candidate: bool) -> None:
    """Train the suggestion models on every resolved incident and make the new version active."""
    record = run.workspace().train(actor=run.actor, activate=not candidate, progress=run.progress())
    run.echo("train_candidate" if candidate else "train_active", version=record.id, n=record.n_train)
    for target, metrics in version_metrics(record).items():
        click.echo(_metrics_line(run, target, metrics))


@click.group(cls=Group)
def models() -> None:
    """List, compare, activate or discard the trained suggestion model versions."""


@models.command("list")
@pass_run
def models_list(run: Run) -> None:
    """Every trained version, newest first; * marks the active one, x a discarded one."""
    for r in run.workspace().kb.model_versions():
        try:
            measured = version_metrics(r).items()
            accuracy = ", ".join(f"{t} {m.figures.accuracy:.1%}" for t, m in measured if isinstance(m, HeldOut))
        except SuggestionModelUnavailable as exc:  # one unreadable row does not hide the others
            accuracy = run.say(exc.phrase)
        mark = "*" if r.active else "x" if r.discarded_at else " "
        cases = run.say("cases_count", n=r.n_train)
        click.echo(f"{mark} v{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {cases}  {r.embedding_model}  {accuracy}")


@models.command("activate")
@click.argument("version", type=int)
@pass_run
def models_activate(run: Run, version: int) -> None:
    """Make VERSION the active suggestion model (it is checked to load and fit the embedding model first)."""
    record = run.workspace().activate(version, actor=run.actor)
    run.echo("version_now_active", version=record.id)


@models.command("compare")
@click.argument("candidate", type=int)
@click.option("--with", "baseline", type=int, help="The version to compare with (default: the active one).")
@pass_run
def models_compare(run: Run, candidate: int, baseline: int | None) -> None:
    """Compare CANDIDATE with the active version on the same held-out cases, at the thresholds in force."""
    result = run.workspace().compare_versions(candidate, baseline, progress=run.progress())
    run.echo("comparison_heading", baseline=result.baseline, candidate=result.candidate)
    for target, c in result.targets.items():
        click.echo("  " + run.say("comparison_target", target=run.say(target), n=c.cases))
        for figure, row in c.figures.iterrows():
            old, new = (f"{v:.1%}" if v == v and v is not None else "-" for v in row)
            click.echo(f"    {figure:<17} {old:>7} -> {new:>7}")
        for verdict in ("better", "worse"):
            changed = c.classes.loc[c.classes["verdict"] == verdict, "class"].tolist()
            if changed:
                click.echo("    " + run.say(f"cli_classes_{verdict}", classes=", ".join(changed)))


@models.command("discard")
@click.argument("version", type=int)
@pass_run
def models_discard(run: Run, version: int) -> None:
    """Discard VERSION (not the active one): it is marked so and its file deleted."""
    discard_version(run.workspace().kb, version, actor=run.actor)
    run.echo("version_discarded_done", version=version)


def _parse_thresholds(run: Run, precisions: tuple[str, ...], classes: tuple[str, ...]) -> tuple[dict, dict]:
    """``TARGET=P`` and ``TARGET:CLASS=C`` (C empty: clear it) as the two mappings ``change_thresholds`` takes."""
    try:
        precision = {target.strip(): float(value) for target, value in (i.split("=", 1) for i in precisions)}
        chosen = {}
        for item in classes:
            key, value = item.split("=", 1)
            target, label = key.split(":", 1)
            chosen[target.strip(), label.strip()] = float(value) if value.strip() else None
    except ValueError:
        raise click.BadParameter(run.say("thresholds_syntax")) from None
    return precision, chosen


@click.command()
@click.option(
    "--precision", "precisions", multiple=True, metavar="TARGET=P", help="Set a target's precision target (repeatable)."
)
@click.option(
    "--class", "classes", multiple=True, metavar="TARGET:CLASS=C",
    help="Set one class's confidence threshold; TARGET:CLASS= clears it (repeatable).",
)  # fmt: skip
@click.option("--note", default="", help="Why, recorded with the new version.")
@pass_run
def thresholds(run: Run, precisions: tuple[str, ...], classes: tuple[str, ...], note: str) -> None:
    """Show the thresholds in force, or change them (a new version, in force for the next suggestion)."""
    ws = run.workspace()
    if precisions or classes:
        precision, chosen = _parse_thresholds(run, precisions, classes)
        change_thresholds(ws.kb, ws.settings, actor=run.actor, precision=precision, classes=chosen, note=note)
    policy = ws.thresholds()
    source = (
        run.say("thresholds_from_version", version=policy.version) if policy.version else run.say("settings_default")
    )
    run.echo("thresholds_in_force", source=source, precision=policy.default_precision)
    for target, value in policy.precision.items():
        click.echo("  " + run.say("thresholds_target_line", target=target, precision=value))
    for target, chosen_here in policy.class_thresholds.items():
        for label, value in chosen_here.items():
            click.echo("  " + run.say("thresholds_class_line", target=target, label=repr(label), value=value))


COMMANDS = (suggest, train, models, thresholds)
