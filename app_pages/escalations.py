"""Escalation review, for leads: time from intake to escalation, the level that finally resolved each case, how
often each criterion was ticked, escalations that came back down, and escalations a similar case resolved without
escalation had shown to be avoidable (candidates for training or a knowledge article). Exportable as CSV."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app_pages.background import from_worker
from app_pages.common import case_table, hours, level_label, period_input, review_page
from app_pages.i18n import t

LEVEL_COLUMNS = ("first_level", "peak_level", "final_level")

_, ws = review_page("escalations_title")
since, until = period_input("esc_period")
if until is None:  # the range is being picked: not a report to ask the worker for
    st.stop()
review = from_worker("escalations", {"since": since, "until": until}, (ws.kb.corpus_version(), ws.kb.stats().handoffs))
if review is None:  # the worker's first one is on its way
    st.stop()
cases = review.cases
if cases.empty:
    st.info(t("no_escalations"))
    st.stop()

summary = review.summary
avoidable = cases["resolved_without_escalation"].notna()
for column, (label, value) in zip(
    st.columns(4),
    (
        (t("escalated_cases"), f"{summary.cases:,}"),
        (t("median_hours"), hours(summary.median_hours)),
        (t("came_back_down"), f"{summary.came_back_down:,}"),
        (t("avoidable"), f"{summary.avoidable:,}"),
    ),
    strict=True,
):
    column.metric(label, value)
st.caption(t("escalations_help", timed=summary.handed_off))

left, right = st.columns(2)
with left:
    st.markdown(f"#### {t('time_to_escalation')}")
    if summary.handed_off:
        st.altair_chart(
            alt.Chart(cases.dropna(subset=["hours_to_escalation"]))
            .mark_bar()
            .encode(
                x=alt.X("hours_to_escalation:Q", bin=alt.Bin(maxbins=20), title=t("hours")),
                y=alt.Y("count():Q", title=t("cases")),
            ),
            width="stretch",
        )
    else:
        st.caption(t("no_handoff_times"))
with right:
    st.markdown(f"#### {t('criteria_ticked')}")
    criteria = review.criteria.assign(criterion=review.criteria["criterion"].map(lambda k: t("criterion_" + k)))
    st.altair_chart(
        alt.Chart(criteria)
        .mark_bar()
        .encode(x=alt.X("ticked:Q", title=t("escalations")), y=alt.Y("criterion:N", title=None, sort="-x")),
        width="stretch",
    )

st.markdown(f"#### {t('first_and_final_level')}")
st.caption(t("first_and_final_help"))
levels = review.levels.rename(index=level_label, columns=level_label)
st.dataframe(levels.rename_axis(index=t("first_level"), columns=t("final_level")), width="stretch")

st.markdown(f"#### {t('escalated_cases')}")
show = st.segmented_control(
    t("show"), ["all", "came_back_down", "avoidable"], format_func=lambda k: t("show_" + k), default="all",
    required=True, key="esc_show",
)  # fmt: skip
shown = (
    cases[cases["came_back_down"]] if show == "came_back_down" else cases[avoidable] if show == "avoidable" else cases
)
levels = {column: shown[column].map(level_label, na_action="ignore") for column in LEVEL_COLUMNS}
shown = shown.assign(
    criteria=shown["criteria"].map(lambda keys: ", ".join(t(f"criterion_short_{k}") for k in keys.split(", ") if k)),
    **levels,
)
case_table(
    shown,
    "esc_table",
    ("incident_id", "resolved_without_escalation"),
    {
        "title": st.column_config.TextColumn(t("title"), width="large"),
        "created_at": st.column_config.DatetimeColumn(t("opened"), format="YYYY-MM-DD HH:mm"),
        "escalated_at": st.column_config.DatetimeColumn(t("escalated_at"), format="YYYY-MM-DD HH:mm"),
        "hours_to_escalation": st.column_config.NumberColumn(t("hours_to_escalation"), format="%.1f"),
        "first_level": t("first_level"),
        "peak_level": t("peak_level"),
        "final_level": t("final_level"),
        "came_back_down": t("came_back_down"),
        "criteria": t("criteria"),
        "resolved_without_escalation": st.column_config.NumberColumn(t("similar_without_escalation"), format="#%d"),
        "similarity": st.column_config.NumberColumn(t("similarity_column"), format="%.2f"),
    },
)
st.download_button(
    t("export_csv"), review.to_csv(), file_name=f"escalations-{since}-{until}.csv", mime="text/csv", key="esc_csv"
)
