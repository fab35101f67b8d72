"""Knowledge base health, for leads: resolved cases without a resolution or root cause, near-duplicate entries,
and the categories where the assistant abstains most (where knowledge is missing)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.background import from_worker
from app_pages.common import case_table, percent_column, review_page
from app_pages.i18n import t
from pipeline.review.kb_health import categories_without_articles

_, ws = review_page("health_title")
active = ws.kb.active_model_version()
report = from_worker(
    "health",
    {},
    (ws.kb.corpus_version(), active and active.id, ws.thresholds().version, ws.kb.stats().suggestions),
)
if report is None:  # the worker's first one is on its way
    st.stop()

for column, (label, value) in zip(
    st.columns(3),
    (
        (t("without_resolution"), report.without_resolution),
        (t("without_root_cause"), report.without_root_cause),
        (t("near_duplicate_pairs"), len(report.near_duplicates)),
    ),
    strict=True,
):
    column.metric(label, f"{value:,}")


def case_section(
    title: str, help_text: str, frame: pd.DataFrame, key: str, id_columns: tuple[str, ...], columns: dict
) -> None:
    st.markdown(f"#### {title}")
    st.caption(help_text)
    if frame.empty:
        st.caption(t("none_found"))
    else:
        case_table(frame, key, id_columns, columns)


case_section(
    t("incomplete_cases"),
    t("incomplete_help"),
    report.incomplete,
    "health_incomplete",
    ("incident_id",),
    {
        "title": st.column_config.TextColumn(t("title"), width="large"),
        "resolved_at": st.column_config.DatetimeColumn(t("resolved"), format="YYYY-MM-DD"),
        "no_resolution": t("without_resolution"),
        "no_root_cause": t("without_root_cause"),
    },
)
case_section(
    t("near_duplicates"),
    t("near_duplicates_help", similarity=f"{ws.settings.near_duplicate_similarity:.2f}"),
    report.near_duplicates,
    "health_duplicates",
    ("incident_id", "other_id"),
    {
        "title": st.column_config.TextColumn(t("title"), width="medium"),
        "other_title": st.column_config.TextColumn(t("title"), width="medium"),
        "similarity": st.column_config.NumberColumn(t("similarity_column"), format="%.3f"),
    },
)

st.markdown(f"#### {t('articles_missing')}")
st.caption(t("articles_missing_help", n=ws.settings.articles.health_min_resolved))
missing = categories_without_articles(ws)
if missing.empty:
    st.caption(t("none_found"))
else:
    st.dataframe(
        missing,
        hide_index=True,
        key="health_articles_missing",
        column_config={"category": t("category"), "resolved": t("articles_missing_resolved")},
    )

st.markdown(f"#### {t('abstention_by_category')}")
st.caption(t("abstention_help"))
abstention_columns = {
    "category": t("category"),
    "suggestions": t("suggestions_made"),
    "abstained": t("abstained"),
    "share": percent_column("abstained_share"),
}
held_out, recorded = st.columns(2)
with held_out:
    st.markdown(f"**{t('on_held_out_cases')}**")
    if report.held_out_abstention.empty:
        st.caption(t("none_found"))
    else:
        st.altair_chart(
            alt.Chart(report.held_out_abstention)
            .mark_bar()
            .encode(
                x=alt.X("share:Q", title=t("abstained_share"), axis=alt.Axis(format="%")),
                y=alt.Y("category:N", title=None, sort="-x"),
                tooltip=["category:N", "suggestions:Q", "abstained:Q", alt.Tooltip("share:Q", format=".0%")],
            ),
            width="stretch",
        )
        st.dataframe(report.held_out_abstention, hide_index=True, width="stretch", column_config=abstention_columns)
with recorded:
    st.markdown(f"**{t('at_intake')}**")
    if report.abstention.empty:
        st.caption(t("no_judged_suggestions"))
    else:
        st.dataframe(report.abstention, hide_index=True, width="stretch", column_config=abstention_columns)
st.caption(t("health_settings_hint"))
