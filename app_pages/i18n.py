"""Every label of the app in English and Japanese, from one catalogue (``messages.toml``); the sidebar switches."""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamlit as st

LANGUAGES = {"en": "English", "ja": "日本語"}
CATALOGUE: dict[str, dict[str, str]] = tomllib.loads(
    (Path(__file__).with_name("messages.toml")).read_text(encoding="utf-8")
)


def language() -> str:
    """The session's UI language ("en" or "ja")."""
    return st.session_state.get("lang") or "en"


def t(key: str, **values: object) -> str:
    """The label ``key`` in the session's language, with ``{placeholders}`` filled from ``values``."""
    entry = CATALOGUE[key]
    text = entry.get(language()) or entry["en"]
    return text.format(**values) if values else text
