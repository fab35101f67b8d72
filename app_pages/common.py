"""What every page shares: the workspace (one per server process), progress bars, the sidebar, safe text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from kb import KnowledgeBaseUnavailable
from kb.vocab import ESCALATION_LABELS
from pipeline import ModelUnavailable, Settings, Workspace
from pipeline.progress import Progress
from pipeline.search import SimilarCase

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


def case_card(case: SimilarCase) -> None:
    """One found case: title, similarity, labels, language, resolution, and a link to the full case."""
    incident = case.incident
    with st.container(border=True, key=f"similar_case_{incident.id}"):
        head, score = st.columns([5, 1])
        head.markdown(f"**#{incident.id}** · {md(incident.title)}")
        score.progress(max(case.similarity, 0.0), text=f"similarity {case.similarity:.2f}")
        if case.possible_duplicate:
            st.caption(":material/content_copy: possible duplicate of this report (still open)")
        level = ESCALATION_LABELS.get(incident.escalation_level or "", incident.escalation_level or "—")
        st.caption(
            " · ".join(
                md(part)
                for part in (
                    incident.category or "no category",
                    incident.priority or "no priority",
                    f"escalation: {level}",
                    "日本語" if incident.language == "ja" else "English",
                    f"resolved {incident.resolved_at:%Y-%m-%d}" if incident.resolved_at else incident.status,
                )
            )
        )
        if incident.resolution:
            st.markdown("**Resolution**")
            st.text(incident.resolution)
        elif incident.resolved_at:
            st.text("(no resolution recorded)")
        if incident.root_cause:
            st.markdown("**Root cause**")
            st.text(incident.root_cause)
        with st.expander("Original report"):
            st.text(incident.body or incident.title)
        st.page_link("app_pages/case.py", label=f"Open case #{incident.id}", query_params={"id": incident.id})


def duplicate_banners(cases: list[SimilarCase]) -> None:
    """Open cases that look like the report, flagged above everything else."""
    for case in cases:
        incident = case.incident
        text = f"Possible duplicate of #{incident.id}, still open: {md(incident.title)}"
        st.warning(text, icon=":material/content_copy:")
        st.page_link("app_pages/case.py", label=f"Open case #{incident.id}", query_params={"id": incident.id})
