"""The public yardsticks, ``incident-kb evaluate classify`` and ``evaluate retrieval``, on any file.

classify: the suggestion model against a plain TF-IDF + linear SVM. The file is split once (stratified, seeded);
both models learn from the training part only and are scored on the test part, in the same run.

retrieval: the configured similar-case search against plain TF-IDF and each embedding model alone, ranking
every text of a pairs file for each duplicate's first text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sqlalchemy import Engine

from kb import KnowledgeBase
from kb.retrieval import Weights
from pipeline.files import ImportFileError, RowError, read_rows, read_text
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import clean_text, detect_language, strip_html
from pipeline.triage.classify import TicketClassifier
from pipeline.triage.embed import Embedder
from pipeline.triage.figures import Figures, classification_figures
from pipeline.triage.fold import groups
from pipeline.triage.indexing import Encoders
from pipeline.triage.reports import Reports
from words import Phrase, PhrasedError

logger = logging.getLogger(__name__)
_FIGURES = TypeAdapter(Figures)


class EvaluationError(PhrasedError, ValueError):
    """The data cannot be evaluated as asked (too few classes, a split that cannot be made)."""


@dataclass
class LabelledTexts:
    """Texts and their labels read from a file, with what was left out and why."""

    texts: list[str]
    labels: list[str]
    notes: list[Phrase] = field(default_factory=list)


@dataclass(frozen=True)
class ClassifyEvaluation:
    """The suggestion model and the plain baseline, trained on the same training part, on the same test part."""

    figures: Figures  # the model's, with what abstaining at its thresholds for ``precision_target`` gives
    baseline: Figures
    precision_target: float
    n_train: int
    n_test: int
    n_classes: int
    train_seconds: float
    baseline_seconds: float
    embedding_model: str
    test_size: float
    seed: int
    notes: list[Phrase]

    def to_json(self) -> dict:
        """One object with every figure: the model's at the top, the baseline's under ``baseline``."""
        figures = _FIGURES.dump_python(self.figures, mode="json")
        figures["abstaining"]["precision_target"] = self.precision_target
        baseline = _FIGURES.dump_python(self.baseline, mode="json", exclude_none=True)
        return {
            **figures,
            "baseline_accuracy": self.baseline.accuracy,
            "baseline_macro_f1": self.baseline.macro_f1,
            "baseline": {**baseline, "train_seconds": self.baseline_seconds},
            **{f: getattr(self, f) for f in ("n_train", "n_test", "n_classes", "train_seconds", "embedding_model")},
            **{f: getattr(self, f) for f in ("test_size", "seed")},
            "notes": [str(note) for note in self.notes],
        }


def read_labelled(
    path: Path, text_columns: Sequence[str], label_column: str, *, encoding: str | None = None
) -> LabelledTexts:
    """Rows of a CSV or JSON Lines file as (joined text columns, label); rows lacking either are skipped and counted."""
    texts, labels, skipped, bad = [], [], 0, 0
    columns_checked = False
    for number, row in read_rows(path, encoding=encoding):
        if isinstance(row, RowError) or not isinstance(row, dict):
            bad += 1
            logger.debug("%s line %d: %s", path.name, number, row)
            continue
        if not columns_checked:
            missing = [c for c in (*text_columns, label_column) if c not in row]
            if missing:
                raise ImportFileError(
                    "file_no_column", name=path.name, missing=[repr(c) for c in missing], columns=list(row)
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
        notes.append(Phrase("skipped_malformed_rows", n=bad))
    if skipped:
        notes.append(Phrase("skipped_rows_without_label", n=skipped))
    return LabelledTexts(texts, labels, notes)


def drop_rare_classes(data: LabelledTexts, minimum: int = 2) -> LabelledTexts:
    """Without the classes a stratified split cannot put on both sides, saying which ones went."""
    counts = Counter(data.labels)
    rare = sorted(label for label, n in counts.items() if n < minimum)
    if not rare:
        return data
    keep = [i for i, label in enumerate(data.labels) if counts[label] >= minimum]
    shown = [repr(label) for label in rare[:10]] + ([Phrase("and_more", n=len(rare) - 10)] if len(rare) > 10 else [])
    note = Phrase("dropped_rare_classes", n=len(rare), minimum=minimum, rows=len(data.labels) - len(keep), shown=shown)
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
) -> ClassifyEvaluation:
    """Train on a stratified split of ``data`` and report the test figures of the model and of the baseline."""
    data = drop_rare_classes(data)
    if len(set(data.labels)) < 2:
        raise EvaluationError("evaluation_one_class")
    labels = np.asarray(data.labels, dtype=object)
    rows = np.arange(len(labels))
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError as exc:  # e.g. a test part too small to hold one row of every class
        raise EvaluationError("evaluation_no_split", rows=len(rows), error=str(exc)) from None

    with progress(Phrase("progress_embedding", model=embedder.name), len(data.texts)) as step:
        vectors = embedder.encode(data.texts, batch_size=batch_size, progress=step)
    reports = Reports(data.texts, vectors)

    model = TicketClassifier(min_class_examples=min_class_examples, random_state=seed)
    started = time.perf_counter()
    with progress(Phrase("progress_training"), model.progress_steps) as step:
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
    return ClassifyEvaluation(
        figures=figures,
        baseline=classification_figures(labels[test], baseline.predict([data.texts[i] for i in test])),
        precision_target=precision_target,
        n_train=len(train),
        n_test=len(test),
        n_classes=len(model.classes_),
        train_seconds=train_seconds,
        baseline_seconds=baseline_seconds,
        embedding_model=embedder.name,
        test_size=test_size,
        seed=seed,
        notes=data.notes,
    )


@dataclass
class Pairs:
    """A retrieval test: the corpus (every distinct text), and each query's document with its one right answer."""

    docs: list[str]
    queries: list[tuple[int, int]]
    notes: list[Phrase] = field(default_factory=list)


