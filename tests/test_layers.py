"""Data flows one way, app -> pipeline -> kb: no module imports a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What each layer may not import.
FORBIDDEN = {
    "kb": ("pipeline", "app_pages", "streamlit"),
    "pipeline": ("app_pages", "streamlit"),
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_backward_imports(layer: str) -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((REPO / layer).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[layer]
    ]
    assert offenders == []


def test_pages_hold_no_sql_or_numerics() -> None:
    offenders = [
        f"{path.name} imports {name}"
        for path in sorted((REPO / "app_pages").glob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in ("sqlalchemy", "sqlite3", "numpy", "faiss", "sklearn")
    ]
    assert offenders == []
