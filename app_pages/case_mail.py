"""The case page's part on what became of each reply: sent (when the server accepted it), waiting to be sent,
refused (why, and the next try), failed (why, with "Send again"), or not sent by mail (why)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import act, md
from app_pages.i18n import t
from pipeline import Workspace
from pipeline.channels import deliver


def show(ws: Workspace, state: deliver.ReplyState | None) -> None:
    """One reply's state, under it (nothing for a message that is no reply)."""
    if state is None:
        return
    when = f"{state.at:%Y-%m-%d %H:%M} UTC" if state.at else "—"
    if state.state == "sent":
        st.caption(t("out_sent_at", at=when))
    elif state.state == "waiting":
        st.caption(t("out_waiting"))
    elif state.state == "refused":
        st.warning(md(t("out_refused", why=state.why, at=when)), icon=":material/schedule_send:")
    elif state.state == "failed":
        st.error(md(t("out_failed", why=state.why)), icon=":material/cancel_schedule_send:")
        if st.button(t("out_send_again"), key=f"case_send_again_{state.delivery_id}"):
            act(deliver.send_again, ws, state.delivery_id)
    else:
        st.caption(md(t(state.why)))
