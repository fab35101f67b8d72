"""Quality figures of a classifier on held-out data: the same numbers for ``evaluate``, ``train`` and the app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

PRECISION_LEVELS = (0.8, 0.9, 0.95)


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


def classification_figures(
    truth: Sequence[str],
    predicted: Sequence[str],
    confidence: np.ndarray | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> dict:
    """Accuracy, macro F1, per-class precision / recall, and with confidences the coverage and calibration figures.

    ``thresholds`` (class -> confidence) adds what abstaining below them gives: the share of cases that get an
    answer and how often that answer is right.
    """
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0.0)
    figures: dict = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0.0)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
            for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
        },
    }
    if confidence is not None:
        correct = (truth == predicted).astype(float)
        figures["coverage_at_precision"] = {
            str(level): coverage_at_precision(correct, confidence, level) for level in PRECISION_LEVELS
        }
        figures["calibration_error"] = expected_calibration_error(correct, confidence)
        if thresholds is not None:
            made = answered(predicted, confidence, thresholds)
            figures["abstaining"] = {
                "coverage": float(made.mean()),
                "precision": float(correct[made].mean()) if made.any() else None,
            }
    return figures
