"""All configuration in one object, read from ``INCIDENT_KB_*`` environment variables or a TOML file.

Precedence, highest first: keyword arguments, environment variables, the TOML file named by
``INCIDENT_KB_CONFIG`` (default ``incident-kb.toml`` in the working directory), the defaults below.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "incident-kb"


class Settings(BaseSettings):
    """Every setting with its default and what it does (also shown by ``incident-kb settings``)."""

    model_config = SettingsConfigDict(env_prefix="INCIDENT_KB_", extra="forbid")

    database_url: str = Field(
        "sqlite:///var/incident-kb.db",
        description="SQLAlchemy URL of the knowledge base; a plain file path means SQLite.",
    )
    index_path: Path | None = Field(
        None,
        description="Where the vector index lives; default: next to the SQLite file, with suffix .index.",
    )
    embedding_model: str = Field(
        "use-ml",
        description=(
            "Embedding model: 'use-ml' (multilingual USE v3, Japanese and English in one space), "
            "'minilm' (all-MiniLM-L6-v2, English only), or any sentence-transformers name or path."
        ),
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Embedding cache (a SQLite file), so that no text is embedded twice across runs.",
    )
    embed_batch_size: int = Field(64, gt=0, description="Texts per embedding batch.")
    threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, gt=0, description="CPU threads for the embedding models."
    )
    search_top_k: int = Field(10, gt=0, le=100, description="Similar cases shown per report.")
    max_report_chars: int = Field(
        20_000,
        gt=0,
        description="Longer reports are cut to this many characters before embedding (the text is kept whole).",
    )
    demo_dir: Path = Field(
        REPO_ROOT / "data", description="Folder holding demo_requesters.jsonl and demo_incidents.jsonl."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("INCIDENT_KB_CONFIG", "incident-kb.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with a bare file path turned into a SQLite URL."""
        if "://" in self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.database_url).expanduser()}"

    @property
    def resolved_index_path(self) -> Path:
        """The index file: the configured path, or the SQLite file's name with suffix ``.index``."""
        if self.index_path is not None:
            return self.index_path
        url = make_url(self.resolved_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).with_suffix(".index")
        return Path("var") / f"{url.database or 'incident-kb'}.index"

    @property
    def embedding_cache_path(self) -> Path:
        return self.cache_dir / "embeddings.sqlite"
