"""The vector index: search, crash-safe saves, and rebuilding whenever it does not fit the database or model."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from kb import CaseFilter, IndexCorrupt, IndexMismatch, KnowledgeBase
from kb.index import VectorIndex
from kb.retrieval import SearchIndex
from pipeline.settings import Settings
from pipeline.triage.indexing import Encoders, build_index, open_index
from pipeline.workspace import Workspace
from tests.conftest import BACKENDS, OPERATOR, add_resolved

RUN_ON = BACKENDS


def unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_returns_the_nearest_ids_best_first() -> None:
    vectors = unit(50)
    index = VectorIndex(8, model="toy")
    index.add(range(100, 150), vectors)
    hits = index.search(vectors[7], k=3)
    assert hits[0][0] == 107 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    index.add([107], vectors[8:9])  # a new vector for the same incident replaces the old one
    assert len(index) == 50 and index.search(vectors[8], k=2)[0][1] == pytest.approx(1.0, abs=1e-5)
    index.remove([107, 108])
    assert len(index) == 48 and {107, 108}.isdisjoint(i for i, _ in index.search(vectors[8], k=48))
    assert VectorIndex(8, model="toy").search(vectors[0], k=5) == []


def toy_index(n: int = 3, *, version: str = "abc:3", dim: int = 8) -> SearchIndex:
    """A search index of n short texts with random vectors, half of them English."""
    languages = ["en" if i % 2 else "ja" for i in range(n)]
    passages = [unit(1, dim, seed=i) if language == "en" else None for i, language in enumerate(languages)]
    texts = [f"case {i} error 0x{i:04x}" for i in range(n)]
    models = {"meaning": "toy@1", "english": "toy-en@1"}
    dims = {"meaning": dim, "english": dim}
    meaning = unit(n, dim)
    return SearchIndex.build(
        range(5, 5 + n), texts, languages, meaning, passages, models=models, dims=dims, corpus_version=version
    )


def test_save_and_load_keep_views_models_and_version(tmp_path: Path) -> None:
    index = toy_index()
    index.save(tmp_path / "kb.index")
    loaded = SearchIndex.load(tmp_path / "kb.index")
    assert (loaded.models, loaded.corpus_version, loaded.ids()) == (index.models, "abc:3", [5, 6, 7])
    assert loaded.calibration_ == index.calibration_ and loaded.languages == index.languages
    assert [p.name for p in tmp_path.iterdir()] == ["kb.index"]


def test_a_failed_save_leaves_the_old_index_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kb.index"
    toy_index(version="v1").save(path)
    new = toy_index(4, version="v2")

    def crash(*args):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk unplugged"):
        new.save(path)
    monkeypatch.undo()
    assert SearchIndex.load(path).corpus_version == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["kb.index"]  # no temporary file left behind


def test_a_process_killed_mid_save_never_leaves_a_torn_index(tmp_path: Path) -> None:
    path = tmp_path / "kb.index"
    script = textwrap.dedent(
        f"""
        from tests.test_index import toy_index
        index = toy_index(30_000, dim=64)
        generation = 0
        while True:
            generation += 1
            index.corpus_version = str(generation)
            index.save({str(path)!r})
            print(generation, flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "1"  # one complete save exists
        time.sleep(0.35)  # now it is somewhere inside a later save
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    index = SearchIndex.load(path)
    assert len(index) == 30_000 and int(index.corpus_version) >= 1


def test_an_unreadable_index_file_is_reported_by_name(tmp_path: Path) -> None:
    path = tmp_path / "kb.index"
    path.write_bytes(b"PK\x03\x04 this is not an index")
    with pytest.raises(IndexCorrupt, match=f"index file {path} cannot be read"):
        SearchIndex.load(path)
    path.write_text("garbage")
    with pytest.raises(IndexCorrupt, match=r"cannot be read \(it is not an incident-kb index file\)"):
        SearchIndex.load(path)


def test_check_names_what_does_not_match() -> None:
    index = toy_index(version="db:1")
    index.check(models=index.models, corpus_version="db:1")
    with pytest.raises(IndexMismatch, match=r"built with embedding models toy@1 \(meaning\), toy-en@1 .* other@2"):
        index.check(models={"meaning": "other@2"}, corpus_version="db:1")
    with pytest.raises(IndexMismatch, match="reflects database state db:1, but the database is now at db:2"):
        index.check(models=index.models, corpus_version="db:2")


def test_large_indexes_use_inverted_lists_and_still_find_the_nearest() -> None:
    vectors = unit(25_000, 32)
    index = VectorIndex.build(range(25_000), vectors, model="toy")
    assert "IVF" in type(index._faiss).__name__
    assert [i for i, _ in index.search(vectors[123], k=1)] == [123]
    assert [i for i, _ in index.search(vectors[123], k=3, allowed=np.array([7, 9]))] in ([7, 9], [9, 7])
    # A wide filter walks the lists unfiltered and keeps what passes; one whose cases all lie far from the query,
    # which such walks never reach, is searched with the filter, every list probed: exactly.
    odd = np.arange(1, 25_000, 2)
    found = [i for i, _ in index.search(vectors[123], k=5, allowed=odd)]
    assert found[0] == 123 and len(found) == 5 and set(found) <= set(odd.tolist())
    far = np.argsort(vectors @ vectors[123])[:5000]
    truth = far[np.argsort(-(vectors[far] @ vectors[123]))[:5]]
    assert [i for i, _ in index.search(vectors[123], k=5, allowed=far)] == truth.tolist()
    index.remove([123])
    assert 123 not in [i for i, _ in index.search(vectors[123], k=5)]


@pytest.fixture
def indexed_kb(kb: KnowledgeBase) -> KnowledgeBase:
    with kb.write("test") as w:
        for title in ("VPN drops every ten minutes", "Printer jammed on the 3rd floor", "メールが送信できない"):
            w.add_incident(title=title, language="en", status="resolved", resolution="fixed")
        w.add_incident(title="Open case, not knowledge yet", language="en")
    return kb


@pytest.mark.sqlite_only  # PostgreSQL keeps no index file: tests/test_postgres.py
def test_open_index_rebuilds_when_missing_corrupt_stale_or_foreign(
    indexed_kb: KnowledgeBase, encoders: Encoders, tmp_path: Path
) -> None:
    path = tmp_path / "kb.index"
    index, message = open_index(indexed_kb, encoders, path, max_chars=1000)
    assert len(index) == 3 and "no index at" in str(message)
    assert open_index(indexed_kb, encoders, path, max_chars=1000)[1] is None  # fits: loaded as is

    path.write_bytes(b"garbage")
    index, message = open_index(indexed_kb, encoders, path, max_chars=1000)
    assert len(index) == 3 and "cannot be read" in str(message)

    with indexed_kb.write("test") as w:
        w.update_incident(4, status="resolved", resolution="done")
    index, message = open_index(indexed_kb, encoders, path, max_chars=1000)
    assert len(index) == 4 and "database is now at" in str(message)

    meaning_only = Encoders(encoders.meaning)
    index, message = open_index(indexed_kb, meaning_only, path, max_chars=1000)
    assert index.models == meaning_only.models and "built with embedding models" in str(message)


def test_the_index_is_rebuilt_from_the_database_alone(indexed_kb: KnowledgeBase, encoders: Encoders) -> None:
    index = build_index(indexed_kb, encoders, max_chars=1000)
    assert index.ids() == [1, 2, 3]
    assert index.search(encoders.query("VPN keeps disconnecting"), 1, Settings().search_weights)[0].id == 1


def test_resolving_adds_the_incident_to_the_index_at_once(workspace: Workspace) -> None:
    add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    assert len(workspace.index()) == 1
    with workspace.kb.write("agent") as w:
        new_id = w.add_incident(title="Teams has no audio", body="nobody hears me in meetings", language="en")
    workspace.resolve(new_id, actor=OPERATOR, resolution="Selected the headset as audio device")
    assert workspace.index_is_current()  # no rebuild needed
    assert workspace.similar_cases("No sound in Teams calls", k=1)[0].incident.id == new_id
    if workspace.kb.is_postgresql:  # stored in the database, in the resolution's transaction
        assert len(workspace.index().views["meaning"]) == 2
    else:  # saved to the file
        on_disk = SearchIndex.load(workspace.settings.resolved_index_path)
        assert new_id in on_disk.ids() and on_disk.corpus_version == workspace.kb.corpus_version()


def test_a_change_by_another_process_is_noticed_before_the_next_search(workspace: Workspace) -> None:
    add_resolved(workspace, "Printer jammed", "paper stuck in tray 2")
    workspace.index()
    workspace.notices.clear()  # the first build's
    with KnowledgeBase(workspace.settings.resolved_database_url) as other, other.write("someone else") as w:
        w.add_incident(title="Laptop battery swollen", language="en", status="resolved", resolution="Replaced")
    assert workspace.similar_cases("battery is bulging", k=1)[0].incident.title == "Laptop battery swollen"
    if workspace.kb.is_postgresql:  # taken in from the shared index: nothing rebuilt, nothing to tell
        assert not workspace.notices
    else:
        assert any("changed since the index was loaded" in str(n) for n in workspace.notices)


def test_filters_keep_only_the_cases_asked_for(workspace: Workspace) -> None:
    printer = add_resolved(workspace, "Printer jams on floor 3", "paper stuck", category="Hardware", priority="P3")
    add_resolved(workspace, "Printer prints blank pages", "toner empty?", category="Hardware", priority="P2")
    add_resolved(workspace, "Printer driver cannot be installed", "admin rights", category="Software", priority="P3")
    report = "the printer is jammed"
    assert len(workspace.search(report, k=5).resolved) == 3
    found = workspace.search(report, k=5, where=CaseFilter(categories=("Hardware",), priorities=("P3",)))
    assert [c.incident.id for c in found.resolved] == [printer]
    assert workspace.search(report, where=CaseFilter(since=dt.date.today() + dt.timedelta(days=1))).resolved == []
    assert workspace.search(report, where=CaseFilter(statuses=("new",))).resolved == []  # open cases only


def test_an_open_case_like_the_report_is_flagged_apart_from_resolved_ones(workspace: Workspace) -> None:
    add_resolved(workspace, "VPN drops every ten minutes", "Updated the VPN client")
    with workspace.kb.write("agent") as w:
        twin = w.add_incident(title="Outlook stuck on sending", body="mails stay in the outbox", language="en")
        w.add_incident(title="Badge reader broken at the entrance", language="en")
    result = workspace.search("Emails stay in my outbox and are never sent")
    assert [c.incident.id for c in result.duplicates] == [twin]
    assert all(c.incident.status == "resolved" for c in result.resolved)
    assert result.open[0].incident.id == twin and not result.open[1].possible_duplicate


def test_a_japanese_report_finds_the_english_case(workspace: Workspace) -> None:
    add_resolved(workspace, "Printer prints blank pages", "Replaced the toner cartridge")
    vpn = add_resolved(workspace, "Cannot connect to the VPN from home", "Reinstalled the VPN client")
    add_resolved(workspace, "Outlook keeps asking for the password", "Cleared stored credentials")
    assert workspace.similar_cases("自宅からVPNに接続できません", k=1)[0].incident.id == vpn
