"""Triage suggestions for one report: category, priority (ITIL matrix) and escalation level (with the checklist).

Every suggestion says how sure it is and why (its reasons are phrases the edges word). Below its class's threshold
it abstains: the value is None and the candidates are listed instead. A value is sure only where held-out cases
back it: the model's class at its threshold, where the version's twin, at that threshold, was right often enough
on the cases held out of it (``figures.backs``); or a rule (the outage words, the ITIL matrix of a sure impact and
urgency; ``rules.py``) whose record on the held-out cases reaches the precision target. The escalation guide's
criteria found in a report are proposals: the level is raised to what a criterion asks for only once an agent
ticks it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from kb.vocab import ESCALATION_LEVELS
from pipeline.settings import CRITERIA, Settings
from pipeline.triage.figures import backs
from pipeline.triage.fold import FoldedCase
from pipeline.triage.reports import Reports
from pipeline.triage.rules import RuleFigure, first_match, outage_values, outage_words
from pipeline.triage.search import SimilarCase
from pipeline.triage.targets import SUGGESTED
from pipeline.triage.thresholds import Thresholds
from pipeline.triage.training import NotTrained, SuggestionModels
from words import Phrase

_HIGHER_LEVELS = ("L2", "L3")
CANDIDATES_SHOWN = 3


@dataclass(frozen=True)
class Supporter:
    """A similar past case behind a suggestion."""

    incident_id: int
    similarity: float
    label: str | None


@dataclass(frozen=True)
class Suggestion:
    """One target's suggestion: a value when sure enough, else None with the candidates; always the reasons."""

    target: str
    value: str | None
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    threshold: float
    terms: tuple[tuple[str, float], ...] = ()
    supporters: tuple[Supporter, ...] = ()
    reasons: tuple[Phrase, ...] = ()
    # "model" when the value is the model's own; else the rule that set it: "matrix", "outage", "checklist".
    source: str = "model"

    @property
    def abstained(self) -> bool:
        return self.value is None

    @property
    def best(self) -> str:
        """The most likely class, also when abstaining."""
        return self.candidates[0][0]

    def because(self, reason: Phrase) -> Suggestion:
        """The same suggestion with one more reason."""
        return replace(self, reasons=(*self.reasons, reason))


@dataclass(frozen=True)
class Criterion:
    """One of the escalation guide's four criteria: proposed by the assistant (with why) and / or ticked."""

    key: str
    proposed: bool
    reasons: tuple[Phrase, ...]
    ticked: bool
    raises_to: str


@dataclass(frozen=True)
class Triage:
    """Everything the assistant says about one report; a suggestion is None where its target has no model."""

    category: Suggestion | None
    priority: Suggestion | None
    escalation_level: Suggestion | None
    impact: Suggestion | None
    urgency: Suggestion | None
    criteria: tuple[Criterion, ...]
    similar: tuple[SimilarCase, ...]
    model_version: int | None
    threshold_version: int | None = None
    # Why a target has no suggestion (it was not trained), one phrase each.
    notes: tuple[Phrase, ...] = field(default_factory=tuple)
    # The level history alone suggests, before the checklist: ``with_ticks`` starts again from it.
    learned_escalation: Suggestion | None = None
    duplicates: tuple[SimilarCase, ...] = ()  # open cases that look like the same problem
    # The similar cases as shown: near-identical ones folded, different fixes favoured (``fold.py``).
    folded: tuple[FoldedCase, ...] = ()

    @property
    def suggestions(self) -> dict[str, Suggestion]:
        """The suggestions an agent sees and decides on (``targets.SUGGESTED``), by target; those made only."""
        made = {target: getattr(self, target) for target in SUGGESTED}
        return {target: s for target, s in made.items() if s is not None}


def with_ticks(t: Triage, ticked: Collection[str]) -> Triage:
    """The same triage with the agent's ticks: nothing is predicted again, only the escalation level follows."""
    criteria = tuple(replace(c, ticked=c.key in ticked) for c in t.criteria)
    return replace(t, criteria=criteria, escalation_level=_escalation(t.learned_escalation, criteria))


