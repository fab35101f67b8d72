"""``TicketClassifier``: one target (category, priority, ...) learned from past reports, calibrated, able to abstain.

Three views of a report, each a base model, stacked by a logistic regression:

- the words: a linear SVM over TF-IDF of word uni- and bigrams, with Japanese (no spaces) cut into character
  uni- and bigrams, so that error codes, product names and Japanese phrases all count;
- the spelling: a linear model over TF-IDF of character 3- and 4-grams, which catches inflections, typos and
  parts of long Japanese compounds that the word view splits differently;
- the meaning: a ridge classifier over the text embedding;
- the precedent: the similarity-weighted labels of the most similar past reports.

The stacker is trained on out-of-fold outputs of the base models, so its probabilities are honest about
what the base models do on reports they have not seen: a 0.9 is right about nine times in ten. The same
out-of-fold probabilities give each class the confidence it needs to reach a precision target (``thresholds``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import faiss
import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from pipeline.progress import Progress
from pipeline.triage.figures import cautious_precision
from pipeline.triage.reports import Reports
from pipeline.triage.stacker import SharedWeightsStacker

# Latin words keep inner dots, dashes and underscores (0x80070005, SAP-GUI, v2.1); CJK runs are cut into characters.
_TOKEN = re.compile(
    r"[0-9A-Za-z](?:[0-9A-Za-z._\-]*[0-9A-Za-z])?|[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]+"
)
_PARALLEL_TOKENISING_FROM = 10_000
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def lexical_terms(text: str) -> list[str]:
    """Word uni- and bigrams for spaced scripts, character uni- and bigrams for Japanese.

    >>> lexical_terms("VPN error 0x80070005")
    ['vpn', 'error', '0x80070005', 'vpn error', 'error 0x80070005']
    >>> lexical_terms("プリンタ故障")
    ['プ', 'リ', 'ン', 'タ', '故', '障', 'プリ', 'リン', 'ンタ', 'タ故', '故障']
    """
    words: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if _CJK.match(token):
            words.extend(token)
        else:
            words.append(token)
    bigrams = []
    for a, b in pairwise(words):
        # A bigram never spans from Japanese into English: those pairs are accidents of the layout.
        if bool(_CJK.match(a)) == bool(_CJK.match(b)):
            bigrams.append(f"{a}{b}" if _CJK.match(a) else f"{a} {b}")
    return words + bigrams


def _fit_transform(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> tuple[TfidfVectorizer, sp.csr_matrix]:
    matrix = vectorizer.fit_transform(texts)
    return vectorizer, matrix


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Row-normalised float32, so that inner products are cosines whatever the embedder gave."""
    vectors = np.array(vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


def _class_weights(svm: LinearSVC, code: int) -> np.ndarray:
    """The SVM's weight of every term for one class (zeros if its fold never saw the class)."""
    classes = list(svm.classes_)
    if code not in classes:
        return np.zeros(svm.coef_.shape[1])
    if svm.coef_.shape[0] == 1:  # two classes: one weight row, for the second class
        return svm.coef_[0] if classes.index(code) == 1 else -svm.coef_[0]
    return svm.coef_[classes.index(code)]


def _scores(model, X) -> np.ndarray:
    """Decision scores as (n, n_classes), also for two classes, where scikit-learn gives one column."""
    scores = model.decision_function(X)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


class TicketClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated class probabilities for reports, from their words, their embedding and their nearest precedents.

    Parameters
    ----------
    n_neighbors : int
        How many similar past reports vote.
    n_folds : int
        Folds for the out-of-fold outputs the stacker and the thresholds learn from.
    C : float
        Regularisation of the word model's SVM (smaller is smoother).
    ridge_alpha : float
        Regularisation of the embedding model.
    temperature : float
        Sharpness of the neighbours' vote: weight = exp(temperature * cosine similarity).
    stack_C : float
        Regularisation of the stacking logistic regression, which turns the views' scores into probabilities.
    min_class_examples : int
        Classes with fewer training examples never pass a threshold (``thresholds`` gives them infinity).
    random_state : int
        Seed of the fold split.
    n_jobs : int or None
        Folds fitted at once (threads).

    Attributes
    ----------
    classes_ : ndarray of str
    class_counts_ : ndarray of int
        Training examples per class.
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Out-of-fold probabilities on the training data: what ``thresholds`` and the reliability figures use.
    y_codes_ : ndarray of int
        The training labels, as indices into ``classes_``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> texts = ["printer jam"] * 40 + ["vpn drops"] * 40
    >>> X = Reports(texts, rng.normal(size=(80, 8)).astype(np.float32))
    >>> model = TicketClassifier(n_folds=3).fit(X, ["Printing"] * 40 + ["Network"] * 40)
    >>> model.predict(Reports(["the printer has a paper jam"], rng.normal(size=(1, 8)).astype(np.float32)))
    array(['Printing'], dtype=object)
    """

    def __init__(
        self,
        *,
        n_neighbors: int = 20,
        n_folds: int = 5,
        C: float = 0.5,
        ridge_alpha: float = 1.0,
        temperature: float = 10.0,
        stack_C: float = 0.1,
        min_class_examples: int = 30,
        random_state: int = 0,
        n_jobs: int | None = 2,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_folds = n_folds
        self.C = C
        self.ridge_alpha = ridge_alpha
        self.temperature = temperature
        self.stack_C = stack_C
        self.min_class_examples = min_class_examples
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def progress_steps(self) -> int:
        """How many steps ``fit`` reports to its progress callback: one per fold, one for the stackers."""
        return self.n_folds + 1

    # -- fitting -----------------------------------------------------------------------------------------------
    def fit(self, X: Reports, y: Sequence[str], *, progress: Progress | None = None) -> TicketClassifier:
        """Learn from reports and their labels; ``progress`` hears of each of the ``progress_steps`` steps."""
        step = progress or (lambda n: None)
        labels = np.asarray([str(v) for v in y], dtype=object)
        self.classes_, self.y_codes_, self.class_counts_ = np.unique(labels, return_inverse=True, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least two classes; the labels are all {labels[0]!r}")
        self.vectorizer_ = TfidfVectorizer(analyzer=lexical_terms, sublinear_tf=True, min_df=2, dtype=np.float32)
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True, min_df=3, max_features=300_000, dtype=np.float32
        )
        # Tokenising is pure Python: for many texts, two processes read them at once, one per view; for a few,
        # starting the processes would cost more than it saves.
        n_jobs = self.n_jobs if len(X.texts) >= _PARALLEL_TOKENISING_FROM else 1
        (self.vectorizer_, words), (self.char_vectorizer_, chars) = Parallel(n_jobs=n_jobs)(
            delayed(_fit_transform)(v, X.texts) for v in (self.vectorizer_, self.char_vectorizer_)
        )
        views = (words, chars)
        vectors = self.memory_ = _unit(X.vectors)

        # Rare classes must not cut the folds for everyone: a class with fewer members than folds is simply
        # missing from some of them (the base scores and stackers widen to every class).
        n_splits = int(min(self.n_folds, self.class_counts_.max()))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
            folds = list(splitter.split(vectors, labels))
        # liblinear and SGD release the GIL: threads fit the folds side by side without copying the data.
        fitted = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(
            delayed(self._fit_bases)([v[train] for v in views], vectors[train], self.y_codes_[train])
            for train, _ in folds
        )
        base = np.zeros((len(labels), 3 * len(self.classes_)), dtype=np.float32)
        self.bases_ = []
        for bases, (_, test) in zip(fitted, folds, strict=True):
            base[test] = self._base_scores(bases, [v[test] for v in views], vectors[test])
            self.bases_.append(bases)
            step(1)  # here, not in the threads: a Streamlit progress bar only updates from the script's thread
        stacked = np.hstack([base, self._precedent(vectors, exclude_self=True)])

        # The stackers are bagged like the base models: each learns on the other folds' out-of-fold scores and
        # predicts its own fold, which gives honest out-of-fold probabilities for the thresholds at no extra cost.
        self.stackers_ = []
        self.oof_proba_ = np.zeros((len(labels), len(self.classes_)))
        for train, test in folds:
            stackers = self._fit_stackers(stacked[train], self.y_codes_[train])
            self.oof_proba_[test] = self._stacked_proba(stackers, stacked[test])
            self.stackers_.append(stackers)
        step(1)
        return self

    def _fit_stackers(self, stacked: np.ndarray, codes: np.ndarray) -> list:
        """The stackers turning the views' scores into probabilities: a logistic regression over every score, and
        one with a weight per view shared by all classes (sturdy when classes are many)."""
        stackers = [
            make_pipeline(StandardScaler(), LogisticRegression(C=self.stack_C, max_iter=1000)),
            SharedWeightsStacker(n_classes=len(self.classes_), n_views=4),
        ]
        return [model.fit(stacked, codes) for model in stackers]

    def _stacked_proba(self, stackers: list, stacked: np.ndarray) -> np.ndarray:
        """The stackers' mean probabilities, widened to every class."""
        out = np.zeros((len(stacked), len(self.classes_)))
        for model in stackers:
            out[:, model.classes_] += model.predict_proba(stacked)
        return out / len(stackers)

    def _views(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        return self.vectorizer_.transform(texts), self.char_vectorizer_.transform(texts)

    def _fit_bases(self, views: Sequence[sp.csr_matrix], vectors: np.ndarray, codes: np.ndarray) -> tuple:
        """The word SVM, the character-gram linear model and the embedding ridge, fitted on one part of the data."""
        words, chars = views
        svm = LinearSVC(C=self.C, random_state=self.random_state).fit(words, codes)
        # SGD rather than liblinear: the character view is dense enough to make liblinear five times slower.
        spelling = SGDClassifier(alpha=1e-5, max_iter=10, tol=None, random_state=self.random_state).fit(chars, codes)
        ridge = RidgeClassifier(alpha=self.ridge_alpha).fit(vectors, codes)
        return svm, spelling, ridge

    def _base_scores(self, bases: tuple, views: Sequence[sp.csr_matrix], vectors: np.ndarray) -> np.ndarray:
        """The base models' scores side by side, widened to every class (a fold may lack a rare class)."""
        k = len(self.classes_)
        out = np.full((len(vectors), 3 * k), -1.0, dtype=np.float32)
        for i, (model, X) in enumerate(zip(bases, (*views, vectors), strict=True)):
            out[:, i * k + model.classes_] = _scores(model, X)
        return out

    def _derived(self, key: object, make: Callable[[], Any]) -> Any:
        """Computed from the fitted state on first use, kept for the next suggestions, never pickled."""
        cache = self.__dict__.setdefault("_derived_cache", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_derived_cache", None)
        return state

    def _index(self) -> faiss.Index:
        def build() -> faiss.Index:
            index = faiss.IndexFlatIP(self.memory_.shape[1])
            index.add(self.memory_)
            return index

        return self._derived("faiss", build)

    def kneighbors(self, vectors: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and row numbers of the most similar training reports, best first."""
        k = min(self.n_neighbors + int(exclude_self), len(self.memory_))
        sims, rows = self._index().search(_unit(vectors), k)
        return (sims[:, 1:], rows[:, 1:]) if exclude_self else (sims, rows)

    def _precedent(self, vectors: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
        """Log of each class's similarity-weighted share among the nearest training reports; how near they are."""
        sims, rows = self.kneighbors(vectors, exclude_self=exclude_self)
        weights = np.where(rows >= 0, np.exp(self.temperature * (sims - 1)), 0.0)
        votes = np.zeros((len(vectors), len(self.classes_)))
        np.add.at(votes, (np.arange(len(vectors))[:, None], self.y_codes_[np.maximum(rows, 0)]), weights)
        votes /= np.maximum(votes.sum(axis=1, keepdims=True), 1e-12)
        # How close the nearest precedents are says how much their vote is worth.
        closeness = np.column_stack([sims[:, 0], sims[:, :5].mean(axis=1)])
        return np.hstack([np.log(votes + 1e-3), closeness]).astype(np.float32)

    # -- predicting --------------------------------------------------------------------------------------------
    def predict_proba(self, X: Reports) -> np.ndarray:
        views = self._views(X.texts)
        vectors = _unit(X.vectors)
        # The fold models' mean score, not a refit on all data: the stackers learned from fold models' scores,
        # and new reports should reach them on the same scale. The mean of five is also steadier than one.
        scores = np.mean([self._base_scores(bases, views, vectors) for bases in self.bases_], axis=0)
        stacked = np.hstack([scores, self._precedent(vectors)])
        return np.mean([self._stacked_proba(stackers, stacked) for stackers in self.stackers_], axis=0)

    def predict(self, X: Reports) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def thresholds(self, precision: float) -> dict[str, float]:
        """Per class, the lowest confidence at which out-of-fold suggestions of it were right ``precision`` of the time.

        Infinity where no confidence gets there, or where the class had fewer than ``min_class_examples``.
        """
        allowed = self.class_counts_ >= self.min_class_examples
        return self._derived(
            ("thresholds", precision),
            lambda: class_thresholds(self.oof_proba_, self.y_codes_, self.classes_, precision, allowed),
        )

    def top_terms(self, text: str, label: str, n: int = 5) -> list[tuple[str, float]]:
        """The words or phrases of ``text`` that pushed the word model most towards ``label``."""
        code = int(np.searchsorted(self.classes_, label))
        if code >= len(self.classes_) or self.classes_[code] != label:
            return []
        row = self.vectorizer_.transform([text]).tocoo()
        weights = np.mean([_class_weights(svm, code)[row.col] for svm, _, _ in self.bases_], axis=0)
        contributions = row.data * weights
        terms = self._derived("terms", self.vectorizer_.get_feature_names_out)
        best = np.argsort(-contributions)[:n]
        return [(str(terms[row.col[i]]), float(contributions[i])) for i in best if contributions[i] > 0]


def class_thresholds(
    proba: np.ndarray, truth: np.ndarray, classes: np.ndarray, precision: float, allowed: np.ndarray
) -> dict[str, float]:
    """For each class, the confidence above which predictions of it reach ``precision``, or infinity.

    Predictions of the class are ranked by confidence; the threshold keeps the largest top group whose
    precision, counted cautiously (``figures.cautious_precision``), is still at least the target.

    >>> confidence = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.9, 0.8, 0.7, 0.6])
    >>> proba = np.column_stack([confidence, 1 - confidence])
    >>> truth = np.array([0] * 11 + [1, 1])
    >>> class_thresholds(proba, truth, np.array(["a", "b"]), 0.9, np.array([True, False]))
    {'a': 0.8, 'b': inf}
    """
    predicted, confidence = proba.argmax(axis=1), proba.max(axis=1)
    out: dict[str, float] = {}
    for code, label in enumerate(classes):
        mine = np.flatnonzero(predicted == code)
        order = mine[np.argsort(-confidence[mine], kind="stable")]
        hits = cautious_precision(np.cumsum(truth[order] == code), np.arange(1, len(order) + 1))
        good = np.flatnonzero(hits >= precision)
        out[str(label)] = float(confidence[order[good[-1]]]) if allowed[code] and len(good) else float("inf")
    return out
