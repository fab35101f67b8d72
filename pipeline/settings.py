"""All configuration in one object, read from ``INCIDENT_KB_*`` environment variables or a TOML file.

Precedence, highest first: keyword arguments, environment variables, the TOML file named by
``INCIDENT_KB_CONFIG`` (default ``incident-kb.toml`` in the working directory), the defaults below.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from kb import sqlite_file
from kb.retrieval import Weights
from kb.vocab import IMPACTS, URGENCIES, EscalationLevel, Priority
from pipeline.channels.config import LOCAL_HOSTS, ApiSettings, MailSettings
from pipeline.desk.sla_config import SlaSettings
from pipeline.knowledge.article_settings import ArticleSettings
from pipeline.knowledge.drill_config import DrillSettings
from pipeline.workflow import DEFAULT_AUTOMATIC_MOVES, DEFAULT_STATUSES, Move, StatusDef, check_workflow

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent


def https_or_local(url: str) -> bool:
    """Whether ``url`` is https, or plain http to this machine: what may carry a case's text off it."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)


# The escalation guide's four criteria (技術的限界, 時間的制約, 複雑な問題, 顧客要望), in its order.
CRITERIA = ("technical_limit", "time_constraint", "complexity", "customer_request")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "incident-kb"


class Settings(BaseSettings):
    """Every setting with its default and what it does (also shown by ``incident-kb settings``)."""

    model_config = SettingsConfigDict(env_prefix="INCIDENT_KB_", env_nested_delimiter="__", extra="forbid")

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
    english_model: str = Field(
        "minilm",
        description=(
            "Second embedding model for English text (passages of long texts weighed apart), also read by the "
            "suggestion models beside the multilingual one; '' leaves both to the multilingual model alone."
        ),
    )
    search_weights_english: dict[Literal["meaning", "english", "lexical"], float] = Field(
        {"meaning": 0.0, "english": 0.85, "lexical": 0.15},
        description=(
            "Similar-case search between two English texts: the weight of the multilingual model, "
            "the English model and character n-grams (chosen by measurement; see the README)."
        ),
    )
    search_weights_other: dict[Literal["meaning", "lexical"], float] = Field(
        {"meaning": 1.0, "lexical": 0.0},
        description="Similar-case search between two texts in the same other language (Japanese): the weights.",
    )
    duplicate_similarity: float = Field(
        0.7,
        gt=0,
        le=1,
        description=(
            "An open case at least this similar to a report is flagged as its possible duplicate (on the "
            "development pairs: 45 % of true duplicates flagged, 6 % of different problems on the same topic)."
        ),
    )
    search_top_k: int = Field(10, gt=0, le=100, description="Similar cases shown per report.")
    fold_similarity: float = Field(
        0.85,
        gt=0,
        le=1,
        description=(
            "Similar cases in one language at least this alike (multilingual model) fold into one entry: "
            "'this happened 14 times; 12 resolved by ...'. 1 folds only identical texts."
        ),
    )
    fold_diversity: float = Field(
        0.1,
        ge=0,
        lt=1,
        description=(
            "How much the similar-case list favours resolutions unlike those above over closeness to the report "
            "(maximal marginal relevance); 0 orders by similarity alone."
        ),
    )
    max_report_chars: int = Field(
        20_000,
        gt=0,
        description="Longer reports are cut to this many characters before embedding (the text is kept whole).",
    )
    model_dir: Path | None = Field(
        None, description="Where trained suggestion models are kept; default: a 'models' folder next to the database."
    )
    precision_target: float = Field(
        0.9,
        gt=0,
        lt=1,
        description=(
            "A class is suggested on its own only above the confidence at which it was right this often on "
            "held-out data; below, the suggestion says 'not sure' and lists the candidates."
        ),
    )
    min_class_examples: int = Field(
        30, ge=1, description="Classes with fewer training examples are never suggested on their own."
    )
    priority_matrix: dict[str, dict[str, Priority]] = Field(
        {
            "high": {"high": "P1", "medium": "P2", "low": "P3"},
            "medium": {"high": "P2", "medium": "P3", "low": "P3"},
            "low": {"high": "P2", "medium": "P3", "low": "P4"},
        },
        description="ITIL priority matrix: impact (rows: high, medium, low) x urgency (columns) -> P1-P4.",
    )
    outage_patterns: list[str] = Field(
        [
            r"\b(outage|system down|service down|is down|are down|went down)\b",
            r"\b(nobody|no one|everyone|everybody|all users|whole (office|team|floor|company)|entire)\b",
            r"\b(about |over |around )?\d{2,} (people|users|staff)\b",
            r"(全員|全体|全社|誰も|業務が止ま|システム停止|サービス停止|ダウンして|約?\d+名)",
        ],
        description=(
            "Regular expressions (case-insensitive) saying a service is down or unusable for many users: "
            "a report matching one ranks first (P1, impact and urgency high), whatever the models say."
        ),
    )
    criterion_levels: dict[str, EscalationLevel] = Field(
        {"technical_limit": "L2", "time_constraint": "L1", "complexity": "L2", "customer_request": "L1"},
        description="Escalation checklist: the lowest level a ticked criterion raises the suggestion to.",
    )
    criterion_patterns: dict[str, list[str]] = Field(
        {
            "technical_limit": [
                r"\b(firmware|bsod|blue screen|kernel|driver|certificate|corrupt\w*|hardware fault|motherboard)\b",
                r"(ファームウェア|ドライバ|証明書|ブルースクリーン|破損|故障)",
            ],
            "time_constraint": [
                r"\b(urgent\w*|asap|deadline|right away|immediately|in an hour|by today|today)\b",
                r"(至急|緊急|締め切り|締切|急ぎ|本日中|今日中|1時間後)",
            ],
            "complexity": [
                r"\b(several|multiple|other) (departments|teams|sites|offices)\b",
                r"\b(whole|entire) (office|team|floor|company|department)\b",
                r"(複数部門|複数の部署|他部署|他部門|全体|全社)",
            ],
            "customer_request": [
                r"\b(escalate|someone more senior|senior|specialists?|the vendor|a manager)\b",
                r"(エスカレーション|上位の担当|専門部署|ベンダー|上長)",
            ],
        },
        description=(
            "Escalation checklist: regular expressions (case-insensitive) whose match in a report proposes the "
            "criterion, with the matched words as its reason."
        ),
    )
    escalation_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "The assistant proposes 'technical limit' when at least this share of the similar resolved cases "
            "went to L2 or L3."
        ),
    )
    avoidable_escalation_similarity: float = Field(
        0.85,
        gt=0,
        le=1,
        description=(
            "Escalation review: an escalated case is listed as a candidate for training or a knowledge article "
            "when a case at least this similar had been resolved without escalation before it came in."
        ),
    )
    near_duplicate_similarity: float = Field(
        0.92,
        gt=0,
        le=1,
        description=(
            "Knowledge base health: resolved cases at least this similar to each other (multilingual model) are "
            "listed as near-duplicate knowledge entries, to merge or tell apart."
        ),
    )
    response_targets_hours: dict[Priority, float] = Field(
        {"P1": 0.5, "P2": 2, "P3": 8, "P4": 24},
        description="SLA: the first reply to a requester is due within this many business hours ([sla]), per priority.",
    )
    resolution_targets_hours: dict[Priority, float] = Field(
        {"P1": 8, "P2": 24, "P3": 72, "P4": 120},
        description="SLA: a case is due to be resolved within this many business hours ([sla]), per priority.",
    )
    sla: SlaSettings = Field(default_factory=SlaSettings, description="SLA business calendars and pauses: [sla].")
    sla_warning_share: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="SLA: an open case is flagged as close to a breach once less than this share of its time is left.",
    )
    problem_similarity: float = Field(
        0.65,
        gt=0,
        le=1,
        description=(
            "Trends: cases on average at least this similar to each other (multilingual model) form one recurring "
            "cluster, a candidate for a problem record."
        ),
    )
    problem_min_cases: int = Field(3, ge=2, description="Trends: a recurring cluster needs at least this many cases.")
    report_refresh_minutes: float = Field(
        10,
        ge=0,
        description=(
            "Review: a report (health, escalations, recurring problems, a model comparison) is computed again after "
            "the knowledge base changed at most this often; until then, the last one is shown with its time."
        ),
    )
    statuses: dict[str, StatusDef] = Field(
        DEFAULT_STATUSES,
        description=(
            "The workflow: each status with its English and Japanese name and the statuses it may move to "
            "(new, resolved and closed must exist)."
        ),
    )
    automatic_moves: dict[Move, dict[str, str]] = Field(
        DEFAULT_AUTOMATIC_MOVES,
        description=(
            "Status moves that happen on their own, per action: {from status: to status}; '*' means from any "
            "status allowed to move there."
        ),
    )
    escalation_holders: dict[Literal["L1", "L2", "L3"], str] = Field(
        {"L1": "Senior helpdesk", "L2": "Specialist team", "L3": "External vendor"},
        description="Who holds a case escalated to each level, unless the agent names someone else.",
    )
    chat_webhook_url: str | None = Field(
        None,
        description=(
            "Slack- or Teams-style incoming webhook: escalation hand-off packages can be posted there. "
            "None: no posting."
        ),
    )

    @field_validator("chat_webhook_url")
    @classmethod
    def _webhook_over_https(cls, url: str | None) -> str | None:
        if url and not https_or_local(url):
            raise ValueError("chat_webhook_url must be an https URL (plain http only to localhost)")
        return url

    mail: MailSettings = Field(default_factory=MailSettings, description="Mail in (IMAP) and out (SMTP): [mail].")
    api: ApiSettings = Field(default_factory=ApiSettings, description="The HTTP API: [api].")
    articles: ArticleSettings = Field(default_factory=ArticleSettings, description="Knowledge articles: [articles].")
    drills: DrillSettings = Field(default_factory=DrillSettings, description="Escalation drills: [drills].")
    ui_language: Literal["en", "ja"] = Field(
        "en", description="The app's language until a user switches it in the sidebar: 'en' or 'ja'."
    )
    max_upload_bytes: int = Field(
        5_000_000, gt=0, description="Largest file accepted at intake (CSV, JSON Lines, .eml, mbox)."
    )
    demo_dir: Path = Field(
        REPO_ROOT / "data", description="Folder holding demo_requesters.jsonl, demo_incidents.jsonl and demo_team.toml."
    )
    max_unpacked_bytes: int = Field(50_000_000, gt=0, description="Most a gzipped file may unpack to (import, intake).")
    max_upload_rows: int = Field(10_000, gt=0, description="Most reports (rows or e-mails) one intake upload may hold.")
    signing_key_file: Path = Field(
        Path("~/.config/incident-kb/signing.key"),
        description="Signs trained model files (made on first use, owner-only); keep it apart from data and backups.",
    )
    bind_address: str = Field("127.0.0.1", description="Where `incident-kb serve` listens: 0.0.0.0 only behind TLS.")
    port: int = Field(8501, gt=0, lt=65536, description="Port `incident-kb serve` listens on.")
    lockout_attempts: int = Field(5, ge=1, description="Wrong passwords in a row that lock an account.")
    lockout_minutes: float = Field(15, gt=0, description="How long a locked account stays locked.")
    session_idle_hours: float = Field(8, gt=0, description="A signed-in browser left idle this long signs in again.")

    @model_validator(mode="after")
    def _whole_workflow(self) -> Settings:
        # The default pause names the default workflow's status: a desk's own workflow need not have it.
        paused = self.sla.paused_statuses if "paused_statuses" in self.sla.model_fields_set else ()
        check_workflow(self.statuses, self.automatic_moves, paused=paused)
        return self

    @field_validator("priority_matrix")
    @classmethod
    def _whole_matrix(cls, matrix: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for impact in IMPACTS:
            row = matrix.get(impact, {})
            missing = [urgency for urgency in URGENCIES if urgency not in row]
            if missing:
                raise ValueError(f"priority_matrix row {impact!r} lacks urgency {', '.join(missing)}")
        if extra := set(matrix) - set(IMPACTS):
            raise ValueError(f"priority_matrix has unknown impact {', '.join(sorted(extra))}")
        return matrix

    @field_validator("criterion_levels", "criterion_patterns")
    @classmethod
    def _known_criteria(cls, value: dict) -> dict:
        if unknown := set(value) - set(CRITERIA):
            raise ValueError(f"unknown escalation criterion {', '.join(sorted(unknown))}; known: {', '.join(CRITERIA)}")
        return value

    @field_validator("outage_patterns", "criterion_patterns")
    @classmethod
    def _valid_patterns(cls, value: list | dict) -> list | dict:
        patterns = value if isinstance(value, list) else [p for ps in value.values() for p in ps]
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return value

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
    def sqlite_path(self) -> Path | None:
        """The database file, for SQLite on disk; None for a server database or SQLite in memory."""
        return sqlite_file(self.resolved_database_url)

    @property
    def resolved_index_path(self) -> Path:
        """The index file: the configured path, or the SQLite file's name with suffix ``.index``."""
        if self.index_path is not None:
            return self.index_path
        if self.sqlite_path is not None:
            return self.sqlite_path.with_suffix(".index")
        return Path("var") / f"{make_url(self.resolved_database_url).database or 'incident-kb'}.index"

    @property
    def on_postgresql(self) -> bool:
        """Whether the knowledge base is a PostgreSQL database (its index, queue and all in it)."""
        return make_url(self.resolved_database_url).get_backend_name() == "postgresql"

    @property
    def database_label(self) -> str:
        """The database URL for people and logs: its password hidden."""
        return make_url(self.resolved_database_url).render_as_string(hide_password=True)

    @property
    def index_place(self) -> str:
        """Where the similar-case index lives, for people: its file, or on PostgreSQL the database itself."""
        return f"{self.database_label} (pgvector)" if self.on_postgresql else str(self.resolved_index_path)

    @property
    def resolved_model_dir(self) -> Path:
        """Where model artifacts go: the configured folder, or ``models`` beside the index file."""
        return self.model_dir if self.model_dir is not None else self.resolved_index_path.parent / "models"

    @property
    def search_weights(self) -> Weights:
        return Weights(english=self.search_weights_english, other=self.search_weights_other)

    @property
    def embedding_cache_path(self) -> Path:
        return self.cache_dir / "embeddings.sqlite"
