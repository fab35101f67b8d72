"""Triage suggestions for one report: category, priority (ITIL matrix) and escalation level (with the checklist).

Every suggestion says how sure it is and why (its reasons are phrases the edges word). Below its class's threshold
it abstains: the value is None and the candidates are listed instead. Priority reconciles the model's direct guess
with the ITIL matrix of the suggested impact and urgency; a report of a service down for many users ranks first.
The escalation level is raised to at least what the ticked criteria of the escalation guide ask for.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from kb.vocab import ESCALATION_LEVELS
from pipeline.settings import CRITERIA, Settings
from pipeline.triage.reports import Reports
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

    @property
    def suggestions(self) -> dict[str, Suggestion]:
        """The suggestions an agent sees and decides on (``targets.SUGGESTED``), by target; those made only."""
        made = {target: getattr(self, target) for target in SUGGESTED}
        return {target: s for target, s in made.items() if s is not None}


def with_ticks(t: Triage, ticked: Collection[str]) -> Triage:
    """The same triage with the agent's ticks: nothing is predicted again, only the escalation level follows."""
    criteria = tuple(replace(c, ticked=c.key in ticked) for c in t.criteria)
    return replace(t, criteria=criteria, escalation_level=_escalation(t.learned_escalation, criteria))


def _first_match(patterns: Sequence[str], text: str) -> str | None:
    for pattern in patterns:
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            return match.group(0).strip()
    return None


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
    sure = confidence >= threshold
    supporters = tuple(
        Supporter(case.incident.id, case.similarity, getattr(case.incident, target))
        for case in similar
        if getattr(case.incident, target) == best
    )
    by_lead = "_lead" if thresholds.is_set(target, best) else ""
    if sure:
        why = Phrase(f"reason_sure{by_lead}", confidence=confidence, threshold=threshold)
    elif np.isinf(threshold):
        count, minimum = int(model.class_counts_[order[0]]), model.min_class_examples
        why = (
            Phrase("reason_too_few_cases", label=best, count=count, minimum=minimum)
            if count < minimum
            else Phrase("reason_precision_unreachable", label=best, precision=thresholds.precision_for(target))
        )
    else:
        why = Phrase(f"reason_below_threshold{by_lead}", confidence=confidence, threshold=threshold)
    return Suggestion(
        target=target,
        value=best if sure else None,
        confidence=confidence,
        candidates=tuple((str(model.classes_[i]), float(proba[i])) for i in order[:CANDIDATES_SHOWN]),
        threshold=threshold,
        terms=tuple(model.top_terms(report.texts[0], best)),
        supporters=supporters,
        reasons=(why,),
    )


def _scale(value: str) -> Phrase:
    return Phrase(f"scale_{value}")


def _priority(
    direct: Suggestion | None,
    impact: Suggestion | None,
    urgency: Suggestion | None,
    text: str,
    settings: Settings,
) -> tuple[Suggestion | None, Suggestion | None, Suggestion | None]:
    """Reconcile the direct priority with the ITIL matrix; an outage report goes first whatever the models say."""
    outage = _first_match(settings.outage_patterns, text)
    if outage:
        why = Phrase("reason_outage", words=outage)
        impact = _override(impact, "impact", "high", why, source="outage")
        urgency = _override(urgency, "urgency", "high", why, source="outage")
        top = settings.priority_matrix["high"]["high"]
        return _override(direct, "priority", top, why, source="outage"), impact, urgency
    if impact is None or urgency is None or impact.abstained or urgency.abstained:
        if direct is not None:
            direct = direct.because(Phrase("reason_matrix_unsure"))
        return direct, impact, urgency
    matrix = settings.priority_matrix[impact.value][urgency.value]
    cell = {"impact": _scale(impact.value), "urgency": _scale(urgency.value), "matrix": matrix}
    confidence = impact.confidence * urgency.confidence
    if direct is None or direct.abstained:
        base = direct or Suggestion("priority", None, 0.0, ((matrix, confidence),), float("inf"))
        why = Phrase("reason_matrix", **cell)
        return _override(base, "priority", matrix, why, source="matrix", confidence=confidence), impact, urgency
    if direct.value == matrix:
        return direct.because(Phrase("reason_matrix_agrees", **cell)), impact, urgency
    # Disagreement: keep the more urgent one; under-rating a priority costs more than over-rating it.
    more_urgent = min(direct.value, matrix)
    why = Phrase("reason_more_urgent", model=direct.value, confidence=direct.confidence, **cell)
    source = "model" if more_urgent == direct.value else "matrix"
    return _override(direct, "priority", more_urgent, why, source=source), impact, urgency


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
    """The four criteria, each proposed (or not) with its reasons; ``ticked`` None means: tick what is proposed."""
    out = []
    for key in CRITERIA:
        reasons = []
        match = _first_match(settings.criterion_patterns.get(key, []), text)
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
                ticked=proposed if ticked is None else key in ticked,
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
    priority, impact, urgency = _priority(s.get("priority"), s.get("impact"), s.get("urgency"), text, settings)
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
