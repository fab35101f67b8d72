"""Settings: one object, from keyword arguments, environment variables or a TOML file, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.settings import Settings


def test_environment_beats_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "incident-kb.toml"
    config.write_text('embedding_model = "minilm"\nsearch_top_k = 7\n', encoding="utf-8")
    monkeypatch.setenv("INCIDENT_KB_CONFIG", str(config))
    monkeypatch.setenv("INCIDENT_KB_SEARCH_TOP_K", "12")
    settings = Settings()
    assert (settings.embedding_model, settings.search_top_k) == ("minilm", 12)
    assert Settings(search_top_k=3).search_top_k == 3


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_KB_SEARCH_TOP_K", "many")
    with pytest.raises(ValidationError, match="search_top_k"):
        Settings()


def test_the_index_lives_next_to_the_sqlite_file(tmp_path: Path) -> None:
    assert Settings(database_url=str(tmp_path / "kb.db")).resolved_index_path == tmp_path / "kb.index"
    settings = Settings(database_url=f"sqlite:///{tmp_path}/other.sqlite3")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/other.sqlite3"
    assert settings.resolved_index_path == tmp_path / "other.index"
    explicit = Settings(database_url="postgresql://kb@localhost/helpdesk", index_path=tmp_path / "pg.index")
    assert explicit.resolved_index_path == tmp_path / "pg.index"
