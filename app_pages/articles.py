"""Articles: the knowledge base's reviewed answers. The list by status and language; one article with its
versions (any one shown), its editor (each save a new version), and the moves the reader's role allows: an agent
submits a draft for review, a lead publishes it, sends it back or retires it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.article_cards import ARTICLES_PAGE
from app_pages.common import act, current_user, md, picked_rows, ready_workspace
from app_pages.i18n import LANGUAGES, t
from kb.articles import ARTICLE_STATUSES, ArticleNotFound, ArticleText
from pipeline import Workspace
from pipeline.access import Account
from pipeline.knowledge import articles


def article_list(ws: Workspace) -> None:
    """Every article by status and language, most recently changed first; a selected row opens."""
    left, right = st.columns(2)
    statuses = left.multiselect(
        t("status"),
        ARTICLE_STATUSES,
        format_func=lambda s: t(f"article_status_{s}"),
        placeholder=t("choose"),
        key="articles_statuses",
    )
    languages = right.multiselect(
        t("article_language"), list(LANGUAGES), format_func=LANGUAGES.get, placeholder=t("choose"), key="articles_langs"
    )
    entries = articles.listing(ws, statuses=tuple(statuses), languages=tuple(languages))
    if not entries:
        st.info(t("articles_none"))
        return
    frame = pd.DataFrame(
        [
            {
                "id": e.article.id,
                "title": e.version.title,
                "status": t(f"article_status_{e.article.status}"),
                "language": LANGUAGES.get(e.article.language, e.article.language),
                "category": e.article.category or "",
                "version": e.article.current_version,
                "published": e.article.published_version,
                "updated_at": e.article.updated_at,
            }
            for e in entries
        ]
    )
    picked = picked_rows(
        frame,
        "articles_table",
        {
            "id": st.column_config.NumberColumn("#", format="%d"),
            "title": st.column_config.TextColumn(t("article_title"), width="medium"),
            "status": t("status"),
            "language": t("article_lang"),
            "category": t("category"),
            "version": st.column_config.NumberColumn(t("article_current_version"), format="%d"),
            "published": st.column_config.NumberColumn(t("article_published_version"), format="%d"),
            "updated_at": st.column_config.DatetimeColumn(t("article_updated"), format="YYYY-MM-DD HH:mm"),
        },
    )
    for row in picked:
        article_id = int(frame.iloc[row]["id"])
        st.page_link(ARTICLES_PAGE, label=t("article_open", id=article_id), query_params={"id": article_id})


def show_version(ws: Workspace, article_id: int, current: int) -> None:
    """One saved version, the newest unless another is picked, each part as typed."""
    saved = articles.versions(ws, article_id)
    number = st.selectbox(
        t("article_versions", n=len(saved)),
        [v.number for v in saved],
        format_func=lambda n: t(
            "article_version_line",
            number=n,
            by=next(v.edited_by for v in saved if v.number == n),
            at=f"{next(v.edited_at for v in saved if v.number == n):%Y-%m-%d %H:%M}",
        ),
        key=f"article_version_{article_id}_{current}",
    )
    version = next(v for v in saved if v.number == number)
    with st.container(border=True, key="article_text"):
        st.markdown(f"### {md(version.title)}")
        for part in ("symptoms", "cause", "fix"):
            st.markdown(f"**{t('article_' + part)}**")
            st.text(getattr(version, part) or "—")


def editor(ws: Workspace, article_id: int, current: int, seen: int) -> None:
    """The newest version in a form; saving makes the next version (refused if someone saved one since)."""
    newest = ws.kb.article_version(article_id, current)
    limit = ws.settings.articles.max_chars
    with st.form(f"article_form_{article_id}"):
        key = f"{article_id}_{current}"  # fields start from the newest text after each save
        title = st.text_input(t("article_title"), value=newest.title, max_chars=limit, key=f"article_edit_title_{key}")
        parts = {
            part: st.text_area(
                t("article_" + part), value=getattr(newest, part), height=140, key=f"article_edit_{part}_{key}"
            )
            for part in ("symptoms", "cause", "fix")
        }
        if st.form_submit_button(t("article_save"), type="primary", key="article_save"):
            act(articles.save, ws, article_id, ArticleText(title=title, **parts), version=seen)


def one_article(ws: Workspace, user: Account, article_id: int) -> None:
    """An article: what it is, its moves, its versions and its editor."""
    try:
        entry = articles.entry(ws, article_id)
    except ArticleNotFound as exc:
        st.warning(t(exc.phrase))
        return
    article = entry.article
    # The version this page showed before the click being handled now; the next click is checked against it.
    seen_key = f"article_seen_{article_id}"
    seen = st.session_state.get(seen_key, article.current_version)
    st.session_state[seen_key] = article.current_version

    st.subheader(f"{t('article_marker', id=article.id)} · {md(entry.version.title)}")
    facts = [
        t(f"article_status_{article.status}"),
        md(LANGUAGES.get(article.language, article.language)),
        md(article.category or t("no_category")),
        t("article_version_n", number=article.current_version),
    ]
    if article.published_version is not None:
        at = f"{article.published_at:%Y-%m-%d %H:%M}"
        facts.append(t("article_published_line", number=article.published_version, by=md(article.published_by), at=at))
    st.caption(" · ".join(facts))
    if article.source_incident_id is not None:
        case_id = article.source_incident_id
        st.page_link("app_pages/case.py", label=t("article_source_case", id=case_id), query_params={"id": case_id})
    moves = articles.moves_for(article, user)
    for column, name in zip(st.columns(max(len(moves), 1)), moves, strict=False):
        if column.button(
            t(f"article_move_{name}"), key=f"article_{name}", type="primary" if name == "publish" else "secondary"
        ):
            act(articles.move, ws, article_id, name, version=seen)
    show_version(ws, article_id, article.current_version)
    if article.status != "retired":
        st.markdown(f"#### {t('article_edit')}")
        st.caption(t("article_edit_help"))
        editor(ws, article_id, article.current_version, seen)


st.title(t("articles_title"))
st.caption(t("articles_help"))
ws = ready_workspace()
user = current_user()
chosen = st.query_params.get("id", "")
if chosen.isdigit():
    if st.button(t("articles_all"), icon=":material/arrow_back:", key="articles_all"):
        st.query_params.clear()
        st.rerun()
    one_article(ws, user, int(chosen))
else:
    article_list(ws)
