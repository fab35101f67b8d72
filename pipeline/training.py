"""Training the suggestion models from the knowledge base, and their versions: save, register, activate, load.

A version is a file (the fitted models, their held-out twins and figures) plus a row in the knowledge base's registry
(``kb.models.ModelVersion``) that names the file, its SHA-256, the embedding model, the training data snapshot
and the metrics. Only a file whose hash matches its row is ever unpickled.

Which resolved incidents are held out is decided by a hash of their id, the same for every version: a version's
held-out twin (the same recipe fitted without the held-out fifth) has never seen any held-out incident, neither
those of its own time nor those resolved since. So any two versions can be compared on the same held-out cases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import logging
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np

from kb import IncidentRecord, KnowledgeBase, ModelVersionRecord
from pipeline.classify import Reports, TicketClassifier
from pipeline.embed import Embedder
from pipeline.metrics import classification_figures
from pipeline.progress import ProgressFactory, no_progress
from pipeline.settings import Settings
from pipeline.text import incident_text

logger = logging.getLogger(__name__)

# What the assistant suggests; impact and urgency feed the priority matrix.
TARGETS = ("category", "priority", "escalation_level", "impact", "urgency")
HOLDOUT_FOLDS = 5  # one incident in five is held out
SEED = 42


class SuggestionModelUnavailable(RuntimeError):
    """No usable suggestion model: none trained yet, its file is missing or changed, or it does not fit."""


@dataclass
class SuggestionModels:
    """The fitted models of one version, one per target that had enough labelled cases."""

    embedding_model: str
    snapshot: str
    created_at: dt.datetime
    models: dict[str, TicketClassifier]
    # Per target: the held-out incidents' ids, truth, prediction and confidence behind ``metrics`` (for the
    # precision / coverage charts), and the twin model fitted without them (for comparing versions).
    holdout: dict[str, dict[str, list]] = field(default_factory=dict)
    holdout_models: dict[str, TicketClassifier] = field(default_factory=dict)
    metrics: dict[str, dict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    version: int | None = None


def _snapshot_id(kb: KnowledgeBase, incidents: list[IncidentRecord]) -> str:
    """Names the exact training data: the database, its corpus generation and a hash of every id and label."""
    digest = hashlib.sha256()
    for incident in incidents:
        digest.update(repr((incident.id, *(getattr(incident, t) for t in TARGETS))).encode())
    return f"{kb.corpus_version()}:{digest.hexdigest()[:12]}"


def is_held_out(incident_id: int) -> bool:
    """Whether an incident belongs to the held-out fifth: fixed by its id, so the same for every version."""
    digest = hashlib.sha256(f"incident-kb holdout {incident_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % HOLDOUT_FOLDS == 0


def _trainable(labels: list[str | None], minimum_classes: int = 2) -> tuple[np.ndarray, str | None]:
    """Rows with a label of a class seen at least twice, or the reason the target cannot be learned."""
    counts = Counter(label for label in labels if label)
    rows = np.array([i for i, label in enumerate(labels) if label and counts[label] >= 2], dtype=int)
    classes = {labels[i] for i in rows}
    if len(classes) < minimum_classes:
        return rows, f"needs at least two labels with two cases each; has {dict(counts) or 'none'}"
    return rows, None


def train_models(
    kb: KnowledgeBase,
    embedder: Embedder,
    settings: Settings,
    *,
    created_before: dt.datetime | None = None,
    progress: ProgressFactory = no_progress,
) -> SuggestionModels:
    """Fit one model per target on every resolved incident (or those created before ``created_before``: the model
    as it would have been then), after measuring it on a held-out fifth."""
    incidents = [
        incident
        for batch in kb.resolved_incidents()
        for incident in batch
        if created_before is None or incident.created_at < created_before
    ]
    if not incidents:
        raise SuggestionModelUnavailable("the knowledge base has no resolved incidents to learn from")
    texts = [incident_text(i.title, i.body, settings.max_report_chars) for i in incidents]
    with progress(f"Embedding ({embedder.name})", len(texts)) as step:
        vectors = embedder.encode(texts, batch_size=settings.embed_batch_size, progress=step)
    reports = Reports(texts, vectors)
    result = SuggestionModels(
        embedding_model=embedder.name,
        snapshot=_snapshot_id(kb, incidents),
        created_at=dt.datetime.now(dt.UTC),
        models={},
    )
    plan = {}
    for target in TARGETS:
        labels = [getattr(i, target) for i in incidents]
        rows, problem = _trainable(labels)
        if problem:
            result.skipped[target] = problem
        else:
            plan[target] = (rows, np.asarray([labels[r] for r in rows], dtype=object))
    held = np.array([is_held_out(i.id) for i in incidents])
    ids = np.array([i.id for i in incidents])
    steps_per_fit = TicketClassifier().progress_steps
    with progress("Training", 2 * steps_per_fit * len(plan)) as step:
        for target, (rows, labels) in plan.items():
            started = time.perf_counter()
            test = held[rows]
            if len(set(labels[~test])) < 2 or not test.any():
                step(steps_per_fit)
                result.metrics[target] = {"held_out": "too few cases to hold any out"}
            else:
                twin = _fit(reports.take(rows[~test]), labels[~test], settings, step)
                proba = twin.predict_proba(reports.take(rows[test]))
                result.holdout[target] = {
                    "ids": [int(v) for v in ids[rows[test]]],
                    "truth": [str(v) for v in labels[test]],
                    "predicted": [str(v) for v in twin.classes_[proba.argmax(axis=1)]],
                    "confidence": [float(c) for c in proba.max(axis=1)],
                }
                result.holdout_models[target] = twin
                result.metrics[target] = holdout_figures(
                    result.holdout[target], twin.thresholds(settings.precision_target)
                )
            result.models[target] = _fit(reports.take(rows), labels, settings, step)
            result.metrics[target]["train_seconds"] = time.perf_counter() - started
            result.metrics[target]["n_train"] = len(rows)
    return result


def _fit(reports: Reports, labels: np.ndarray, settings: Settings, step) -> TicketClassifier:
    model = TicketClassifier(min_class_examples=settings.min_class_examples, random_state=SEED)
    return model.fit(reports, labels, progress=step)


def holdout_figures(holdout: dict[str, list], thresholds: dict[str, float]) -> dict:
    """The quality figures of held-out predictions (``holdout``: truth, predicted, confidence) at ``thresholds``."""
    return classification_figures(
        holdout["truth"], holdout["predicted"], np.asarray(holdout["confidence"]), thresholds=thresholds
    )


def library_versions() -> dict[str, str]:
    """The versions a pickled model depends on: scikit-learn refuses (or misreads) estimators of another release."""
    return {name: importlib.metadata.version(name) for name in ("incident-kb", "scikit-learn")}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_version(
    kb: KnowledgeBase, models: SuggestionModels, settings: Settings, *, actor: str, activate: bool = True
) -> ModelVersionRecord:
    """Write the artifact atomically, register it, and (by default) make it the active version."""
    folder = settings.resolved_model_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f"suggestions-{models.created_at:%Y%m%dT%H%M%S%f}.joblib"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    os.close(fd)
    try:
        joblib.dump(models, tmp, compress=3)
        os.replace(tmp, folder / name)
    finally:
        Path(tmp).unlink(missing_ok=True)
    path = (folder / name).resolve()  # absolute: the app and the CLI may run from other folders
    with kb.write(actor) as w:
        record = w.add_model_version(
            artifact=str(path),
            sha256=_file_sha256(path),
            embedding_model=models.embedding_model,
            snapshot=models.snapshot,
            n_train=max((m["n_train"] for m in models.metrics.values()), default=0),
            settings={
                "precision_target": settings.precision_target,
                "min_class_examples": settings.min_class_examples,
                "max_report_chars": settings.max_report_chars,
                "priority_matrix": settings.priority_matrix,
                "library_versions": library_versions(),
            },
            metrics=models.metrics | {"skipped": models.skipped},
        )
        if activate:
            record = w.activate_model_version(record.id)
    return record


def load_version(record: ModelVersionRecord, embedding_model: str) -> SuggestionModels:
    """The fitted models of a registered version, refused if their file changed or they use another embedding."""
    if record.embedding_model != embedding_model:
        raise SuggestionModelUnavailable(
            f"suggestion model version {record.id} was trained on {record.embedding_model} embeddings, but the "
            f"embedding model now is {embedding_model}; run `incident-kb train` to train one that fits"
        )
    path = Path(record.artifact)
    if not path.is_file():
        raise SuggestionModelUnavailable(
            f"the file of suggestion model version {record.id} is missing ({path}); run `incident-kb train`"
        )
    if _file_sha256(path) != record.sha256:
        raise SuggestionModelUnavailable(
            f"the file of suggestion model version {record.id} ({path}) changed since it was saved; "
            "refusing to load it. Run `incident-kb train`, or activate another version"
        )
    saved_with, now = record.settings.get("library_versions", {}), library_versions()
    if saved_with != now:
        changed = ", ".join(
            f"{name} {saved_with.get(name, '?')} -> {now[name]}" for name in now if saved_with.get(name) != now[name]
        )
        raise SuggestionModelUnavailable(
            f"suggestion model version {record.id} was saved by other library versions ({changed}); "
            "run `incident-kb train` to train it again with these"
        )
    models = joblib.load(path)
    models.version = record.id
    return models


def load_active(kb: KnowledgeBase, embedding_model: str) -> SuggestionModels:
    record = kb.active_model_version()
    if record is None:
        raise SuggestionModelUnavailable("no suggestion model has been trained yet; run `incident-kb train`")
    return load_version(record, embedding_model)