def _suggest(
    models: SuggestionModels,
    target: str,
    report: Reports,
    similar: Sequence[SimilarCase],
    thresholds: Thresholds,
) -> Suggestion | None:
    model = models.models.get(target)
    if model is None:
        return None
    proba = model.predict_proba(report)[0]
    order = np.argsort(-proba)
    best, confidence = str(model.classes_[order[0]]), float(proba[order[0]])
    threshold = thresholds.for_model(target, model)[best]
    held = models.holdout.get(target)
    confident = confidence >= threshold
    right, made = held.record(best, threshold) if held is not None and confident else (0, 0)
    precision = thresholds.precision_for(target)
    sure = confident and backs(right, made, precision)
    supporters = tuple(
        Supporter(case.incident.id, case.similarity, getattr(case.incident, target))
        for case in similar
        if getattr(case.incident, target) == best
    )
    by_lead = "_lead" if thresholds.is_set(target, best) else ""
    record = {"label": best, "right": right, "made": made, "precision": right / made if made else 0.0}
    if sure:
        reasons = (
            Phrase(f"reason_sure{by_lead}", confidence=confidence, threshold=threshold),
            Phrase("reason_held_out_class", **record),
        )
    elif confident:  # the out-of-fold threshold says yes; the cases held out of the version's twin do not
        why = "reason_held_out_short" if made else "reason_held_out_none"
        reasons = (Phrase(why, confidence=confidence, target=precision, **record),)
    elif np.isinf(threshold):
        count, minimum = int(model.class_counts_[order[0]]), model.min_class_examples
        reasons = (
            Phrase("reason_too_few_cases", label=best, count=count, minimum=minimum)
            if count < minimum
            else Phrase("reason_precision_unreachable", label=best, precision=precision),
        )
    else:
        reasons = (Phrase(f"reason_below_threshold{by_lead}", confidence=confidence, threshold=threshold),)
    return Suggestion(
        target=target,
        value=best if sure else None,
        confidence=confidence,
        candidates=tuple((str(model.classes_[i]), float(proba[i])) for i in order[:CANDIDATES_SHOWN]),
        threshold=threshold,
        terms=tuple(model.top_terms(report.texts[0], best)),
        supporters=supporters,
        reasons=reasons,
    )


def _scale(value: str) -> Phrase:
    return Phrase(f"scale_{value}")


def _priority(
    direct: Suggestion | None,
    impact: Suggestion | None,
    urgency: Suggestion | None,
    text: str,
    settings: Settings,
    rules: Mapping[tuple[str, str], RuleFigure],
    thresholds: Thresholds,
) -> tuple[Suggestion | None, Suggestion | None, Suggestion | None]:
    """Priority from the model, the outage words and the ITIL matrix; a rule decides where its record backs it."""
    if outage := outage_words(text, settings):
        why = Phrase("reason_outage", words=outage)
        by_outage = outage_values(settings)
        impact, urgency, direct = (
            _by_rule(s, target, by_outage[target], why, rules.get(("outage", target)), thresholds, "outage")
            for s, target in ((impact, "impact"), (urgency, "urgency"), (direct, "priority"))
        )
        if direct is not None and direct.source == "outage":
            return direct, impact, urgency
    # The matrix's record was measured on the models' own impact and urgency: not on values a rule set.
    if any(s is None or s.abstained or s.source != "model" for s in (impact, urgency)):
        if direct is not None:
            direct = direct.because(Phrase("reason_matrix_unsure"))
        return direct, impact, urgency
    matrix = settings.priority_matrix[impact.value][urgency.value]
    cell = {"impact": _scale(impact.value), "urgency": _scale(urgency.value), "matrix": matrix}
    if direct is not None and not direct.abstained:  # the model's class stands on its own held-out record
        agrees = "reason_matrix_agrees" if direct.value == matrix else "reason_matrix_differs"
        return direct.because(Phrase(agrees, **cell)), impact, urgency
    why = Phrase("reason_matrix", **cell)
    priority = _by_rule(direct, "priority", matrix, why, rules.get(("matrix", "priority")), thresholds, "matrix")
    return priority, impact, urgency


def _by_rule(
    s: Suggestion | None,
    target: str,
    value: str,
    why: Phrase,
    record: RuleFigure | None,
    thresholds: Thresholds,
    rule: str,
) -> Suggestion | None:
    """What a rule that says ``value`` makes of a target's suggestion: the value, sure, where the rule's held-out
    record backs it; else the suggestion as it was (None where the target has no model), with the rule's value
    proposed and its record as the reason."""
    precision = thresholds.precision_for(target)
    record = record or RuleFigure(rule, target, 0, 0)
    if record.backs(precision):
        return _override(s, target, value, why, source=rule).because(record.reason(precision, value))
    return None if s is None else s.because(why).because(record.reason(precision, value))


