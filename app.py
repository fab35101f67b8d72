"""The Streamlit entry point: page setup, navigation and the shared sidebar. Run with `make run`."""

from __future__ import annotations

import streamlit as st

from app_pages.common import sidebar

st.set_page_config(page_title="incident-kb", page_icon=":material/support_agent:", layout="wide")
page = st.navigation(
    [
        st.Page("app_pages/triage.py", title="Triage", icon=":material/assignment_turned_in:", default=True),
        st.Page("app_pages/search.py", title="Search", icon=":material/search:"),
        st.Page("app_pages/case.py", title="Case", icon=":material/description:"),
    ]
)
sidebar()
page.run()
