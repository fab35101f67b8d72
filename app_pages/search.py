"""Search: "have we seen this before?" A free query in Japanese or English, with filters; resolved cases with
their resolutions, and open cases apart, possible duplicates flagged."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages.common import case_card, duplicate_banners, ready_workspace
from kb import CaseFilter
from kb.vocab import PRIORITIES, STATUSES
from pipeline import ReportError

st.title("Search past cases")
st.caption(
    "Ask in Japanese or English; a case written in the other language is found too. Nothing is filed: "
    "use Triage for a new report."
)

ws = ready_workspace()
requesters = dict(ws.kb.requester_names())

with st.form("search_form"):
    query = st.text_input(
        "What happened?", key="search_query", placeholder="例: VPNがつながらない / e.g. printer prints blank pages"
    )
    left, middle, right = st.columns(3)
    categories = left.multiselect("Category", ws.kb.categories(), key="search_categories")
    statuses = middle.multiselect("Status", STATUSES, key="search_statuses", help="Empty: all, resolved and open.")
    priorities = right.multiselect("Priority", PRIORITIES, key="search_priorities")
    left, middle, right = st.columns(3)
    since = left.date_input("Created from", value=None, key="search_since")
    until = middle.date_input("Created until", value=None, key="search_until", max_value=dt.date.today())
    requester = right.selectbox(
        "Requester", list(requesters), format_func=requesters.get, index=None, key="search_requester"
    )
    k = st.slider("Cases to show", 1, 50, ws.settings.search_top_k, key="search_k")
    submitted = st.form_submit_button("Search", type="primary", key="search_submit")

if not query:
    st.stop()
where = CaseFilter(tuple(categories), tuple(statuses), tuple(priorities), since, until, requester)
try:
    with st.spinner("Searching…"):
        result = ws.search(query, k=k, where=where)
except ReportError as exc:
    st.warning(str(exc))
    st.stop()

duplicate_banners(result.duplicates)
resolved_tab, open_tab = st.tabs([f"Resolved cases ({len(result.resolved)})", f"Open cases ({len(result.open)})"])
with resolved_tab:
    if not result.resolved:
        st.info("No resolved case matches: widen the filters or rephrase.")
    for case in result.resolved:
        case_card(case)
with open_tab:
    if not result.open:
        st.info("No open case matches.")
    for case in result.open:
        case_card(case)
