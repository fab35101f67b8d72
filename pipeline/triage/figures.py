"""Quality figures of a classifier on held-out data: the same numbers, typed, for ``evaluate``, ``train``, the
comparison of versions and the app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

PRECISION_LEVELS = (0.8, 0.9, 0.95)


def cautious_precision(right: int | np.ndarray, made: int | np.ndarray) -> float | np.ndarray:
    """Precision counted as if one more answer had been right and one more wrong (Laplace's rule of succession):
    2 right of 2 reads 0.75, 9 of 10 0.83, 20 of 20 0.95. What decides that a class or a rule may say "sure", so
    that a handful of lucky answers does not.

    >>> cautious_precision(19, 20)
    0.9090909090909091
    """
    return (right + 1) / (made + 2)


def backs(right: int, made: int, precision_target: float) -> bool:
    """Whether ``right`` of ``made`` held-out answers show the precision target reached (counted cautiously)."""
    return made > 0 and cautious_precision(right, made) >= precision_target


def coverage_at_precision(correct: np.ndarray, confidence: np.ndarray, precision: float) -> float:
    """The largest share of cases, most confident first, whose answers are right at least ``precision`` of the time.

    Ties in confidence are taken together: a threshold cannot split them.

    >>> coverage_at_precision(np.array([1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6]), 0.75)
    1.0
    >>> coverage_at_precision(np.array([1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6]), 0.9)
    0.5
    """
    if len(correct) == 0:
        return 0.0
    _, made, right = precision_curve(correct, confidence)
    ok = np.flatnonzero(right >= precision)
    return float(made[ok[-1]] / len(correct)) if len(ok) else 0.0


def precision_curve(correct: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answering only from a given confidence on, most confident first: at each place a threshold can stop (the
    last of a run of equal confidences), that confidence, how many answers are made and the share of them right.

    >>> precision_curve(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.8]))
    (array([0.9, 0.8]), array([1, 3]), array([1.        , 0.66666667]))
    """
    confidence = np.asarray(confidence, dtype=float)
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    made = np.arange(1, len(order) + 1)
    ranked = confidence[order]
    stops = np.append(ranked[1:] != ranked[:-1], True)
    return ranked[stops], made[stops], hits[stops] / made[stops]


def answered(predicted: Sequence[str], confidence: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """Which predictions the assistant makes on its own: at least its class's threshold (a class without one: never)."""
    return np.asarray(confidence, dtype=float) >= np.array([thresholds.get(p, np.inf) for p in predicted], dtype=float)


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by their size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(gap)


@dataclass(frozen=True)
class ClassFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Abstaining:
    """What suggesting only at the thresholds gives: the share of cases that get an answer, and how often it is
    right (None when none does)."""

    coverage: float
    precision: float | None


@dataclass(frozen=True)
class Figures:
    """How predictions fared against the truth; with confidences, also how far they can be trusted."""

    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassFigures]
    # Precision level -> the largest share of cases answered at that precision (``PRECISION_LEVELS``).
    coverage_at_precision: dict[float, float] = field(default_factory=dict)
    calibration_error: float | None = None
    abstaining: Abstaining | None = None


def classification_figures(
    truth: Sequence[str],
    predicted: Sequence[str],
    confidence: np.ndarray | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> Figures:
    """Accuracy, macro F1, per-class precision / recall, and with confidences the coverage and calibration figures.

    ``thresholds`` (class -> confidence) adds what abstaining below them gives (``Figures.abstaining``).
    """
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0.0)
    per_class = {
        label: ClassFigures(float(p), float(r), float(f), int(n))
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }
    accuracy = float(accuracy_score(truth, predicted))
    macro_f1 = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0.0))
    if confidence is None:
        return Figures(accuracy, macro_f1, per_class)
    correct = (truth == predicted).astype(float)
    abstaining = None
    if thresholds is not None:
        made = answered(predicted, confidence, thresholds)
        abstaining = Abstaining(float(made.mean()), float(correct[made].mean()) if made.any() else None)
    return Figures(
        accuracy,
        macro_f1,
        per_class,
        {level: coverage_at_precision(correct, confidence, level) for level in PRECISION_LEVELS},
        expected_calibration_error(correct, confidence),
        abstaining,
    )
