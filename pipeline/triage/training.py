"""Training the suggestion models of one version from the knowledge base, each measured on a held-out fifth.

Which resolved incidents are held out is decided by a hash of their id, the same for every version: a version's
held-out twin (the same recipe fitted without the held-out fifth) has never seen any held-out incident, neither
those of its own time nor those resolved since. So any two versions can be compared on the same held-out cases.

Every target ends in one of three typed outcomes (``TargetMetrics``), which every reader handles: trained and
measured (``HeldOut``), trained on too few cases to hold any out (``NotHeldOut``), or not trained (``NotTrained``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, TypeAdapter

from kb import IncidentRecord, KnowledgeBase
from pipeline.progress import ProgressFactory, no_progress
from pipeline.settings import Settings
from pipeline.triage.classify import TicketClassifier
from pipeline.triage.embed import Embedder
from pipeline.triage.figures import Figures, answered, classification_figures
from pipeline.triage.reports import Reports, embed_incidents
from pipeline.triage.rules import RuleFigure, measure_rules
from pipeline.triage.targets import TARGETS
from words import Phrase, PhrasedError

HOLDOUT_FOLDS = 5  # one incident in five is held out
SEED = 42


class SuggestionModelUnavailable(PhrasedError, RuntimeError):
    """No usable suggestion model: none trained yet, its file is missing or changed, or it does not fit."""


@dataclass(frozen=True)
class HeldOutPredictions:
    """One target's held-out incidents: their true value, and what the twin model predicted and how sure it was."""

    ids: list[int]
    truth: list[str]
    predicted: list[str]
    confidence: list[float]

    def figures(self, thresholds: Mapping[str, float]) -> Figures:
        return classification_figures(self.truth, self.predicted, np.asarray(self.confidence), thresholds=thresholds)

    def record(self, label: str, threshold: float) -> tuple[int, int]:
        """Had ``threshold`` been in force for ``label``: how many held-out suggestions of it were right, of how
        many made."""
        predicted, truth = np.asarray(self.predicted, dtype=object), np.asarray(self.truth, dtype=object)
        made = (predicted == label) & answered(predicted, np.asarray(self.confidence), {label: threshold})
        return int((truth[made] == label).sum()), int(made.sum())

    def frame(self) -> pd.DataFrame:
        """One row per held-out incident: id, truth, predicted, confidence."""
        return pd.DataFrame(
            {"id": self.ids, "truth": self.truth, "predicted": self.predicted, "confidence": self.confidence},
        ).astype({"confidence": float})


@dataclass(frozen=True)
class _Trained:
    n_train: int  # the cases its model learned from
    train_seconds: float


@dataclass(frozen=True)
class HeldOut(_Trained):
    """A target trained and measured: its figures on the held-out cases at the settings' precision target."""

    figures: Figures
    n_held_out: int
    kind: Literal["held_out"] = "held_out"


@dataclass(frozen=True)
class NotHeldOut(_Trained):
    """A target trained on every case it has, too few to hold any out: it suggests, but nothing measures it."""

    reason: Phrase
    kind: Literal["not_held_out"] = "not_held_out"


@dataclass(frozen=True)
class NotTrained:
    """A target without a model, and why."""

    reason: Phrase
    kind: Literal["not_trained"] = "not_trained"


TargetMetrics = Annotated[HeldOut | NotHeldOut | NotTrained, Field(discriminator="kind")]
# How a version's metrics are kept in the registry (``ModelVersionRecord.metrics``) and read back, checked.
METRICS = TypeAdapter(dict[str, TargetMetrics])


