"""TicketClassifier on data where the right answer is known: calibration, thresholds, abstaining, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.triage.classify import Reports, TicketClassifier, lexical_terms
from pipeline.triage.figures import classification_figures, coverage_at_precision, expected_calibration_error

VOCAB = {
    "Network": ["vpn", "wifi", "router", "dns", "proxy", "switch", "latency", "packet"],
    "Printing": ["printer", "toner", "paper", "jam", "tray", "scan", "duplex", "queue"],
    "Access": ["password", "locked", "account", "login", "mfa", "token", "reset", "permission"],
}
SHARED = ["please", "help", "today", "office", "since", "morning", "again", "issue", "user", "laptop"]


def synthetic(n: int, seed: int, *, rare: int = 0) -> tuple[Reports, np.ndarray]:
    """Reports mixing words of two classes, labelled by a draw in proportion to those words.

    The true probability of each label is known (its share of the class words), so a calibrated model's
    confidence must match how often it is right; about a third of the reports are ambiguous.
    """
    rng = np.random.default_rng(seed)
    classes = list(VOCAB)
    centres = rng.normal(size=(len(classes), 16))
    texts, labels, vectors = [], [], []
    for i in range(n + rare):
        main, other = rng.choice(len(classes), size=2, replace=False)
        n_main, n_other = int(rng.integers(1, 5)), int(rng.choice([0, 0, 1, 2]))
        words = [*rng.choice(VOCAB[classes[main]], size=n_main), *rng.choice(VOCAB[classes[other]], size=n_other)]
        words += list(rng.choice(SHARED, size=4))
        rng.shuffle(words)
        texts.append(" ".join(words))
        share = n_main / (n_main + n_other)
        vectors.append((centres[main] * share + centres[other] * (1 - share)) * 0.8 + rng.normal(size=16))
        label = classes[main] if rng.random() < share else classes[other]
        labels.append("Rare" if i >= n else label)
    return Reports(texts, np.asarray(vectors, dtype=np.float32)), np.asarray(labels, dtype=object)


@pytest.fixture(scope="module")
def fitted() -> tuple[TicketClassifier, Reports, np.ndarray]:
    X, y = synthetic(1500, seed=1, rare=12)
    model = TicketClassifier(n_folds=5).fit(X, y)
    test_X, test_y = synthetic(1500, seed=2)
    return model, test_X, test_y


def test_probabilities_are_calibrated_on_held_out_data(fitted) -> None:
    model, X, y = fitted
    proba = model.predict_proba(X)
    predicted, confidence = model.classes_[proba.argmax(axis=1)], proba.max(axis=1)
    correct = (predicted == y).astype(float)
    assert np.allclose(proba.sum(axis=1), 1)
    assert expected_calibration_error(correct, confidence) < 0.06
    # Where it says 90 % or more, it is right about that often; where it says 50-70 %, about that often.
    sure = confidence >= 0.9
    middling = (confidence >= 0.5) & (confidence < 0.7)
    assert sure.sum() > 100 and correct[sure].mean() >= 0.88
    assert middling.sum() > 30 and 0.4 <= correct[middling].mean() <= 0.8
    assert 0.75 <= correct.mean() <= 0.95


def test_thresholds_reach_the_precision_target_on_unseen_reports(fitted) -> None:
    model, X, y = fitted
    proba = model.predict_proba(X)
    predicted, confidence = model.classes_[proba.argmax(axis=1)], proba.max(axis=1)
    # It answers part and keeps quiet on the ambiguous rest; counted cautiously, the stricter target answers less.
    for target, least in ((0.9, 0.2), (0.95, 0.05)):
        answered = classification_figures(y, predicted, confidence, thresholds=model.thresholds(target)).abstaining
        # Thresholds come from the training data's out-of-fold probabilities; on new data they hold within noise.
        assert answered.precision >= target - 0.04
        assert least <= answered.coverage < 0.9
    looser = model.thresholds(0.8)
    stricter = model.thresholds(0.95)
    assert all(looser[c] <= stricter[c] for c in ("Network", "Printing", "Access"))


def test_a_class_with_fewer_than_30_examples_is_never_suggested_alone(fitted) -> None:
    model, _, _ = fitted
    assert dict(zip(model.classes_, model.class_counts_, strict=True))["Rare"] == 12
    assert model.thresholds(0.5)["Rare"] == float("inf")
    assert all(t < 1 for c, t in model.thresholds(0.5).items() if c != "Rare")


def test_the_words_that_weighed_most_are_the_class_words(fitted) -> None:
    model, _, _ = fitted
    terms = [t for t, _ in model.top_terms("the printer has a paper jam again this morning", "Printing")]
    assert set(terms[:3]) <= {"printer", "paper", "jam", "paper jam", "printer has"}
    assert model.top_terms("vpn drops", "NoSuchClass") == []


def test_a_fitted_model_survives_pickling(fitted, tmp_path) -> None:
    import joblib

    model, X, _ = fitted
    joblib.dump(model, tmp_path / "m.joblib")
    again = joblib.load(tmp_path / "m.joblib")
    assert np.allclose(again.predict_proba(X.take(np.arange(20))), model.predict_proba(X.take(np.arange(20))))


def test_one_class_is_refused_with_a_message() -> None:
    X, _ = synthetic(40, seed=3)
    with pytest.raises(ValueError, match="at least two classes"):
        TicketClassifier().fit(X, ["Network"] * 40)


def test_japanese_is_cut_into_characters_and_codes_stay_whole() -> None:
    terms = lexical_terms("Outlookでエラー0x800CCC0Fが出る")
    assert "outlook" in terms and "0x800ccc0f" in terms
    assert "エラ" in terms and "出る" in terms
    assert "outlook で" not in terms  # no bigram across scripts


def test_coverage_at_precision_takes_ties_together() -> None:
    correct = np.array([1, 0, 1, 1])
    confidence = np.array([0.9, 0.9, 0.5, 0.4])
    # The two 0.9s stand or fall together: precision 0.5 at coverage 0.5, so 0.75 needs all four.
    assert coverage_at_precision(correct, confidence, 0.75) == 1.0
    assert coverage_at_precision(correct, confidence, 0.8) == 0.0


def test_a_class_seen_once_neither_breaks_training_nor_shrinks_the_folds() -> None:
    X, y = synthetic(300, seed=4)
    y[0] = "Once"
    model = TicketClassifier(n_folds=5).fit(X, y)
    assert len(model.bases_) == 5
    assert model.predict_proba(X.take(np.arange(3))).shape == (3, 4)
    assert model.thresholds(0.5)["Once"] == float("inf")


def test_the_shared_weights_stacker_trusts_the_view_that_is_right() -> None:
    from pipeline.triage.classify import SharedWeightsStacker

    rng = np.random.default_rng(5)
    k, n = 40, 2000
    y = rng.integers(k, size=n)
    reliable = np.eye(k)[y] * 2 + rng.normal(scale=0.5, size=(n, k))
    noise = rng.normal(size=(n, k))
    X = np.hstack([reliable, noise, np.zeros((n, 2))])  # two views of k columns, then columns it must ignore
    stacker = SharedWeightsStacker(n_classes=k, n_views=2).fit(X[:1500], y[:1500])
    assert stacker.coef_[0] > 5 * abs(stacker.coef_[1])
    proba = stacker.predict_proba(X[1500:])
    assert proba.shape == (500, k) and (proba.argmax(axis=1) == y[1500:]).mean() > 0.9
