"""A new user's first steps, as the issue that found the traceback took them: a small CSV of real tickets imported,
then train, suggest and search from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.settings import REPO_ROOT
from tests.test_cli import run

PRIORITIES = {0: "P2", 9: "P3", 18: "P2", 27: "P3", 36: "P3"}


@pytest.fixture(scope="module")
def tickets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 real tickets of it_service_tickets_v3 (CC0): eight of each of its eight categories, a priority on five."""
    frame = pd.read_csv(REPO_ROOT / "data" / "it_service_tickets_v3.csv.gz")
    sample = pd.concat([group.sample(8, random_state=0) for _, group in frame.groupby("Topic_group")])
    sample = sample.reset_index(drop=True)
    sample["priority"] = sample.index.map(PRIORITIES).fillna("")
    path = tmp_path_factory.mktemp("new-user") / "tickets.csv"
    sample.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_a_small_csv_of_real_tickets_then_train_suggest_and_search(tickets: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    code, output = run("import", str(tickets), "--map", "body=Document", "--map", "category=Topic_group", db=db)
    assert code == 0, output
    assert "tickets.csv: 64 rows read, 64 added." in output

    code, output = run("train", db=db)
    assert code == 0, output
    lines = output.splitlines()
    assert "Model version 1 trained on 64 resolved incidents and made active." in lines
    by_target = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert set(by_target) == {"category", "priority", "escalation_level", "impact", "urgency"}
    assert "held-out accuracy" in by_target["category"]
    # Five priorities are enough to learn from, not to hold any out: trained, and it says it was not measured.
    assert "trained, not measured: too few cases to hold any out" in by_target["priority"]
    for target in ("escalation_level", "impact", "urgency"):
        assert "not trained: needs at least two labels with two cases each; has none" in by_target[target]

    code, output = run("suggest", "My laptop screen is broken, I need a replacement", "--json", db=db)
    assert code == 0, output
    result = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert result["category"] is not None and result["category"]["candidates"]
    assert result["priority"] is not None  # trained on five, so most likely "not sure", but it answers
    assert result["escalation_level"] is None
    assert "No escalation level suggestion: needs at least two labels" in output

    code, output = run("search", "access card for a new employee", "-k", "3", db=db)
    assert code == 0, output
    assert len([line for line in output.splitlines() if line.startswith("#")]) == 3
