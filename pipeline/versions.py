"""Suggestion model versions as leads manage them: two side by side on the same held-out cases, then activate
one (or roll back to an earlier one) or discard a candidate.

Each version is judged by its held-out twin (the same recipe fitted without the held-out fifth, see
``pipeline.training``) on the knowledge base's held-out incidents as they are labelled now: none of them was
seen by either twin, so the figures are comparable, and a lead's relabelling counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kb import ModelVersionRecord
from pipeline.classify import Reports
from pipeline.metrics import classification_figures
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import incident_text
from pipeline.training import TARGETS, SuggestionModels, SuggestionModelUnavailable, is_held_out, load_version
from pipeline.workspace import Workspace

# A class's F1 must move by more than this to count as better or worse (less is noise at held-out sizes).
F1_CHANGE = 0.01
FIGURES = ("accuracy", "macro_f1", "coverage", "precision", "coverage_at_0.9")


@dataclass(frozen=True)
class TargetComparison:
    target: str
    cases: int
    # One row per figure (FIGURES), a column per version: "baseline" and "candidate".
    figures: pd.DataFrame
    # One row per class: support, the F1 of each version, the change and "better" / "worse" / "same".
    classes: pd.DataFrame


@dataclass(frozen=True)
class Comparison:
    baseline: int
    candidate: int
    targets: dict[str, TargetComparison]


def _twins(ws: Workspace, record: ModelVersionRecord) -> SuggestionModels:
    # The active version is already in memory: read from disk only the other one.
    models = ws.suggestion_models() if record.active else load_version(record, ws.embedder.name)
    if not getattr(models, "holdout_models", None):
        raise SuggestionModelUnavailable(
            f"model version {record.id} keeps no held-out twin (it was trained by an earlier release); "
            "train a new version to compare with"
        )
    return models


def _figures(truth: np.ndarray, proba: np.ndarray, classes: np.ndarray, thresholds: dict[str, float]) -> dict:
    predicted, confidence = classes[proba.argmax(axis=1)], proba.max(axis=1)
    figures = classification_figures(truth, predicted, confidence, thresholds=thresholds)
    figures["coverage"] = figures["abstaining"]["coverage"]
    figures["precision"] = figures["abstaining"]["precision"]
    figures["coverage_at_0.9"] = figures["coverage_at_precision"]["0.9"]
    return figures


def compare_versions(
    ws: Workspace, candidate: int, baseline: int | None = None, *, progress: ProgressFactory = no_progress
) -> Comparison:
    """``candidate`` beside ``baseline`` (the active version by default) on today's held-out incidents, each at
    the thresholds in force."""
    if baseline is None:
        active = ws.kb.active_model_version()
        if active is None:
            raise SuggestionModelUnavailable("no version is active to compare with")
        baseline = active.id
    versions = {
        "baseline": _twins(ws, ws.kb.model_version(baseline)),
        "candidate": _twins(ws, ws.kb.model_version(candidate)),
    }
    held = [i for batch in ws.kb.resolved_incidents() for i in batch if is_held_out(i.id)]
    texts = [incident_text(i.title, i.body, ws.settings.max_report_chars) for i in held]
    with progress("Embedding the held-out cases", len(texts)) as step:
        vectors = ws.embedder.encode(texts, batch_size=ws.settings.embed_batch_size, progress=step)
    reports = Reports(texts, vectors)
    thresholds = ws.thresholds()
    targets = {}
    for target in TARGETS:
        if not all(target in v.holdout_models for v in versions.values()):
            continue
        rows = np.array([n for n, i in enumerate(held) if getattr(i, target)], dtype=int)
        if not len(rows):
            continue
        truth = np.array([getattr(held[n], target) for n in rows], dtype=object)
        figures = {}
        for name, models in versions.items():
            twin = models.holdout_models[target]
            proba = twin.predict_proba(reports.take(rows))
            figures[name] = _figures(truth, proba, twin.classes_, thresholds.for_model(target, twin))
        targets[target] = TargetComparison(
            target=target,
            cases=len(rows),
            figures=pd.DataFrame({name: [f[k] for k in FIGURES] for name, f in figures.items()}, index=list(FIGURES)),
            classes=_class_changes(figures["baseline"]["per_class"], figures["candidate"]["per_class"]),
        )
    return Comparison(baseline=baseline, candidate=candidate, targets=targets)


def _class_changes(before: dict, after: dict) -> pd.DataFrame:
    rows = []
    for label in sorted(set(before) | set(after)):
        old = before.get(label, {}).get("f1", 0.0)
        new = after.get(label, {}).get("f1", 0.0)
        support = max(before.get(label, {}).get("support", 0), after.get(label, {}).get("support", 0))
        change = new - old
        verdict = "better" if change > F1_CHANGE else "worse" if change < -F1_CHANGE else "same"
        rows.append(
            {
                "class": label,
                "support": support,
                "baseline_f1": old,
                "candidate_f1": new,
                "change": change,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=["class", "support", "baseline_f1", "candidate_f1", "change", "verdict"])


def activate_version(ws: Workspace, version: int, *, user: str) -> ModelVersionRecord:
    """Make ``version`` the one suggestions come from (checked to load first); also how a lead rolls back."""
    return ws.activate(version, actor=user)


def discard_version(ws: Workspace, version: int, *, user: str) -> ModelVersionRecord:
    """Mark a candidate discarded and delete its file (the active version cannot be discarded)."""
    with ws.kb.write(user) as w:
        record = w.discard_model_version(version)
    Path(record.artifact).unlink(missing_ok=True)
    return record
