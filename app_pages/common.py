"""What every page shares: the workspace (one per server process), progress bars, the sidebar, safe text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from kb import KnowledgeBaseUnavailable
from pipeline import ModelUnavailable, Settings, Workspace
from pipeline.progress import Progress

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; this also defuses Streamlit's own
# :color[...] / :material/...: directives and $...$ math in text that comes from reports.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'])")


def md(text: object) -> str:
    """Text from a report or the database, made safe to put inside st.markdown: shown as typed, never parsed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


@st.cache_resource(show_spinner="Opening the knowledge base…", on_release=lambda ws: ws.close())
def _open_workspace() -> Workspace:
    return Workspace(Settings())


def workspace() -> Workspace:
    """The knowledge base, model and index of this server process, opened once and shared by all sessions."""
    try:
        return _open_workspace()
    except KnowledgeBaseUnavailable as exc:  # not cached: the next run tries again, once the file is fixed
        st.error(f"{exc}. Nothing was changed; fix or restore the file, or set INCIDENT_KB_DATABASE_URL.")
        st.stop()


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Progress]:
    bar = st.progress(0.0, text=description)
    done = 0

    def update(n: int) -> None:
        nonlocal done
        done += n
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{description}: {done:,} of {total:,}")

    yield update
    bar.empty()


def ready_workspace() -> Workspace:
    """The workspace with its model loaded and its index current, showing progress while it gets there."""
    ws = workspace()
    try:
        with st.spinner("Loading the embedding model and the index…"):
            ws.index(progress_bar)  # instant once loaded; a bar appears only while it is rebuilt
    except ModelUnavailable as exc:
        st.error(str(exc))
        st.stop()
    return ws


def sidebar() -> None:
    ws = workspace()
    stats = ws.kb.stats()
    with st.sidebar:
        st.subheader("Knowledge base")
        st.metric("Incidents", f"{stats.incidents:,}")
        st.caption(
            f"{stats.resolved:,} resolved (searchable) · "
            + " · ".join(f"{md(lang)} {n:,}" for lang, n in sorted(stats.by_language.items()))
        )
        st.caption(f"Model: {md(ws.settings.embedding_model)}")
        for notice in ws.notices[-3:]:
            st.info(notice, icon=":material/build:")
