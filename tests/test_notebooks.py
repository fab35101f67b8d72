"""The analysts' notebooks run from top to bottom on today's code and data: a notebook that raises fails the suite."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.settings import REPO_ROOT, Settings
from tests.conftest import demo_date

NOTEBOOKS = REPO_ROOT / "notebooks"


def execute(name: str) -> nbformat.NotebookNode:
    """Run a copy of the notebook in a fresh kernel, in its folder; the file in the repository is left as it is."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


def charts(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


def kept_charts(name: str) -> int:
    return charts(nbformat.read(NOTEBOOKS / name, as_version=4))


@pytest.mark.slow
def test_the_trends_notebook_runs_on_the_demo(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_KB_DATABASE_URL", demo_settings.resolved_database_url)
    notebook = execute("kb_trends.ipynb")
    assert charts(notebook) == kept_charts("kb_trends.ipynb") == 4
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    first = demo_date(demo_settings, "2025-10-01")
    assert f"1,651 incidents from {first}" in printed  # the demo and the test's one marked-up incident


@pytest.mark.slow
def test_the_event_log_notebook_runs_on_the_real_log() -> None:
    notebook = execute("event_log_uci.ipynb")
    assert charts(notebook) == kept_charts("event_log_uci.ipynb") == 5
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "141,707 updates of 24,918 incidents" in printed
