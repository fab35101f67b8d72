"""``incident-kb evaluate classify``: the suggestion model against a plain TF-IDF + linear SVM, on any labelled file.

The file is split once (stratified, seeded); both models learn from the training part only and are scored on
the test part, in the same run, so the comparison is fair and repeatable.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from pipeline.classify import Reports, TicketClassifier
from pipeline.embed import Embedder
from pipeline.importer import ImportFileError, read_rows
from pipeline.metrics import classification_figures
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import clean_text

logger = logging.getLogger(__name__)


class EvaluationError(ValueError):
    """The data cannot be evaluated as asked (too few classes, a split that cannot be made)."""


@dataclass
class LabelledTexts:
    """Texts and their labels read from a file, with what was left out and why."""

    texts: list[str]
    labels: list[str]
    notes: list[str] = field(default_factory=list)


def read_labelled(
    path: Path, text_columns: Sequence[str], label_column: str, *, encoding: str | None = None
) -> LabelledTexts:
    """Rows of a CSV or JSON Lines file as (joined text columns, label); rows lacking either are skipped and counted."""
    texts, labels, skipped, bad = [], [], 0, 0
    columns_checked = False
    for number, row in read_rows(path, encoding=encoding):
        if isinstance(row, Exception) or not isinstance(row, dict):
            bad += 1
            logger.debug("%s line %d: %s", path.name, number, row)
            continue
        if not columns_checked:
            missing = [c for c in (*text_columns, label_column) if c not in row]
            if missing:
                raise ImportFileError(
                    f"{path.name} has no column {', '.join(map(repr, missing))}; it has: {', '.join(row)}"
                )
            columns_checked = True
        text = clean_text("\n".join(str(row[c]) for c in text_columns if row.get(c) not in (None, "")))
        label = "" if row.get(label_column) is None else str(row[label_column]).strip()
        if not text or not label:
            skipped += 1
            continue
        texts.append(text)
        labels.append(label)
    notes = []
    if bad:
        notes.append(f"skipped {bad} malformed row(s)")
    if skipped:
        notes.append(f"skipped {skipped} row(s) without text or label")
    return LabelledTexts(texts, labels, notes)


def drop_rare_classes(data: LabelledTexts, minimum: int = 2) -> LabelledTexts:
    """Without the classes a stratified split cannot put on both sides, saying which ones went."""
    counts = Counter(data.labels)
    rare = sorted(label for label, n in counts.items() if n < minimum)
    if not rare:
        return data
    keep = [i for i, label in enumerate(data.labels) if counts[label] >= minimum]
    shown = ", ".join(map(repr, rare[:10])) + (f" and {len(rare) - 10} more" if len(rare) > 10 else "")
    note = (
        f"dropped {len(rare)} class(es) with fewer than {minimum} rows ({len(data.labels) - len(keep)} rows): {shown}"
    )
    return LabelledTexts([data.texts[i] for i in keep], [data.labels[i] for i in keep], [*data.notes, note])


def baseline_svm():
    """The plain baseline everyone can reproduce: TF-IDF of word 1-2 grams and a linear SVM."""
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC())


def evaluate_classify(
    data: LabelledTexts,
    embedder: Embedder,
    *,
    test_size: float = 0.2,
    seed: int = 42,
    precision_target: float = 0.9,
    min_class_examples: int = 30,
    batch_size: int = 64,
    progress: ProgressFactory = no_progress,
) -> dict:
    """Train on a stratified split of ``data`` and report the test figures of the model and of the baseline."""
    data = drop_rare_classes(data)
    if len(set(data.labels)) < 2:
        raise EvaluationError("evaluation needs at least two classes with two rows or more")
    labels = np.asarray(data.labels, dtype=object)
    rows = np.arange(len(labels))
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError as exc:  # e.g. a test part too small to hold one row of every class
        raise EvaluationError(f"cannot split {len(rows)} rows into train and test: {exc}") from None

    with progress(f"embedding with {embedder.name}", len(data.texts)) as step:
        vectors = embedder.encode(data.texts, batch_size=batch_size, progress=step)
    reports = Reports(data.texts, vectors)

    model = TicketClassifier(min_class_examples=min_class_examples, random_state=seed)
    started = time.perf_counter()
    with progress("training", model.n_folds + 1) as step:
        model.fit(reports.take(train), labels[train], progress=step)
    train_seconds = time.perf_counter() - started
    proba = model.predict_proba(reports.take(test))
    predicted = model.classes_[proba.argmax(axis=1)]
    figures = classification_figures(
        labels[test], predicted, proba.max(axis=1), thresholds=model.thresholds(precision_target)
    )

    started = time.perf_counter()
    baseline = baseline_svm().fit([data.texts[i] for i in train], labels[train])
    baseline_seconds = time.perf_counter() - started
    base = classification_figures(labels[test], baseline.predict([data.texts[i] for i in test]))
    figures["abstaining"]["precision_target"] = precision_target
    return {
        **figures,
        "baseline_accuracy": base["accuracy"],
        "baseline_macro_f1": base["macro_f1"],
        "baseline": {**base, "train_seconds": baseline_seconds},
        "n_train": len(train),
        "n_test": len(test),
        "n_classes": len(model.classes_),
        "train_seconds": train_seconds,
        "embedding_model": embedder.name,
        "test_size": test_size,
        "seed": seed,
        "notes": data.notes,
    }
