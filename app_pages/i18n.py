"""The app's words: the session's language, and ``t`` to word a catalogue code or a phrase in it (``words``)."""

from __future__ import annotations

import streamlit as st

from words import LANGUAGES, Phrase, say, say_all

__all__ = ["LANGUAGES", "language", "t", "t_all"]


def language() -> str:
    """The session's UI language ("en" or "ja")."""
    return st.session_state.get("lang") or "en"


def t(what: Phrase | str, **values: object) -> str:
    """A catalogue code (with its ``{placeholders}`` filled from ``values``) or a phrase, in the session's language."""
    return say(what, language(), **values)


def t_all(phrases: object) -> str:
    """Several phrases (a suggestion's reasons, say) as one text in the session's language."""
    return say_all(phrases, language())
