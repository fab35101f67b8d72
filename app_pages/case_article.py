"""The case page's parts about knowledge articles: on the reply form, the articles like the case, whose fix one
click puts into the reply; on a resolved case, the articles drafted from it and "Draft an article"."""

from __future__ import annotations

import streamlit as st

from app_pages.article_cards import ARTICLES_PAGE
from app_pages.common import REFUSALS, current_user, md, refuse, remembered
from app_pages.i18n import LANGUAGES, t
from kb import IncidentRecord
from kb.vocab import RESOLVED_STATUSES
from pipeline import Workspace
from pipeline.knowledge import articles
from pipeline.knowledge.article_search import similar_articles

REPLY_BODY = "reply_body"  # the reply box of the conversation tab


def _insert(fix: str) -> None:
    """Add an article's fix to the reply being written, after what is there."""
    st.session_state[REPLY_BODY] = f"{st.session_state.get(REPLY_BODY, '').rstrip()}\n\n{fix}".strip()


def offer_in_reply(ws: Workspace, incident: IncidentRecord) -> None:
    """A choice of the published articles like the case; the chosen one's fix goes into the reply."""
    depends = (incident.id, incident.title, incident.body, tuple(ws.kb.published_keys()))
    hits = remembered("case_articles", depends, lambda: similar_articles(ws, incident))
    if not hits:
        return
    by_id = {hit.entry.article.id: hit for hit in hits}
    chosen = st.selectbox(
        t("article_offer"),
        list(by_id),
        format_func=lambda i: t(
            "article_option",
            id=i,
            title=by_id[i].entry.version.title,
            similarity=f"{by_id[i].similarity:.2f}",
        ),
        index=None,
        placeholder=t("choose"),
        key="reply_article",
    )
    st.button(
        t("article_insert_fix"),
        key="reply_article_insert",
        disabled=chosen is None,
        on_click=_insert,
        args=(by_id[chosen].entry.version.fix if chosen is not None else "",),
    )


def draft_section(ws: Workspace, incident: IncidentRecord) -> None:
    """On a resolved case: the articles drafted from it, and a new draft in the language chosen."""
    if incident.status not in RESOLVED_STATUSES:
        return
    st.markdown(f"#### {t('article_from_case')}")
    for entry in articles.from_case(ws, incident.id):
        label = t("article_link", id=entry.article.id, title=md(entry.version.title))
        st.page_link(ARTICLES_PAGE, label=label, query_params={"id": entry.article.id})
    language, button = st.columns([2, 1], vertical_alignment="bottom")
    chosen = language.selectbox(
        t("article_language"),
        list(LANGUAGES),
        index=list(LANGUAGES).index(incident.language) if incident.language in LANGUAGES else 0,
        format_func=LANGUAGES.get,
        key="case_article_language",
    )
    if button.button(t("article_draft"), key="case_article_draft", icon=":material/edit_note:"):
        try:
            record = articles.draft_from_case(ws, incident.id, actor=current_user(), language=chosen)
        except REFUSALS as exc:
            refuse(exc)
        else:
            st.switch_page(ARTICLES_PAGE, query_params={"id": record.id})
