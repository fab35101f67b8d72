"""Escalation review, for leads: time from intake to escalation, the level that finally resolved each case, how
often each criterion was ticked, escalations that came back down, escalations a similar case resolved without
escalation had shown to be avoidable (candidates for training or a knowledge article), and escalations too late or
too early per agent and per category, with the cases. Exportable as CSV."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.background import from_worker
from app_pages.common import case_table, hours, level_label, percent_column, period_input, review_page
from app_pages.i18n import t

LEVEL_COLUMNS = ("first_level", "peak_level", "final_level")

_, ws = review_page("escalations_title")
since, until = period_input("esc_period")
if until is None:  # the range is being picked: not a report to ask the worker for
    st.stop()
# As of the cases, their hand-offs, and what "too late" is measured by: the share of the resolution target, the
# targets and the business calendars (a change to any of them asks for a new report at once).
clock = (ws.settings.resolution_targets_hours, ws.settings.sla.model_dump(mode="json"))
as_of = (ws.kb.corpus_version(), ws.kb.stats().handoffs, ws.settings.drills.too_late_share, *clock)
review = from_worker("escalations", {"since": since, "until": until}, as_of)
if review is None:  # the worker's first one is on its way
    st.stop()
cases = review.cases
if cases.empty:
    st.info(t("no_escalations"))
    st.stop()

summary = review.summary
for column, (label, value) in zip(
    st.columns(6),
    (
        (t("escalated_cases"), f"{summary.cases:,}"),
        (t("median_hours"), hours(summary.median_hours)),
        (t("came_back_down"), f"{summary.came_back_down:,}"),
        (t("avoidable"), f"{summary.avoidable:,}"),
        (t("drills_too_late"), f"{summary.too_late:,}"),
        (t("drills_too_early"), f"{summary.too_early:,}"),
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

st.markdown(f"#### {t('drills_timing_title')}")
st.caption(t("drills_timing_help", share=ws.settings.drills.too_late_share))
timing_columns = {
    "escalations": st.column_config.NumberColumn(t("escalations")),
    "too_late": st.column_config.NumberColumn(t("drills_too_late")),
    "too_early": st.column_config.NumberColumn(t("drills_too_early")),
    "share_too_late": percent_column("drills_share_too_late"),
    "share_too_early": percent_column("drills_share_too_early"),
}


def timing_table(frame: pd.DataFrame, column: str, label: str, key: str) -> pd.DataFrame:
    """A too late / too early table; the row picked, if any (the table of cases below shows its cases)."""
    named = frame.assign(**{column: frame[column].astype(object).fillna(t("no_category"))})
    picked = st.dataframe(
        named, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode="single-row",
        column_config={column: label, **timing_columns},
    )  # fmt: skip
    return frame.iloc[picked.selection.rows]


st.markdown(f"##### {t('drills_by_agent')}")
agent = timing_table(review.by_agent, "agent", t("drills_agent"), "esc_by_agent")
st.markdown(f"##### {t('drills_by_category')}")
category = timing_table(review.by_category, "category", t("category"), "esc_by_category")
st.caption(t("drills_pick_row"))
for value, column in [*((v, "escalated_by") for v in agent["agent"]), *((v, "category") for v in category["category"])]:
    cases = cases[cases[column].isna() if pd.isna(value) else cases[column] == value]

st.markdown(f"#### {t('escalated_cases')}")
# Which escalated cases the table lists: all, or those with one flag.
SHOWN = {
    "all": t("show_all"),
    "came_back_down": t("show_came_back_down"),
    "avoidable": t("show_avoidable"),
    "too_late": t("drills_show_too_late"),
    "too_early": t("drills_show_too_early"),
}
show = st.segmented_control(t("show"), list(SHOWN), format_func=SHOWN.get, default="all", required=True, key="esc_show")
flagged = {"avoidable": cases["resolved_without_escalation"].notna()} | {
    k: cases[k].astype(bool) for k in ("came_back_down", "too_late", "too_early")
}
shown = cases if show == "all" else cases[flagged[show]]
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
        "category": t("category"),
        "escalated_by": t("drills_escalated_by"),
        "first_line_hours": st.column_config.NumberColumn(t("drills_first_line_hours"), format="%.1f"),
        "share_of_target": percent_column("drills_share_of_target"),
        "too_late": t("drills_too_late"),
        "too_early": t("drills_too_early"),
    },
)
st.download_button(
    t("export_csv"), review.to_csv(), file_name=f"escalations-{since}-{until}.csv", mime="text/csv", key="esc_csv"
)
