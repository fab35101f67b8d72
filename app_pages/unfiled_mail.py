"""For admins: the mail of the polled mailboxes that could not be filed (it stays in its mailbox, tried again at
every poll), with why, and each mailbox's last poll and problem; "Try again now" and "Dismiss". The pipeline
checks the role whatever the page shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import act, current_user, md, workspace
from app_pages.i18n import t
from pipeline import jobs
from pipeline.access import ADMINS
from pipeline.channels import inbound
from words import Phrase

st.title(t("unfiled_title"))
ws = workspace()
user = current_user()
if user.role not in ADMINS:
    st.info(t("admins_only"))
    st.stop()
if not ws.settings.mail.mailboxes:
    st.info(t("unfiled_no_mailboxes"))
states = inbound.mailbox_states(ws, actor=user)
if states:
    st.markdown(f"#### {t('unfiled_mailboxes')}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("unfiled_mailbox"): s.mailbox,
                    t("unfiled_polled_at"): s.polled_at,
                    t("unfiled_problem"): t(s.error) if s.error else "",
                }
                for s in states
            ]
        ),
        hide_index=True,
        width="stretch",
    )
st.caption(t("unfiled_intro"))
rows = inbound.unfiled(ws, actor=user)
if not rows:
    st.success(t("unfiled_none"))
    st.stop()
st.dataframe(
    pd.DataFrame(
        [
            {
                t("unfiled_mailbox"): r.mailbox,
                t("unfiled_sender"): r.sender,
                t("unfiled_subject"): r.subject,
                t("unfiled_why"): t(Phrase.from_dict(r.reason)),
                t("unfiled_attempts"): r.attempts,
                t("unfiled_first"): r.first_seen_at,
                t("unfiled_last"): r.last_tried_at,
            }
            for r in rows
        ]
    ),
    hide_index=True,
    width="stretch",
)
by_id = {r.id: r for r in rows}
picked = st.selectbox(
    t("unfiled_pick"),
    list(by_id),
    format_func=lambda i: f"{by_id[i].mailbox} · {by_id[i].sender} · {by_id[i].subject}",
    index=None,
    placeholder=t("choose"),
    key="unfiled_pick",
)
if picked is not None:
    again, dismiss = st.columns(2)
    if again.button(t("unfiled_try_again"), key="unfiled_again", type="primary"):
        result = inbound.try_again(ws, picked, actor=user, lock=jobs.queue(ws.settings).huey.lock_task)
        if result is None:
            st.warning(t("unfiled_mailbox_gone"))
        elif result.error is not None:
            st.error(md(t(result.error)))
        else:
            st.success(md(t("unfiled_polled", mailbox=result.mailbox, filed=result.filed, left=result.left)))
    if dismiss.button(t("unfiled_dismiss"), key="unfiled_dismiss"):
        act(inbound.dismiss, ws, picked)