def read_pairs(path: Path) -> Pairs:
    """Tab-separated rows ``duplicate|non-duplicate <TAB> text A <TAB> text B``, no header; HTML is stripped."""
    docs: dict[str, int] = {}
    queries, notes, bad = [], [], []
    reader = csv.reader(io.StringIO(read_text(path, None), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    for number, row in enumerate(reader, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 3 or row[0].strip() not in ("duplicate", "non-duplicate"):
            bad.append(number)
            continue
        a, b = (docs.setdefault(strip_html(text), len(docs)) for text in row[1:])
        if row[0].strip() == "duplicate":
            queries.append((a, b))
    corpus = [text for text, _ in sorted(docs.items(), key=lambda item: item[1])]
    if bad:
        shown = [str(n) for n in bad[:10]] + (["..."] if len(bad) > 10 else [])
        notes.append(Phrase("skipped_bad_pair_lines", n=len(bad), lines=shown))
    same = sum(1 for a, b in queries if a == b)
    if same:
        notes.append(Phrase("skipped_same_pairs", n=same))
    queries = [(a, b) for a, b in queries if a != b]
    if not queries:
        raise EvaluationError("pairs_no_duplicates", name=path.name)
    return Pairs(corpus, queries, notes)


@dataclass(frozen=True)
class Ranks:
    """Where the right answers ranked: their mean reciprocal rank, and the share found in the first 1, 5, 10."""

    mrr: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float


@dataclass(frozen=True)
class Ranking(Ranks):
    """A search's ranks, how fast it answered, and its MRR by the languages of query and answer (``"ja>en"``)."""

    queries_per_second: float = 0.0
    mrr_by_languages: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrievalEvaluation:
    """The configured search, and in the same run plain TF-IDF and each embedding model alone."""

    search: Ranking
    # The same search as the list shows it, near-identical cases folded (``fold.groups``): the answer ranks as the
    # entry it is folded into.
    folded: Ranks
    configuration: str
    baselines: dict[str, Ranking]
    n_queries: int
    n_docs: int
    notes: list[Phrase]

    def to_json(self) -> dict:
        return {
            **dataclasses.asdict(self.search),
            "folded": dataclasses.asdict(self.folded),
            "configuration": self.configuration,
            "baselines": {name: dataclasses.asdict(r) for name, r in self.baselines.items()},
            "n_queries": self.n_queries,
            "n_docs": self.n_docs,
            "notes": [str(note) for note in self.notes],
        }


def ranking_figures(scores: np.ndarray, queries: Sequence[tuple[int, int]]) -> Ranks:
    """MRR and recall at 1, 5 and 10 of the right answers, the query itself left out; a tie counts against.

    >>> ranking_figures(np.array([[9.0, 0.5, 0.5, 0.1]]), [(0, 1)])
    Ranks(mrr=0.5, recall_at_1=0.0, recall_at_5=1.0, recall_at_10=1.0)
    """
    ranks = []
    for row, (query, answer) in zip(scores, queries, strict=True):
        row = np.array(row, dtype=float)
        row[query] = -np.inf
        ranks.append(int((row >= row[answer]).sum()))
    return _ranks(ranks)


def _ranks(ranks: Sequence[float]) -> Ranks:
    """The figures of the ranks the right answers had (infinity: not found)."""
    ranks_arr = np.asarray(ranks, dtype=float)
    return Ranks(float((1 / ranks_arr).mean()), *(float((ranks_arr <= k).mean()) for k in (1, 5, 10)))


def _scores_by_vectors(docs_matrix, queries: Sequence[tuple[int, int]], batch: int = 1024) -> np.ndarray:
    rows = [q for q, _ in queries]
    out = []
    for start in range(0, len(rows), batch):
        block = docs_matrix[rows[start : start + batch]] @ docs_matrix.T
        out.append(block.toarray() if hasattr(block, "toarray") else block)
    return np.vstack(out)


def folded_ranks(
    found: Sequence[Sequence[int]], answers: Sequence[int], languages: Sequence[str], vectors: np.ndarray, same: float
) -> Ranks:
    """MRR and recall at 1, 5 and 10 where each query's ranked ``found`` documents are folded into entries as the
    similar-case list folds them; an answer not found ranks nowhere.

    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> folded_ranks([[0, 1, 2]], [2], ["en"] * 3, vectors, 0.9)  # 0 and 1 fold: the answer is the 2nd entry
    Ranks(mrr=0.5, recall_at_1=0.0, recall_at_5=1.0, recall_at_10=1.0)
    """
    ranks = []
    for docs, answer in zip(found, answers, strict=True):
        entries = groups([languages[d] for d in docs], vectors[list(docs)], same)
        ranks.append(next((r for r, e in enumerate(entries, 1) if answer in (docs[i] for i in e)), np.inf))
    return _ranks(ranks)


def scratch_database(url: str) -> KnowledgeBase:
    """A PostgreSQL database for ``evaluate_retrieval``'s index on pgvector: its stored search vectors are
    replaced, so one that holds incidents (a knowledge base in use) is refused."""
    kb = KnowledgeBase(url)
    if not kb.is_postgresql or kb.stats().incidents:
        kb.close()
        raise EvaluationError("evaluation_database_not_scratch", where=kb.url.render_as_string(hide_password=True))
    return kb


def evaluate_retrieval(
    pairs: Pairs,
    encoders: Encoders,
    weights: Weights,
    others: dict[str, Embedder],
    *,
    same: float,
    engine: Engine | None = None,
    progress: ProgressFactory = no_progress,
) -> RetrievalEvaluation:
    """Ranking figures of the configured search (also as folded at ``same``: settings' ``fold_similarity``), of
    TF-IDF and of each model alone, on one corpus. With ``engine`` (a scratch PostgreSQL database, whose stored
    search vectors are replaced) the search runs on pgvector instead of faiss."""
    languages = [detect_language(text) for text in pairs.docs]
    kinds: dict[str, list[int]] = {}
    for row, (query, answer) in enumerate(pairs.queries):
        kinds.setdefault(f"{languages[query]}>{languages[answer]}", []).append(row)

    def figures(scores: np.ndarray, seconds: float) -> Ranking:
        by_kind = {
            kind: round(ranking_figures(scores[rows], [pairs.queries[r] for r in rows]).mrr, 4)
            for kind, rows in sorted(kinds.items())
        }
        ranks = ranking_figures(scores, pairs.queries)
        return Ranking(
            **dataclasses.asdict(ranks), queries_per_second=len(pairs.queries) / seconds, mrr_by_languages=by_kind
        )

    def by_model(embedder: Embedder) -> Ranking:
        with progress(Phrase("progress_embedding", model=embedder.name), len(pairs.docs)) as step:
            vectors = embedder.encode(pairs.docs, batch_size=encoders.batch_size, progress=step)
        started = time.perf_counter()
        query_texts = [pairs.docs[q] for q, _ in pairs.queries]
        # Queries are embedded again (from the cache) and scored, as a search from a new report would be.
        query_vectors = embedder.encode(query_texts, batch_size=encoders.batch_size)
        scores = query_vectors @ vectors.T
        return figures(scores, time.perf_counter() - started)

    started = time.perf_counter()
    tfidf = TfidfVectorizer(sublinear_tf=True).fit_transform(pairs.docs)
    baselines = {"tfidf": figures(_scores_by_vectors(tfidf, pairs.queries), time.perf_counter() - started)}
    for name, embedder in others.items():
        baselines[name] = by_model(embedder)

    index = encoders.index(range(len(pairs.docs)), pairs.docs, engine=engine, progress=progress)
    # Every case the search returns gets its similarity; the rest rank below all of them, tied (so: not found).
    depth = min(len(pairs.docs), 101)
    scores = np.full((len(pairs.queries), len(pairs.docs)), -np.inf)
    found: list[list[int]] = []
    started = time.perf_counter()
    for row, (query, _) in enumerate(pairs.queries):
        hits = index.search(encoders.query(pairs.docs[query]), depth, weights)
        found.append([hit.id for hit in hits if hit.id != query])
        for hit in hits:
            scores[row, hit.id] = hit.similarity
    seconds = time.perf_counter() - started
    vectors = encoders.meaning.encode(pairs.docs, batch_size=encoders.batch_size)  # from the cache
    return RetrievalEvaluation(
        search=figures(scores, seconds),
        folded=folded_ranks(found, [a for _, a in pairs.queries], languages, vectors, same),
        configuration=" + ".join([*encoders.models.values(), "lexical"]),
        baselines=baselines,
        n_queries=len(pairs.queries),
        n_docs=len(pairs.docs),
        notes=pairs.notes,
    )