def _override(
    s: Suggestion | None, target: str, value: str, reason: Phrase, *, source: str, confidence: float | None = None
) -> Suggestion:
    """A suggestion set by a rule, keeping what the model said as candidates and terms.

    Its confidence is the model's probability of that value (or ``confidence``): what the rule overrode.
    """
    if s is None:
        conf = 0.0 if confidence is None else confidence
        return Suggestion(target, value, conf, ((value, conf),), 0.0, reasons=(reason,), source=source)
    conf = confidence if confidence is not None else dict(s.candidates).get(value, 0.0)
    return replace(s, value=value, confidence=conf, reasons=(reason,), source=source)


def propose_criteria(
    text: str, similar: Sequence[SimilarCase], settings: Settings, ticked: Collection[str] | None
) -> tuple[Criterion, ...]:
    """The four criteria, each proposed (or not) with its reasons, and ticked where ``ticked`` (an agent's) says."""
    out = []
    for key in CRITERIA:
        reasons = []
        match = first_match(settings.criterion_patterns.get(key, []), text)
        if match:
            reasons.append(Phrase("criterion_report_says", words=match))
        if key == "technical_limit" and similar:
            higher = [c.incident.id for c in similar if c.incident.escalation_level in _HIGHER_LEVELS]
            if len(higher) / len(similar) >= settings.escalation_share:
                ids = [f"#{i}" for i in higher[:5]]
                reasons.append(Phrase("criterion_similar_went_higher", higher=len(higher), of=len(similar), ids=ids))
        proposed = bool(reasons)
        out.append(
            Criterion(
                key=key,
                proposed=proposed,
                reasons=tuple(reasons),
                ticked=key in (ticked or ()),
                raises_to=settings.criterion_levels[key],
            )
        )
    return tuple(out)


def _escalation(learned: Suggestion | None, criteria: Sequence[Criterion]) -> Suggestion | None:
    """The learned level, raised to at least what the ticked criteria ask for."""
    ticked = [c for c in criteria if c.ticked]
    if not ticked:
        return learned
    floor = max((c.raises_to for c in ticked), key=ESCALATION_LEVELS.index)
    names = [Phrase(f"criterion_short_{c.key}") for c in ticked]
    if learned is None or learned.abstained:
        why = Phrase("reason_checklist_floor", criteria=names, level=Phrase(f"level_{floor}"))
        return _override(learned, "escalation_level", floor, why, source="checklist")
    if ESCALATION_LEVELS.index(learned.value) >= ESCALATION_LEVELS.index(floor):
        return learned.because(Phrase("reason_checklist_no_more", criteria=names))
    why = Phrase("reason_raised", old=learned.value, new=floor, criteria=names)
    return _override(learned, "escalation_level", floor, why, source="checklist")


def triage(
    models: SuggestionModels,
    text: str,
    vector: np.ndarray,
    similar: Sequence[SimilarCase],
    settings: Settings,
    *,
    thresholds: Thresholds | None = None,
    ticked: Collection[str] | None = None,
) -> Triage:
    """All suggestions for one cleaned report and its embedding, with the similar cases found for it.

    ``thresholds`` are those in force (by default the settings' precision target for every class)."""
    thresholds = thresholds or Thresholds(settings.precision_target)
    report = Reports([text], np.asarray(vector, dtype=np.float32).reshape(1, -1))
    s = {target: _suggest(models, target, report, similar, thresholds) for target in models.models}
    rules = {(r.rule, r.target): r for r in models.rules}
    priority, impact, urgency = _priority(
        s.get("priority"), s.get("impact"), s.get("urgency"), text, settings, rules, thresholds
    )
    criteria = propose_criteria(text, similar, settings, ticked)
    notes = tuple(
        Phrase("no_suggestion_for", target=Phrase(f"target_{target}"), reason=metrics.reason)
        for target, metrics in models.metrics.items()
        if isinstance(metrics, NotTrained)
    )
    return Triage(
        category=s.get("category"),
        priority=priority,
        escalation_level=_escalation(s.get("escalation_level"), criteria),
        impact=impact,
        urgency=urgency,
        criteria=criteria,
        similar=tuple(similar),
        model_version=models.version,
        threshold_version=thresholds.version,
        notes=notes,
        learned_escalation=s.get("escalation_level"),
    )
