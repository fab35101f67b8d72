"""Suggestion quality, for leads: how the stored suggestions fared with the agents, per target, class and week,
the confusion matrix, and the overrides with their reasons (newest first, each one click from its case)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import current_reviewer, md, percent_column, value_label, workspace
from app_pages.i18n import t
from pipeline.review.suggestion_quality import NOT_SURE, quality_report
from pipeline.triage.targets import SUGGESTED

OVERRIDES_LISTED = 20

st.title(t("quality_title"))
current_reviewer()
ws = workspace()
report = quality_report(ws.kb)
if report.suggestions.empty:
    st.info(t("no_suggestions_yet"))
    st.stop()
target = st.segmented_control(
    t("target"), SUGGESTED, format_func=t, default=SUGGESTED[0], required=True, key="quality_target"
)


def percent(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"


overall = report.figures(target)
for column, (label, value, help_key) in zip(
    st.columns(5),
    (
        (t("suggestions_made"), f"{overall.suggestions}", None),
        (t("coverage"), percent(overall.coverage), "coverage_help"),
        (t("precision"), percent(overall.precision), "precision_help"),
        (t("acceptance_rate"), percent(overall.acceptance_rate), "acceptance_help"),
        (t("override_rate"), percent(overall.override_rate), None),
    ),
    strict=True,
):
    column.metric(label, value, help=t(help_key) if help_key else None)
st.caption(t("quality_definitions"))

st.markdown(f"#### {t('by_week')}")
weekly = report.by_week[report.by_week["target"] == target]
figures = {"coverage": t("coverage"), "precision": t("precision"), "acceptance_rate": t("acceptance_rate")}
long = weekly.melt(id_vars=["week"], value_vars=list(figures), var_name="figure", value_name="value").dropna()
long["figure"] = long["figure"].map(figures)
st.altair_chart(
    alt.Chart(long)
    .mark_line(point=True)
    .encode(
        x=alt.X("week:T", title=t("week"), axis=alt.Axis(format="%Y-%m-%d")),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("figure:N", title=None),
        tooltip=["week:T", "figure:N", alt.Tooltip("value:Q", format=".0%")],
    ),
    width="stretch",
)

st.markdown(f"#### {t('by_class')}")
classes = report.by_class[report.by_class["target"] == target].drop(columns="target")
st.dataframe(
    classes,
    hide_index=True,
    width="stretch",
    column_config={
        "class": t("class"),
        "suggestions": t("suggestions_made"),
        "sure": t("sure"),
        "coverage": percent_column("coverage"),
        "accepted": t("accepted"),
        "overridden": t("overridden"),
        "acceptance_rate": percent_column("accepted_share"),
        "override_rate": percent_column("overridden_share"),
        "judged": st.column_config.NumberColumn(t("judged"), help=t("judged_help")),
        "precision": percent_column("precision"),
    },
)

st.markdown(f"#### {t('confusion_matrix')}")
st.caption(t("confusion_help", not_sure=t("not_sure")))
confusion = report.confusion(target).rename(columns={NOT_SURE: t("not_sure")})
confusion = confusion.rename(index=lambda v: value_label(target, v), columns=lambda v: value_label(target, v))
st.dataframe(confusion.rename_axis(index=t("axis_outcome"), columns=t("axis_suggested")), width="stretch")

st.markdown(f"#### {t('overrides')}")
overrides = report.overrides[report.overrides["target"] == target]
if overrides.empty:
    st.caption(t("no_overrides"))
for row in overrides.head(OVERRIDES_LISTED).itertuples():
    with st.container(border=True, key=f"override_{row.incident_id}_{row.target}"):
        suggested = row.value if isinstance(row.value, str) else t("not_sure_best", best=row.best)
        st.markdown(
            t(
                "override_line",
                id=row.incident_id,
                title=md(row.title),
                suggested=md(suggested),
                final=md(row.final_value),
                by=md(row.decided_by),
                at=f"{row.decided_at:%Y-%m-%d %H:%M}",
            )
        )
        st.text(row.reason or "")
        st.page_link(
            "app_pages/case.py", label=t("open_case", id=row.incident_id), query_params={"id": row.incident_id}
        )
if len(overrides) > OVERRIDES_LISTED:
    st.caption(t("more_overrides", n=len(overrides) - OVERRIDES_LISTED))
    more = overrides.iloc[OVERRIDES_LISTED:]
    st.dataframe(
        more.assign(target=more["target"].map(t)),
        hide_index=True,
        width="stretch",
        column_config={
            "decided_at": st.column_config.DatetimeColumn(t("when_utc"), format="YYYY-MM-DD HH:mm"),
            "incident_id": st.column_config.NumberColumn("#", format="%d"),
            "title": t("title"),
            "target": t("target"),
            "value": t("axis_suggested"),
            "best": t("best_guess"),
            "final_value": t("decided_value"),
            "reason": t("reason"),
            "decided_by": t("who"),
        },
    )
