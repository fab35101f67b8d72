"""The public yardsticks end to end: `evaluate classify` on real CC0 tickets, `evaluate retrieval` on pairs files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from pipeline.settings import Settings
from pipeline.text import detect_language
from pipeline.triage.embed_cache import EmbeddingCache
from tests.test_cli import run

DATA = Path(__file__).resolve().parent.parent / "data" / "it_service_tickets_v3.csv.gz"
DEV_PAIRS = DATA.with_name("retrieval_dev.tsv")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 real tickets (150 per class) as JSON Lines, split in two text fields, plus one ticket of a lone class."""
    tickets = pd.read_csv(DATA).groupby("Topic_group").sample(150, random_state=0)
    words = tickets["Document"].str.split()
    rows = pd.DataFrame(
        {
            "subject": words.str[:4].str.join(" "),
            "text": words.str[4:].str.join(" "),
            "group": tickets["Topic_group"],
        }
    )
    rows.loc[len(rows) + 10_000] = {"subject": "one of a kind", "text": "a ticket alone in its class", "group": "Lone"}
    path = tmp_path_factory.mktemp("eval") / "tickets.jsonl"
    rows.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


def test_evaluate_classify_reports_the_model_and_the_baseline(sample: Path, tmp_path: Path) -> None:
    args = ["evaluate", "classify", "--data", str(sample), "--text", "subject", "--text", "text", "--label", "group"]
    code, output = run(*args, "--json", db=tmp_path / "kb.db")
    assert code == 0, output
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert figures["n_train"] + figures["n_test"] == 1200 and figures["n_test"] == 240
    assert set(figures["coverage_at_precision"]) == {"0.8", "0.9", "0.95"}
    assert figures["accuracy"] > 0.6 and figures["baseline_accuracy"] > 0.5
    assert 0 < figures["macro_f1"] <= 1 and figures["train_seconds"] > 0
    assert set(figures["per_class"]) == set(pd.read_csv(DATA)["Topic_group"].unique())
    assert any("dropped 1 class(es) with fewer than 2 rows" in note and "'Lone'" in note for note in figures["notes"])

    # The second run finds every text in the embedding cache: nothing is embedded again.
    cache = EmbeddingCache(Settings().embedding_cache_path)
    cached = len(cache)
    code, text = run(*args, db=tmp_path / "kb.db")
    assert code == 0 and len(cache) == cached
    assert "accuracy" in text and "baseline" in text and "coverage @ precision 0.95" in text
    assert "note: dropped 1 class(es)" in text


def test_a_missing_column_is_named(sample: Path) -> None:
    code, output = run("evaluate", "classify", "--data", str(sample), "--text", "body", "--label", "group")
    assert code == 1 and "has no column 'body'" in output and "subject" in output


def test_a_single_class_is_refused_with_a_message(tmp_path: Path) -> None:
    data = tmp_path / "one.csv"
    data.write_text("text,label\n" + "".join(f"printer jam {i},Printing\n" for i in range(20)), encoding="utf-8")
    code, output = run("evaluate", "classify", "--data", str(data), "--text", "text", "--label", "label")
    assert code == 1 and "at least two classes" in output


PAIRS = [
    (
        "duplicate",
        "Cannot send e-mail from Outlook, stuck in the outbox",
        "Outlook: messages stay in the Outbox and never go out",
    ),
    ("duplicate", "VPNに接続できません。エラー809が出ます。", "VPN connection fails with error 809"),
    ("duplicate", "<p>Printer on the <b>3rd floor</b> jams on every page</p>", "3階のプリンターで毎回紙詰まりが起きる"),
    ("duplicate", "パスワードを忘れてログインできません", "パスワードを失念し、サインインできない"),
    (
        "non-duplicate",
        "Cannot receive e-mail since this morning",
        "Cannot send e-mail from Outlook, stuck in the outbox",
    ),
    ("non-duplicate", "Monitor flickers after docking the laptop", "Keyboard keys stick on the new laptop"),
    ("duplicate", "Teams calls have no sound", "No audio in Microsoft Teams meetings"),
]


def test_evaluate_retrieval_ranks_every_text_for_each_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    lines = ["\t".join(row) for row in PAIRS] + ["not a valid line"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run("evaluate", "retrieval", "--pairs", str(path), "--json", db=tmp_path / "kb.db")
    assert code == 0, output
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert figures["n_queries"] == 5 and figures["n_docs"] == 13  # 14 texts, one of them in two rows
    assert set(figures["baselines"]) == {"tfidf", "use-ml", "minilm"}
    for f in [figures, *figures["baselines"].values()]:
        assert 0 < f["mrr"] <= 1 and f["recall_at_1"] <= f["recall_at_10"] and f["queries_per_second"] > 0
    # Only the multilingual model links the Japanese and English texts; TF-IDF cannot.
    assert figures["baselines"]["use-ml"]["recall_at_1"] > figures["baselines"]["tfidf"]["recall_at_1"]
    assert any("skipped 1 line(s)" in note for note in figures["notes"])


@pytest.mark.slow
def test_the_default_search_beats_every_single_model_on_the_development_set(tmp_path: Path) -> None:
    code, output = run("evaluate", "retrieval", "--pairs", str(DEV_PAIRS), "--json", db=tmp_path / "kb.db")
    assert code == 0, output
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert figures["n_queries"] >= 150
    best_single = max(f["mrr"] for f in figures["baselines"].values())
    assert figures["mrr"] > best_single + 0.01, figures


def test_the_development_set_holds_every_kind_of_pair_it_promises() -> None:
    rows = [line.split("\t") for line in DEV_PAIRS.read_text(encoding="utf-8").splitlines()]
    assert all(len(row) == 3 for row in rows)
    kinds = Counter((row[0], detect_language(row[1]), detect_language(row[2])) for row in rows)
    for pair in [("ja", "ja"), ("en", "en"), ("ja", "en"), ("en", "ja")]:
        assert kinds[("duplicate", *pair)] >= 30, kinds
    assert sum(n for (kind, *_), n in kinds.items() if kind == "non-duplicate") >= 50
    texts = [text for row in rows for text in row[1:]]
    assert len(set(texts)) == len(texts)  # each problem once: a query has exactly one right answer
