"""Search: "have we seen this before?" A free query in Japanese or English, with filters; resolved cases with
their resolutions, and open cases apart, possible duplicates flagged."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages import article_cards
from app_pages.common import case_card, duplicate_banners, ready_workspace, status_label
from app_pages.i18n import t
from kb import CaseFilter
from kb.vocab import PRIORITIES
from pipeline.text import ReportError

st.title(t("search_title"))
st.caption(t("search_help"))

ws = ready_workspace()
requesters = dict(ws.kb.requester_names())

with st.form("search_form"):
    query = st.text_input(t("what_happened"), key="search_query", placeholder=t("search_placeholder"))
    left, middle, right = st.columns(3)
    categories = left.multiselect(t("category"), ws.kb.categories(), placeholder=t("choose"), key="search_categories")
    statuses = middle.multiselect(
        t("status"),
        list(ws.workflow.statuses),
        format_func=lambda s: status_label(ws, s),
        placeholder=t("choose"),
        key="search_statuses",
        help=t("status_filter_help"),
    )
    priorities = right.multiselect(t("priority"), PRIORITIES, placeholder=t("choose"), key="search_priorities")
    left, middle, right = st.columns(3)
    since = left.date_input(t("created_from"), value=None, key="search_since")
    until = middle.date_input(t("created_until"), value=None, key="search_until", max_value=dt.date.today())
    requester = right.selectbox(
        t("requester"),
        list(requesters),
        format_func=requesters.get,
        index=None,
        placeholder=t("choose"),
        key="search_requester",
    )
    k = st.slider(t("cases_to_show"), 1, 50, ws.settings.search_top_k, key="search_k")
    submitted = st.form_submit_button(t("search"), type="primary", key="search_submit")

if not query:
    st.stop()
where = CaseFilter(tuple(categories), tuple(statuses), tuple(priorities), since, until, requester)
try:
    with st.spinner(t("searching")):
        result = ws.search(query, k=k, where=where)
except ReportError as exc:
    st.warning(t(exc.phrase))
    st.stop()

duplicate_banners(result.duplicates)
resolved_tab, open_tab = st.tabs([t("resolved_cases", n=len(result.folded)), t("open_cases", n=len(result.open))])
with resolved_tab:
    article_cards.search_results(ws, query, result.folded, where)  # the articles like the query among the cases
with open_tab:
    if not result.open:
        st.info(t("no_open_match"))
    for case in result.open:
        case_card(case)
