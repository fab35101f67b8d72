"""Suggestion model versions as the registry keeps them and leads manage them: a trained version saved as a file and
registered, loaded back only while unchanged, made active, discarded, and two compared on the same held-out cases.

A version is a file (the fitted models, their held-out twins and predictions) plus a row in the knowledge base's
registry (``kb.models.ModelVersion``) that names the file, its SHA-256, the embedding model, the training data
snapshot, the settings it was trained with and its typed metrics. Only a file whose hash matches its row is ever
unpickled.

Versions are compared by their held-out twins on the knowledge base's held-out incidents as they are labelled now:
neither twin saw any of them, so the figures are comparable, and a lead's relabelling counts.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import os
import pickle
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from kb import IncidentRecord, KnowledgeBase, ModelVersionRecord, NewModelVersion
from kb.index import temporary_name
from pipeline.access.accounts import LEADS, Account, require, write_as
from pipeline.settings import Settings
from pipeline.triage.figures import Figures, classification_figures
from pipeline.triage.reports import Reports
from pipeline.triage.targets import TARGETS
from pipeline.triage.thresholds import Thresholds
from pipeline.triage.training import METRICS, SuggestionModels, SuggestionModelUnavailable, TargetMetrics

# A class's F1 must move by more than this to count as better or worse (less is noise at held-out sizes).
F1_CHANGE = 0.01
# The figures a comparison shows, one row each, read off the held-out figures at the thresholds in force.
FIGURES: dict[str, Callable[[Figures], float | None]] = {
    "accuracy": lambda f: f.accuracy,
    "macro_f1": lambda f: f.macro_f1,
    "coverage": lambda f: f.abstaining.coverage,
    "precision": lambda f: f.abstaining.precision,
    "coverage_at_0.9": lambda f: f.coverage_at_precision[0.9],
}


@dataclass(frozen=True)
class TrainingSettings:
    """What a version was trained with, kept in the registry: a loaded file must fit the libraries of now."""

    precision_target: float
    min_class_examples: int
    max_report_chars: int
    priority_matrix: dict[str, dict[str, str]]
    library_versions: dict[str, str]


_TRAINING_SETTINGS = TypeAdapter(TrainingSettings)


def library_versions() -> dict[str, str]:
    """The versions a pickled model depends on: scikit-learn refuses (or misreads) estimators of another release."""
    return {name: importlib.metadata.version(name) for name in ("incident-kb", "scikit-learn")}


def trained_with(record: ModelVersionRecord) -> TrainingSettings:
    """The settings and library versions a registered version was trained with."""
    return _TRAINING_SETTINGS.validate_python(record.settings)


def version_metrics(record: ModelVersionRecord) -> dict[str, TargetMetrics]:
    """A registered version's metrics, per target, as the typed outcomes training gave; SuggestionModelUnavailable
    naming the version if what the registry holds is not that (a row edited by hand, say)."""
    try:
        return METRICS.validate_python(record.metrics)
    except ValidationError as exc:
        raise SuggestionModelUnavailable("version_metrics_unreadable", version=record.id, error=str(exc)) from None


def save_version(
    kb: KnowledgeBase, models: SuggestionModels, settings: Settings, *, actor: Account, activate: bool = True
) -> ModelVersionRecord:
    """Write the artifact atomically, register it, and (by default) make it the active version; leads and admins."""
    require(actor, LEADS, "train")
    folder = settings.resolved_model_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"suggestions-{models.created_at:%Y%m%dT%H%M%S%f}.pickle"
    tmp = temporary_name(folder / name)
    try:
        # Plain pickle, uncompressed: joblib's compression made the file 40% smaller but loading it 20 times
        # slower (5 s against 0.2 s for the demo), and every process that suggests loads it.
        data = pickle.dumps(models, protocol=5)
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)
    path = (folder / name).resolve()  # absolute: the app and the CLI may run from other folders
    trained_with = TrainingSettings(
        precision_target=settings.precision_target,
        min_class_examples=settings.min_class_examples,
        max_report_chars=settings.max_report_chars,
        priority_matrix=settings.priority_matrix,
        library_versions=library_versions(),
    )
    with write_as(kb, actor, LEADS, "train") as w:
        record = w.add_model_version(
            NewModelVersion(
                artifact=str(path),
                signature=sign(data, signing_key(settings)),
                embedding_model=models.embedding_model,
                snapshot=models.snapshot,
                n_train=models.n_train,
                settings=_TRAINING_SETTINGS.dump_python(trained_with, mode="json"),
                metrics=METRICS.dump_python(models.metrics, mode="json"),
            )
        )
        if activate:
            record = w.activate_model_version(record.id)
    return record


def signing_key(settings: Settings) -> bytes:
    """The desk's key for signing model files, from ``settings.signing_key_file`` (outside the data folder),
    created there (readable by its owner only) on first use."""
    path = settings.signing_key_file.expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def sign(data: bytes, key: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def load_version(record: ModelVersionRecord, embedding_model: str, key: bytes) -> SuggestionModels:
    """The fitted models of a registered version, refused if their file is not the one signed with ``key`` when
    it was saved (replaced, edited, or registered before files were signed) or they use another embedding."""
    if record.embedding_model != embedding_model:
        raise SuggestionModelUnavailable(
            "version_other_embedding", version=record.id, trained_on=record.embedding_model, now=embedding_model
        )
    path = Path(record.artifact)
    if not path.is_file():
        raise SuggestionModelUnavailable("version_file_missing", version=record.id, path=str(path))
    data = path.read_bytes()  # read once: what is checked is what is unpickled
    if not hmac.compare_digest(sign(data, key), record.signature):
        raise SuggestionModelUnavailable("version_file_changed", version=record.id, path=str(path))
    saved_with, now = trained_with(record).library_versions, library_versions()
    if saved_with != now:
        changed = [f"{lib} {saved_with.get(lib, '?')} -> {now[lib]}" for lib in now if saved_with.get(lib) != now[lib]]
        raise SuggestionModelUnavailable("version_other_libraries", version=record.id, changed=changed)
    try:
        models = pickle.loads(data)  # safe: signed with the desk's key when this desk saved it
    except (pickle.UnpicklingError, EOFError, ImportError, AttributeError) as exc:  # an earlier format, say
        raise SuggestionModelUnavailable(
            "version_file_unreadable", version=record.id, path=str(path), error=f"{type(exc).__name__}: {exc}"
        ) from None
    models.version = record.id
    return models


def load_active(kb: KnowledgeBase, embedding_model: str, key: bytes) -> SuggestionModels:
    record = kb.active_model_version()
    if record is None:
        raise SuggestionModelUnavailable("no_model_trained")
    return load_version(record, embedding_model, key)


def discard_version(kb: KnowledgeBase, version: int, *, actor: Account) -> ModelVersionRecord:
    """Mark a candidate discarded and delete its file (the active version cannot be discarded); leads and admins."""
    with write_as(kb, actor, LEADS, "manage_models") as w:
        record = w.discard_model_version(version)
    Path(record.artifact).unlink(missing_ok=True)
    return record


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


def compare(
    versions: Mapping[str, SuggestionModels],
    held: list[IncidentRecord],
    reports: Reports,
    thresholds: Thresholds,
) -> dict[str, TargetComparison]:
    """The ``baseline`` and ``candidate`` versions' held-out twins on the held-out incidents ``held`` (embedded as
    ``reports``), each at the thresholds in force; per target that both measured."""
    for models in versions.values():
        if not models.holdout_models:
            raise SuggestionModelUnavailable("version_without_twin", version=models.version)
    targets = {}
    for target in TARGETS:
        if not all(target in v.holdout_models for v in versions.values()):
            continue
        rows = np.array([n for n, i in enumerate(held) if getattr(i, target)], dtype=int)
        if not len(rows):
            continue
        truth = np.array([getattr(held[n], target) for n in rows], dtype=object)
        figures: dict[str, Figures] = {}
        for name, models in versions.items():
            twin = models.holdout_models[target]
            proba = twin.predict_proba(reports.take(rows))
            predicted, confidence = twin.classes_[proba.argmax(axis=1)], proba.max(axis=1)
            figures[name] = classification_figures(
                truth, predicted, confidence, thresholds=thresholds.for_model(target, twin)
            )
        targets[target] = TargetComparison(
            target=target,
            cases=len(rows),
            figures=pd.DataFrame(
                {name: [read(f) for read in FIGURES.values()] for name, f in figures.items()}, index=list(FIGURES)
            ),
            classes=_class_changes(figures["baseline"], figures["candidate"]),
        )
    return targets


def _class_changes(before: Figures, after: Figures) -> pd.DataFrame:
    rows = []
    for label in sorted(set(before.per_class) | set(after.per_class)):
        old, new = before.per_class.get(label), after.per_class.get(label)
        change = (new.f1 if new else 0.0) - (old.f1 if old else 0.0)
        rows.append(
            {
                "class": label,
                "support": max(old.support if old else 0, new.support if new else 0),
                "baseline_f1": old.f1 if old else 0.0,
                "candidate_f1": new.f1 if new else 0.0,
                "change": change,
                "verdict": "better" if change > F1_CHANGE else "worse" if change < -F1_CHANGE else "same",
            }
        )
    return pd.DataFrame(rows, columns=["class", "support", "baseline_f1", "candidate_f1", "change", "verdict"])
