"""Requesters' satisfaction, for leads: the one-question ratings sent with resolution notices, per agent and per
category, and the comments (shown as typed, never as markup)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import md, percent_column, period_input, review_page
from app_pages.i18n import t
from pipeline.review.satisfaction import SatisfactionRow, satisfaction


def frame(rows: list[SatisfactionRow], none_label: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": row.name or none_label,
                "asked": row.asked,
                "answered": row.answered,
                "good": row.good,
                "bad": row.bad,
                "good_share": row.good_share,
            }
            for row in rows
        ],
        columns=["name", "asked", "answered", "good", "bad", "good_share"],
    )


user, ws = review_page("desk_satisfaction_title")
since, until = period_input("satisfaction_period", days=90)
report = satisfaction(ws, actor=user, since=since, until=until)
overall = report.overall
for column, (label, value) in zip(
    st.columns(4),
    (
        (t("desk_rating_asked"), f"{overall.asked:,}"),
        (t("desk_rating_answered"), f"{overall.answered:,}"),
        (t("desk_rating_answer_rate"), "—" if overall.answer_rate is None else f"{overall.answer_rate:.0%}"),
        (t("desk_rating_good_share"), "—" if overall.good_share is None else f"{overall.good_share:.0%}"),
    ),
    strict=True,
):
    column.metric(label, value)
if not overall.asked:
    st.info(t("desk_rating_none_yet"))
    st.stop()

counts = {
    "asked": t("desk_rating_asked"),
    "answered": t("desk_rating_answered"),
    "good": t("desk_rating_good"),
    "bad": t("desk_rating_bad"),
    "good_share": percent_column("desk_rating_good_share"),
}
by_agent, by_category = st.columns(2)
with by_agent:
    st.markdown(f"#### {t('desk_rating_by_agent')}")
    st.dataframe(frame(report.by_agent, t("unassigned")), hide_index=True, width="stretch", key="satisfaction_agents",
                 column_config={"name": t("owner"), **counts})  # fmt: skip
with by_category:
    st.markdown(f"#### {t('desk_rating_by_category')}")
    st.dataframe(frame(report.by_category, "—"), hide_index=True, width="stretch", key="satisfaction_categories",
                 column_config={"name": t("category"), **counts})  # fmt: skip

st.markdown(f"#### {t('desk_rating_comments')}")
if not report.comments:
    st.caption(t("desk_rating_no_comments"))
for rating in report.comments:
    with st.container(border=True):
        st.caption(
            f"#{rating.incident_id} · {t(f'desk_rating_{rating.score}')} · {rating.answered_at:%Y-%m-%d %H:%M}"
            + (f" · {md(rating.agent)}" if rating.agent else "")
        )
        st.text(rating.comment)
        st.page_link("app_pages/case.py", label=t("open_case", id=rating.incident_id),
                     query_params={"id": rating.incident_id})  # fmt: skip
