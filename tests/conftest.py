"""Shared fixtures: real SQLite files in temporary folders, the real offline embedding model, the real demo data."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from kb import JobRecord, KnowledgeBase
from pipeline import jobs
from pipeline.access import Account
from pipeline.demo import DEMO_SHIFT, build_demo
from pipeline.desk.sla_config import WEEKDAYS
from pipeline.progress import no_progress
from pipeline.settings import Settings
from pipeline.triage.embed import Embedder, load_embedder
from pipeline.triage.embed_cache import EmbeddingCache
from pipeline.triage.indexing import Encoders
from pipeline.workspace import Workspace
from tests.postgres import TestPostgres, test_postgres

# Who acts in tests that are not about who acts: the operator, as at the command line.
OPERATOR = Account.operator("test")


def acct(where: Workspace | KnowledgeBase, name: str) -> Account:
    """The account ``name`` of a workspace's (or knowledge base's) database, as signing in gives it."""
    kb = where.kb if isinstance(where, Workspace) else where
    return Account.signed_in(kb.user(name))


# The SLA calendar of every test not about business time: open around the clock, no holidays, so that what a test
# sees of the clocks does not depend on the day and hour it runs (tests/test_sla.py and test_business_time.py use
# the desk's real calendars).
AROUND_THE_CLOCK = {"calendars": {"default": {"hours": {day: ["00:00", "00:00"] for day in WEEKDAYS}, "country": None}}}

# An incident whose text is markup: every page must show it as typed.
HTML_TITLE = "<b>Bold</b> <script>alert('x')</script> **VPN** :red[down]"


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the developer's incident-kb.toml, database or embedding cache."""
    cache = tmp_path_factory.mktemp("embedding-cache")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("INCIDENT_KB_"):
                mp.delenv(name)
        mp.setenv("INCIDENT_KB_CONFIG", str(cache / "absent.toml"))
        mp.setenv("INCIDENT_KB_CACHE_DIR", str(cache))
        mp.setenv("INCIDENT_KB_SIGNING_KEY_FILE", str(cache / "signing.key"))
        mp.setenv("INCIDENT_KB_DATABASE_URL", str(tmp_path_factory.mktemp("default-db") / "kb.db"))
        mp.setenv("INCIDENT_KB_SLA", json.dumps(AROUND_THE_CLOCK))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Storage-level tests (those on ``make_kb`` or ``kb``) run on SQLite and on PostgreSQL, and a module's tests
    on the backends its ``RUN_ON`` names; ``@pytest.mark.sqlite_only`` keeps one on SQLite. The rest, model-heavy
    mostly, run on SQLite alone: the backends differ in storage, not in what the models do."""
    if "backend" not in metafunc.fixturenames or metafunc.definition.get_closest_marker("sqlite_only"):
        return
    default = BACKENDS if "make_kb" in metafunc.fixturenames else None
    backends = getattr(metafunc.module, "RUN_ON", default)
    if backends:
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture
def backend() -> str:
    """The database a test runs on, unless ``pytest_generate_tests`` runs it on both."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPostgres]:
    """A real PostgreSQL server with pgvector, started once per session (about a second)."""
    with test_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def new_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """Factory of URLs of databases on the test's backend, by name: the same name gives the same database, a new
    name an empty one. SQLite files in the test's folder, or databases on the PostgreSQL server (dropped after)."""
    made: dict[str, str] = {}

    def make(name: str = "kb.db") -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}"
        if name not in made:
            made[name] = request.getfixturevalue("postgres").new_database()
        return made[name]

    yield make
    if made:
        server = request.getfixturevalue("postgres")
        for url in made.values():
            server.drop(url)


@pytest.fixture
def make_kb(new_database_url: Callable[[str], str]) -> Iterator[Callable[..., KnowledgeBase]]:
    """Factory of fresh knowledge bases, each a real database of the test's backend; closed after the test."""
    opened: list[KnowledgeBase] = []

    def make(name: str = "kb.db") -> KnowledgeBase:
        kb = KnowledgeBase(new_database_url(name))
        opened.append(kb)
        return kb

    yield make
    for kb in opened:
        kb.close()


