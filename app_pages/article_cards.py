"""Knowledge articles where reports are read: an article as a card (marked as an article, its text shown as
typed), the articles like a report at triage, and articles ranked among the similar cases of a search."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_pages.common import case_card, md, remembered
from app_pages.i18n import LANGUAGES, t
from kb import CaseFilter
from pipeline import Workspace
from pipeline.knowledge.article_search import ArticleHit, search_with_articles, similar_articles
from pipeline.triage.fold import FoldedCase

ARTICLES_PAGE = "app_pages/articles.py"


def card(hit: ArticleHit) -> None:
    """One found article: marked as one, its title, similarity, language and category, symptoms, cause and fix."""
    article, version = hit.entry.article, hit.entry.version
    with st.container(border=True, key=f"article_card_{article.id}"):
        head, score = st.columns([5, 1])
        head.markdown(f":material/menu_book: **{t('article_marker', id=article.id)}** · {md(version.title)}")
        score.progress(max(hit.similarity, 0.0), text=t("similarity", value=f"{hit.similarity:.2f}"))
        parts = (LANGUAGES.get(article.language, article.language), article.category or t("no_category"))
        st.caption(" · ".join(md(p) for p in parts) + " · " + t("article_version_n", number=version.number))
        if version.cause:
            st.markdown(f"**{t('article_cause')}**")
            st.text(version.cause)
        st.markdown(f"**{t('article_fix')}**")
        st.text(version.fix)
        with st.expander(t("article_symptoms")):
            st.text(version.symptoms)
        st.page_link(ARTICLES_PAGE, label=t("article_open", id=article.id), query_params={"id": article.id})


def triage_section(ws: Workspace, report: str) -> None:
    """The published articles like the report, above the similar cases."""
    hits = remembered("triage_articles", (report, tuple(ws.kb.published_keys())), lambda: similar_articles(ws, report))
    if not hits:
        return
    st.subheader(t("articles_for_report"))
    for hit in hits:
        card(hit)


def search_results(ws: Workspace, query: str, cases: Sequence[FoldedCase], where: CaseFilter) -> None:
    """The similar resolved cases with the articles like the query among them (in the categories filtered on)."""
    found = search_with_articles(ws, query, cases, categories=where.categories)
    if not found:
        st.info(t("no_resolved_match"))
    for entry in found:
        if isinstance(entry, ArticleHit):
            card(entry)
        else:
            case_card(entry.lead, entry=entry)
