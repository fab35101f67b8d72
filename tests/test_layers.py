"""The house stays easy to see: data flows one way (app and CLI -> pipeline -> kb), pipeline/ is split by whom it
serves (triage knows neither the desk nor the review, the desk does not know the review), only the app imports
Streamlit, and no module grows past what a reader takes in at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Per folder (or module) of the project: the project's packages and the libraries it may not import.
FORBIDDEN = {
    "words": ("kb", "pipeline", "cli", "app_pages", "streamlit"),
    "kb": ("pipeline", "cli", "app_pages", "api", "streamlit"),
    "pipeline": ("cli", "app_pages", "api", "streamlit"),
    # Who acts and what a role may do: beneath every part that changes something.
    "pipeline/access": (
        "pipeline.triage",
        "pipeline.desk",
        "pipeline.review",
        "pipeline.knowledge",
        "pipeline.workspace",
        "pipeline.demo",
    ),
    "pipeline/triage": (
        "pipeline.desk",
        "pipeline.review",
        "pipeline.knowledge",
        "pipeline.workspace",
        "pipeline.demo",
    ),
    "pipeline/desk": (
        "pipeline.review",
        "pipeline.demo",
        "pipeline.channels",
        "pipeline.knowledge",
    ),
    # Problems, articles and drills build on triage and the desk; the review reads them, the channels carry them.
    "pipeline/knowledge": ("pipeline.review", "pipeline.demo", "pipeline.channels"),
    # The channels carry what the desk wrote (replies, its event log) in and out; the desk knows none of them.
    "pipeline/channels": ("pipeline.review", "pipeline.demo"),
    "pipeline/review": ("pipeline.demo",),
    "cli": ("app_pages", "api", "streamlit"),
    # The HTTP API is another front end: it calls the pipeline and reads its records, never writes beneath it.
    "api": ("kb.store", "kb.writer", "kb.models", "sqlalchemy", "app_pages", "cli", "streamlit"),
    "app_pages": ("api",),
    "bench": ("app_pages", "streamlit"),
}
# Modules that are not one idea but a list of many (migrations are generated; tests are their own).
SIZE_EXEMPT = ("kb/migrations", "tests")
MAX_LINES = 420  # "about 400"
MAX_TOP_MODULES = 12


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # "from pipeline import demo"
    return names


def _python_files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_backward_imports(folder: str) -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _python_files(folder)
        for name in imported_modules(path)
        if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN[folder])
    ]
    assert offenders == []


def test_only_the_app_imports_streamlit() -> None:
    app = {REPO / "app.py", *_python_files("app_pages"), *_python_files("tests")}
    offenders = [
        str(path.relative_to(REPO))
        for path in REPO.rglob("*.py")
        if ".venv" not in path.parts
        and path not in app
        and "streamlit" in {n.split(".")[0] for n in imported_modules(path)}
    ]
    assert offenders == []


def test_pages_hold_no_sql_or_numerics() -> None:
    offenders = [
        f"{path.name} imports {name}"
        for path in _python_files("app_pages")
        for name in imported_modules(path)
        if name.split(".")[0] in ("sqlalchemy", "sqlite3", "numpy", "faiss", "sklearn")
    ]
    assert offenders == []


def test_no_module_is_longer_than_a_reader_takes_in() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for path in REPO.rglob("*.py")
        if ".venv" not in path.parts and not str(path.relative_to(REPO)).startswith(SIZE_EXEMPT)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_top_of_pipeline_holds_what_every_part_shares_and_no_more() -> None:
    top = sorted(path.name for path in (REPO / "pipeline").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    assert {path.name for path in (REPO / "pipeline").iterdir() if path.is_dir() and path.name != "__pycache__"} == {
        "access",
        "triage",
        "desk",
        "review",
        "channels",
        "knowledge",
    }