@pytest.fixture
def kb(make_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return make_kb()


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The real multilingual model (numpy only, loads in about a second), with its own cache."""
    return load_embedder("use-ml", cache=EmbeddingCache(tmp_path_factory.mktemp("use-cache") / "c.sqlite"))


@pytest.fixture(scope="session")
def encoders(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Encoders:
    """The real search models: the multilingual one and the English one (MiniLM, about 5 s to load)."""
    english = load_embedder("minilm", cache=EmbeddingCache(tmp_path_factory.mktemp("minilm-cache") / "c.sqlite"))
    return Encoders(embedder, english)


@pytest.fixture
def settings(tmp_path: Path, new_database_url: Callable[[str], str]) -> Settings:
    """Settings of a fresh, empty knowledge base of the test's backend, its index and models in the test's folder."""
    return Settings(database_url=new_database_url("kb.db"), index_path=tmp_path / "kb.index")


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    with Workspace(settings) as ws:
        yield ws


def work_off(settings: Settings) -> list[JobRecord]:
    """Do every queued job of the background worker here, as the worker would (``jobs.run``), for the tests of
    pages that hand work to it; the worker process itself is tested in tests/test_jobs.py."""
    with Workspace(settings) as ws:
        return [jobs.run(ws, job.id) for job in reversed(ws.kb.jobs(statuses=("queued",)))]


def add_resolved(ws: Workspace, title: str, body: str, **fields) -> int:
    """Store one resolved incident directly (the index notices the change on next use)."""
    fields.setdefault("language", "en")
    fields.setdefault("resolution", "Fixed.")
    with ws.kb.write("test") as w:
        return w.add_incident(title=title, body=body, status="resolved", **fields)


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real demo knowledge base (1,650 incidents, embedded and indexed), plus one incident written in markup."""
    folder = tmp_path_factory.mktemp("demo")
    settings = Settings(database_url=str(folder / "demo.db"))
    with Workspace(settings) as ws:
        build_demo(ws, no_progress)
        add_resolved(ws, HTML_TITLE, "Report with <i>markup</i> and [a link](http://example.com).", category="Network")
        ws.reindex()
    return settings


def copy_knowledge_base(settings: Settings, folder: Path) -> Settings:
    """Settings of a private copy of a SQLite knowledge base with its index and model files, in ``folder``: opened
    as it is, with nothing to rebuild, and nothing a test does to it reaches the original."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = Settings(database_url=str(folder / "copy.db"), model_dir=folder / "models")
    shutil.copy(settings.sqlite_path, copy.sqlite_path)
    shutil.copy(settings.resolved_index_path, copy.resolved_index_path)
    shutil.copytree(settings.resolved_model_dir, copy.resolved_model_dir)
    old, new = str(settings.resolved_model_dir.resolve()), str(copy.resolved_model_dir.resolve())
    with KnowledgeBase(copy.resolved_database_url) as kb, kb.engine.begin() as connection:
        # The registry names each model file by its absolute path: point it at the copies.
        repoint = text("UPDATE model_versions SET artifact = replace(artifact, :old, :new)")
        connection.execute(repoint, {"old": old, "new": new})
    return copy


@pytest.fixture
def demo_copy(demo_settings: Settings, tmp_path: Path) -> Settings:
    """Settings of a private copy of the demo knowledge base (index and trained models), for tests that change it."""
    return copy_knowledge_base(demo_settings, tmp_path / "demo")


@pytest.fixture(scope="session")
def demo_with_candidate(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo with a third model version trained on it and kept as a candidate (version 2 stays active): one
    training shared by every test of comparing, activating, discarding and rolling back. Tests copy it."""
    settings = copy_knowledge_base(demo_settings, tmp_path_factory.mktemp("candidate"))
    with Workspace(settings) as ws:
        ws.train(actor=acct(ws, "Emily Carter"), activate=False)
    return settings


@pytest.fixture
def candidate_copy(demo_with_candidate: Settings, tmp_path: Path) -> Settings:
    """A private copy of ``demo_with_candidate``."""
    return copy_knowledge_base(demo_with_candidate, tmp_path / "candidate")


def demo_date(settings: Settings, day: str) -> str:
    """A date of the demo files' calendar as it is in the built demo, which moved their dates up to today."""
    with KnowledgeBase(settings.resolved_database_url) as kb:
        days = int(kb.meta(DEMO_SHIFT))
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


@dataclass
class Webhook:
    """A local stand-in for a chat's incoming webhook: what was posted to ``url``, in order."""

    url: str = ""
    received: list[dict] = field(default_factory=list)


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_port}/hooks/secret-token"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield hook
    server.shutdown()
