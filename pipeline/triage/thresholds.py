"""How sure the assistant must be before it suggests, as the leads set it: the thresholds in force, their versions,
and the held-out precision-against-coverage curves a lead sets them by.

Per target a precision target (the settings' ``precision_target`` until a lead sets one): each class's threshold
is the lowest confidence at which its out-of-fold suggestions were right that often. A lead may instead set one
class's threshold outright. The desk's rules (outage words, the ITIL matrix) decide under the same precision
target, by their held-out record (``rule_table``). Every change is a new version in the knowledge base (and so in
the event log); the newest is in force for the next suggestion, in every process, without a restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from kb import InvalidValue, KnowledgeBase, ThresholdPolicyRecord
from pipeline.access.accounts import LEADS, Account, write_as
from pipeline.settings import Settings
from pipeline.triage.classify import TicketClassifier
from pipeline.triage.figures import backs, precision_curve
from pipeline.triage.rules import outage_values
from pipeline.triage.training import SuggestionModels


@dataclass(frozen=True)
class Thresholds:
    """One version of the thresholds (``version`` None: the settings' default, never changed by a lead)."""

    default_precision: float
    precision: Mapping[str, float] = field(default_factory=dict)
    class_thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    version: int | None = None

    @classmethod
    def in_force(cls, kb: KnowledgeBase, settings: Settings) -> Thresholds:
        record = kb.threshold_policy()
        if record is None:
            return cls(settings.precision_target)
        return cls(settings.precision_target, record.precision, record.class_thresholds, record.id)

    def precision_for(self, target: str) -> float:
        return self.precision.get(target, self.default_precision)

    def for_model(self, target: str, model: TicketClassifier) -> dict[str, float]:
        """Each class's threshold: set by a lead, else from the target's precision target (infinity: never alone)."""
        out = dict(model.thresholds(self.precision_for(target)))
        out.update({label: v for label, v in self.class_thresholds.get(target, {}).items() if label in out})
        return out

    def is_set(self, target: str, label: str) -> bool:
        """Whether a lead set this class's threshold outright."""
        return label in self.class_thresholds.get(target, {})


def set_thresholds(
    kb: KnowledgeBase,
    *,
    actor: Account,
    precision: Mapping[str, float],
    class_thresholds: Mapping[str, Mapping[str, float]],
    note: str = "",
) -> ThresholdPolicyRecord:
    """Put a new version of the thresholds in force (InvalidValue for a value out of range); leads and admins."""
    with write_as(kb, actor, LEADS, "set_thresholds") as w:
        return w.add_threshold_policy(precision=precision, class_thresholds=class_thresholds, note=note)


def change_thresholds(
    kb: KnowledgeBase,
    settings: Settings,
    *,
    actor: Account,
    precision: Mapping[str, float] | None = None,
    classes: Mapping[tuple[str, str], float | None] | None = None,
    note: str = "",
) -> ThresholdPolicyRecord:
    """A new version: the thresholds in force with these changes. ``precision``: target -> precision target;
    ``classes``: (target, class) -> confidence threshold, or None to go back to the target's precision target."""
    now = Thresholds.in_force(kb, settings)
    chosen = {target: dict(labels) for target, labels in now.class_thresholds.items()}
    for (target, label), value in (classes or {}).items():
        if value is None:
            chosen.get(target, {}).pop(label, None)
        else:
            chosen.setdefault(target, {})[label] = value
    return set_thresholds(
        kb, actor=actor, precision={**now.precision, **(precision or {})}, class_thresholds=chosen, note=note
    )


def restore_thresholds(kb: KnowledgeBase, version: int, *, actor: Account, note: str = "") -> ThresholdPolicyRecord:
    """Put an earlier version's values back in force, as a new version (the history stays whole); ``note`` is the
    lead's why, in their words."""
    old = next((p for p in kb.threshold_policies() if p.id == version), None)
    if old is None:
        raise InvalidValue("threshold_version_not_found", version=version)
    return set_thresholds(
        kb,
        actor=actor,
        precision=old.precision,
        class_thresholds=old.class_thresholds,
        note=note,
    )


def curves(models: SuggestionModels, target: str) -> pd.DataFrame:
    """Precision against coverage on the held-out cases, per suggested class: if only suggestions at least this
    confident were made, which share of the class's suggestions would be made (coverage) and how many would be
    right (precision). One row per distinct confidence, most confident first."""
    held = models.holdout.get(target)
    if held is None:
        return pd.DataFrame(columns=["class", "confidence", "coverage", "precision", "suggestions"])
    frame = held.frame()
    parts = []
    for label, group in frame.groupby("predicted", sort=True):
        confidence, made, right = precision_curve(group["truth"] == label, group["confidence"].to_numpy())
        parts.append(
            pd.DataFrame(
                {
                    "class": label,
                    "confidence": confidence,
                    "coverage": made / len(group),
                    "precision": right,
                    "suggestions": made,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def class_table(models: SuggestionModels, thresholds: Thresholds, target: str) -> pd.DataFrame:
    """Per class of a target: its threshold in force and where it comes from, what it gives on the held-out cases
    (how many suggestions of the class, the share made at that threshold, how often they were right), and whether
    that record lets the class be suggested as sure."""
    model = models.models[target]
    in_force = thresholds.for_model(target, model)
    predictions = models.holdout.get(target)
    rows = []
    for label, count in zip(model.classes_, model.class_counts_, strict=True):
        label = str(label)
        threshold = in_force[label]
        mine = predictions.predicted.count(label) if predictions else 0
        right, made = predictions.record(label, threshold) if predictions else (0, 0)
        if thresholds.is_set(target, label):
            source = "set"
        elif count < model.min_class_examples:
            source = "too_few"
        else:
            source = "precision" if math.isfinite(threshold) else "unreachable"
        rows.append(
            {
                "class": label,
                "training_cases": int(count),
                "threshold": threshold if math.isfinite(threshold) else None,
                "source": source,
                "held_out_suggestions": mine,
                "coverage": made / mine if mine else None,
                "precision": right / made if made else None,
                # Sure only where the held-out record backs the threshold (``suggest``): else never alone.
                "decides": backs(right, made, thresholds.precision_for(target)),
            }
        )
    return pd.DataFrame(rows)


def rule_table(models: SuggestionModels, thresholds: Thresholds, settings: Settings, target: str) -> pd.DataFrame:
    """The desk's rules that can set this target (``rules.py``): what each sets, its record on the held-out cases,
    and whether that record lets it decide (say "sure") under the target's precision target in force."""
    matrix = sorted({value for row in settings.priority_matrix.values() for value in row.values()})
    values = {
        "outage": outage_values(settings).get(target),
        "matrix": ", ".join(matrix) if target == "priority" else None,
    }
    precision = thresholds.precision_for(target)
    return pd.DataFrame(
        [
            {
                "rule": r.rule,
                "sets": values[r.rule],
                "held_out_cases": r.fired,
                "right": r.right,
                "precision": r.precision,
                "decides": r.backs(precision),
            }
            for r in models.rules
            if r.target == target
        ],
        columns=["rule", "sets", "held_out_cases", "right", "precision", "decides"],
    )
