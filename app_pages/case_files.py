"""The case page's attachments: each file kept with the case, with its type and size, and a button that saves its
bytes. A file is never shown in the page (not as text, not as an image): it is the sender's, and may be anything."""

from __future__ import annotations

import streamlit as st

from app_pages.common import md
from app_pages.i18n import t
from pipeline import Workspace
from pipeline.access import Account
from pipeline.desk import attachments


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} B"


def show(ws: Workspace, incident_id: int, user: Account) -> None:
    """List the case's files, each with a download button (bytes fetched when it is pressed)."""
    st.markdown(f"#### {t('case_files')}")
    files = attachments.listing(ws, incident_id, actor=user)
    if not files:
        st.caption(t("case_files_none"))
    for f in files:
        line, button = st.columns([4, 1], vertical_alignment="center")
        line.markdown(md(t("case_file_line", name=f.filename, type=f.content_type, size=_size(f.size))))
        button.download_button(
            t("case_file_download"),
            data=lambda a=f.id: attachments.download(ws, a, actor=user).data,
            file_name=f.filename,
            mime="application/octet-stream",  # saved, never opened by the browser in place
            key=f"case_file_{f.id}",
            on_click="ignore",
        )
