"""The desk's rules beside the models, and what each was worth on cases no model of the version had seen.

Two rules can set a value the models did not: a report saying a service is down for many users ranks first
(impact and urgency high, the matrix's top priority), and the ITIL matrix turns a sure impact and urgency into a
priority. A rule is only as good as its record: when a version is trained, each rule is run on the held-out fifth
with the twin models' predictions (fitted without those cases), and its value is shown as sure only where it was
right at least as often as the target's precision target there, counted as cautiously as a class's threshold is
(``figures.backs``: 9 right of 10 is not yet 0.9). Otherwise the rule only proposes its value, with
its record as the reason.

The escalation checklist is not a rule of this kind: a criterion the assistant finds in the words of a report is a
proposal, and raises the level only when an agent ticks it (``suggest.with_ticks``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.settings import Settings
from pipeline.triage.figures import answered, backs
from words import Phrase

if TYPE_CHECKING:
    from pipeline.triage.training import HeldOutPredictions


@dataclass(frozen=True)
class RuleFigure:
    """One rule's record for one target on the held-out cases: how often it set a value, and how often rightly."""

    rule: str
    target: str
    fired: int
    right: int

    @property
    def precision(self) -> float | None:
        return self.right / self.fired if self.fired else None

    def backs(self, precision_target: float) -> bool:
        """Whether the record supports showing the rule's value as sure (counted cautiously, as classes are)."""
        return backs(self.right, self.fired, precision_target)

    def reason(self, precision_target: float, value: str) -> Phrase:
        """Why the rule's value is sure, or why it is only proposed."""
        if self.backs(precision_target):
            return Phrase("reason_rule_held_out", right=self.right, fired=self.fired, precision=self.precision)
        if not self.fired:
            return Phrase("reason_rule_unmeasured", value=value)
        return Phrase(
            "reason_rule_below_target",
            right=self.right,
            fired=self.fired,
            precision=self.precision,
            target=precision_target,
            value=value,
        )


def outage_words(text: str, settings: Settings) -> str | None:
    """The words of the report that say a service is down for many users, if any."""
    return first_match(settings.outage_patterns, text)


def first_match(patterns: Sequence[str], text: str) -> str | None:
    for pattern in patterns:
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            return match.group(0).strip()
    return None


def outage_values(settings: Settings) -> dict[str, str]:
    """What the outage rule sets, by target."""
    return {"impact": "high", "urgency": "high", "priority": settings.priority_matrix["high"]["high"]}


def measure_rules(
    texts: Mapping[int, str],
    holdout: Mapping[str, HeldOutPredictions],
    thresholds: Mapping[str, Mapping[str, float]],
    settings: Settings,
) -> tuple[RuleFigure, ...]:
    """Each rule's record on the held-out cases: ``texts`` by incident id, the twins' ``holdout`` predictions and
    their per-class ``thresholds`` by target (at the settings' precision target: a lead's later change is not
    replayed). The matrix is measured where it decides: impact and urgency sure, the priority model not."""
    figures = []
    for target, value in outage_values(settings).items():
        if target in holdout:
            fired = [
                t
                for i, t in zip(holdout[target].ids, holdout[target].truth, strict=True)
                if outage_words(texts[i], settings)
            ]
            figures.append(RuleFigure("outage", target, len(fired), sum(t == value for t in fired)))
    if {"impact", "urgency", "priority"} <= holdout.keys():
        sure = {target: _sure(holdout[target], thresholds[target]) for target in ("impact", "urgency", "priority")}
        # Where it decides: the priority model not sure, the impact and urgency models sure.
        fired = [
            (settings.priority_matrix[sure["impact"][i]][sure["urgency"][i]], truth)
            for i, truth in zip(holdout["priority"].ids, holdout["priority"].truth, strict=True)
            if i in sure["impact"] and i in sure["urgency"] and i not in sure["priority"]
        ]
        figures.append(RuleFigure("matrix", "priority", len(fired), sum(v == t for v, t in fired)))
    return tuple(figures)


def _sure(held: HeldOutPredictions, thresholds: Mapping[str, float]) -> dict[int, str]:
    """The held-out cases a twin was sure of (at its own thresholds), with what it predicted."""
    sure = answered(held.predicted, np.asarray(held.confidence), thresholds)
    return {i: p for i, p, s in zip(held.ids, held.predicted, sure, strict=True) if s}