@dataclass
class SuggestionModels:
    """The fitted models of one version, one per target that had enough labelled cases."""

    embedding_model: str
    snapshot: str
    created_at: dt.datetime
    models: dict[str, TicketClassifier]
    metrics: dict[str, TargetMetrics] = field(default_factory=dict)  # every target of ``TARGETS``
    # Per measured target: the held-out incidents with the twin's predictions (for the precision / coverage
    # charts), and the twin itself, fitted without them (for comparing versions).
    holdout: dict[str, HeldOutPredictions] = field(default_factory=dict)
    holdout_models: dict[str, TicketClassifier] = field(default_factory=dict)
    # The desk's rules (``rules.py``) measured on the same held-out cases: whether each may say "sure".
    rules: tuple[RuleFigure, ...] = ()
    version: int | None = None

    @property
    def n_train(self) -> int:
        """The most cases any target learned from."""
        return max((m.n_train for m in self.metrics.values() if isinstance(m, _Trained)), default=0)


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


def _trainable(labels: list[str | None]) -> tuple[np.ndarray, Phrase | None]:
    """Rows with a label of a class seen at least twice, or why the target cannot be learned."""
    counts = Counter(label for label in labels if label)
    rows = np.array([i for i, label in enumerate(labels) if label and counts[label] >= 2], dtype=int)
    if len({labels[i] for i in rows}) < 2:
        return rows, Phrase("too_few_labels", counts=dict(counts))
    return rows, None


def resolved_incidents(kb: KnowledgeBase, created_before: dt.datetime | None = None) -> list[IncidentRecord]:
    """Every resolved incident (or those created before ``created_before``): what a version learns from."""
    return [
        incident
        for batch in kb.resolved_incidents()
        for incident in batch
        if created_before is None or incident.created_at < created_before
    ]


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
    incidents = resolved_incidents(kb, created_before)
    if not incidents:
        raise SuggestionModelUnavailable("nothing_to_learn_from")
    reports = embed_incidents(
        embedder,
        incidents,
        max_chars=settings.max_report_chars,
        batch_size=settings.embed_batch_size,
        progress=progress,
    )
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
            result.metrics[target] = NotTrained(problem)
        else:
            plan[target] = (rows, np.asarray([labels[r] for r in rows], dtype=object))
    held = np.array([is_held_out(i.id) for i in incidents])
    ids = np.array([i.id for i in incidents])
    steps_per_fit = TicketClassifier().progress_steps
    with progress(Phrase("progress_training"), 2 * steps_per_fit * len(plan)) as step:
        for target, (rows, labels) in plan.items():
            started = time.perf_counter()
            test = held[rows]
            measurable = len(set(labels[~test])) >= 2 and test.any()
            if measurable:
                twin = _fit(reports.take(rows[~test]), labels[~test], settings, step)
                proba = twin.predict_proba(reports.take(rows[test]))
                result.holdout[target] = HeldOutPredictions(
                    ids=[int(v) for v in ids[rows[test]]],
                    truth=[str(v) for v in labels[test]],
                    predicted=[str(v) for v in twin.classes_[proba.argmax(axis=1)]],
                    confidence=[float(c) for c in proba.max(axis=1)],
                )
                result.holdout_models[target] = twin
            else:
                step(steps_per_fit)
            result.models[target] = _fit(reports.take(rows), labels, settings, step)
            seconds = time.perf_counter() - started
            if measurable:
                figures = result.holdout[target].figures(twin.thresholds(settings.precision_target))
                result.metrics[target] = HeldOut(len(rows), seconds, figures, int(test.sum()))
            else:
                result.metrics[target] = NotHeldOut(len(rows), seconds, Phrase("too_few_to_hold_out"))
    result.metrics = {target: result.metrics[target] for target in TARGETS}  # in the targets' order
    result.rules = measure_rules(
        {i.id: text for i, text in zip(incidents, reports.texts, strict=True)},
        result.holdout,
        {target: twin.thresholds(settings.precision_target) for target, twin in result.holdout_models.items()},
        settings,
    )
    return result


def _fit(reports: Reports, labels: np.ndarray, settings: Settings, step) -> TicketClassifier:
    model = TicketClassifier(min_class_examples=settings.min_class_examples, random_state=SEED)
    return model.fit(reports, labels, progress=step)
