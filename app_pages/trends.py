"""Incident trends, for leads: the main charts of notebooks/kb_trends.ipynb (volumes by category per week, time to
resolve by priority, escalation by category and level, targets met) and the recurring problems of a period, with
Japanese and English reports side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import trends_problems
from app_pages.background import from_worker
from app_pages.common import case_table, hours, level_label, md, period_input, remembered, review_page, status_label
from app_pages.i18n import LANGUAGES, t
from kb.vocab import ESCALATION_LEVELS
from pipeline.review import analysis
from pipeline.review.problems import PeriodTooLong, check_period

_, ws = review_page("trends_title")
since, until = period_input("trends_period")
report = analysis.Analysis(ws.kb, ws.settings)
stats = ws.kb.stats()  # what a change to the knowledge base moves, so the figures are computed again
with st.spinner(t("trends_loading")):
    incidents = remembered(
        "trends",
        (since, until, ws.kb.corpus_version(), stats.incidents, stats.resolved, stats.handoffs),
        lambda: report.incidents(since, until),
    )
if incidents.empty:
    st.info(t("no_incidents_in_period"))
    trends_problems.open_problems(ws)  # they wait whatever the period
    st.stop()

met = report.targets_met(incidents)
resolved = incidents[incidents["hours_to_resolve"].notna()]
glance = analysis.headline(incidents, met["resolution"])
for column, (label, value, shown) in zip(
    st.columns(4),
    (
        (t("incidents_opened"), glance.cases, "{:,}".format),
        (t("median_hours_to_resolve"), glance.median_hours_to_resolve, hours),
        (t("escalated_share"), glance.escalated_share, "{:.0%}".format),
        (t("resolution_target_met"), glance.resolved_within_target, "{:.0%}".format),
    ),
    strict=True,
):
    column.metric(label, "—" if value is None else shown(value))

st.markdown(f"#### {t('weekly_volumes')}")
weekly = pd.concat(
    {lang: analysis.weekly_counts(cases, by="category").stack() for lang, cases in incidents.groupby("language")},
    names=["language", "week", "category"],
).rename("reports")
st.altair_chart(
    alt.Chart(weekly.reset_index())
    .mark_area()
    .encode(
        x=alt.X("week:T", title=t("week")),
        y=alt.Y("reports:Q", stack=True, title=t("new_reports")),
        color=alt.Color("category:N", title=t("category")),
        column=alt.Column("language:N", title=None),
        tooltip=["week:T", "category:N", "reports:Q"],
    )
    .properties(width=330, height=240),
)
st.caption(t("weekly_volumes_help"))

left, right = st.columns(2)
with left:
    st.markdown(f"#### {t('time_to_resolve_by_priority')}")
    st.altair_chart(
        alt.Chart(resolved[["priority", "language", "hours_to_resolve"]].dropna())
        .mark_boxplot(extent=1.5, outliers=False)
        .encode(
            x=alt.X("priority:N", title=t("priority")),
            xOffset="language:N",
            y=alt.Y("hours_to_resolve:Q", scale=alt.Scale(type="log"), title=t("hours_to_resolve")),
            color=alt.Color("language:N", title=t("language")),
        ),
        width="stretch",
    )
    st.caption(t("time_to_resolve_help"))
with right:
    st.markdown(f"#### {t('targets_met_by_priority')}")
    stages = {"first response": t("stage_first_response"), "resolution": t("stage_resolution")}
    shares = pd.concat({label: met[stage]["share"] for stage, label in stages.items()}, names=["stage"])
    st.altair_chart(
        alt.Chart(shares.rename("share").reset_index().dropna())
        .mark_bar()
        .encode(
            x=alt.X("priority:N", title=t("priority")),
            xOffset="stage:N",
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title=t("within_target")),
            color=alt.Color("stage:N", title=None),
            tooltip=["priority:N", "stage:N", alt.Tooltip("share:Q", format=".0%")],
        ),
        width="stretch",
    )
    st.caption(t("targets_help"))

st.markdown(f"#### {t('escalation_by_category')}")
rates = analysis.escalation_rates(incidents, by="category")
labels = [level_label(level) for level in ESCALATION_LEVELS]
levels = rates[list(ESCALATION_LEVELS)].set_axis(labels, axis=1).stack().rename("share").reset_index()
levels.columns = ["category", "level", "share"]
levels["rank"] = levels["level"].map(labels.index)  # none first, then L1, L2, L3
st.altair_chart(
    alt.Chart(levels)
    .mark_bar()
    .encode(
        x=alt.X("share:Q", stack="normalize", axis=alt.Axis(format="%"), title=t("share_of_cases")),
        y=alt.Y("category:N", sort=list(rates.index), title=None),
        color=alt.Color(
            "level:N",
            scale=alt.Scale(domain=labels, range=["#c7d2dd", "#8fb3d9", "#4a7fb5", "#1f3f66"]),
            title=t("final_level"),
        ),
        order=alt.Order("rank:Q"),
        tooltip=["category:N", "level:N", alt.Tooltip("share:Q", format=".0%")],
    ),
    width="stretch",
)
st.caption(t("escalated_by_language"))
by_language = analysis.escalation_rates(incidents, by=["category", "language"])["escalated"].unstack("language")
st.dataframe(
    by_language.reindex(rates.index),
    width="stretch",
    column_config={lang: st.column_config.ProgressColumn(lang, format="percent") for lang in by_language.columns},
)

trends_problems.open_problems(ws)
st.markdown(f"#### {t('recurring_problems')}")
st.caption(t("recurring_problems_help", similarity=ws.settings.problem_similarity))
try:
    check_period(ws, since, until)
except PeriodTooLong as exc:
    st.warning(t(exc.phrase))
    st.stop()
if until is None:  # the range is being picked: not a report to ask the worker for
    st.stop()
problems = from_worker(
    "problems",
    {"since": since, "until": until},
    (ws.kb.corpus_version(), stats.incidents, ws.settings.problem_similarity),
)
if problems is None:  # the worker's first one is on its way
    st.stop()
if not problems:
    st.info(t("no_recurring_problems"))
for number, problem in enumerate(problems):
    languages = ", ".join(f"{n} {LANGUAGES.get(lang, lang)}" for lang, n in problem.languages.items())
    heading = f"**{md(problem.label)}** — {t('reports_count', n=problem.size)} ({languages})"
    with st.expander(heading, expanded=number == 0):
        cases = problem.cases.assign(
            language=problem.cases["language"].map(lambda lang: LANGUAGES.get(lang, lang)),
            status=problem.cases["status"].map(lambda status: status_label(ws, status)),
        )
        case_table(
            cases,
            f"problem_{number}",
            ("id",),
            {
                "title": st.column_config.TextColumn(t("title"), width="large"),
                "language": t("language"),
                "category": t("category"),
                "status": t("status"),
                "created_at": st.column_config.DatetimeColumn(t("opened"), format="YYYY-MM-DD HH:mm"),
            },
        )
        trends_problems.offer(ws, number, problem.label, problem.cases["id"].tolist())
