"""Thresholds, for leads: per target and class, precision against coverage on the active model's held-out cases,
and the control that sets the precision target or one class's threshold. Each change is a new version (in the
event log) and holds for the very next suggestion, without a restart."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import act, md, percent_column, review_page
from app_pages.i18n import t
from pipeline.triage.thresholds import change_thresholds, class_table, curves, restore_thresholds, rule_table
from pipeline.triage.training import SuggestionModelUnavailable

_, ws = review_page("thresholds_title")
try:
    models = ws.suggestion_models()
except SuggestionModelUnavailable as exc:
    st.error(md(t(exc.phrase)))
    st.stop()
policy = ws.thresholds()
if policy.version is None:
    st.caption(t("thresholds_default", precision=f"{policy.default_precision:.0%}"))
else:
    current = ws.kb.threshold_policies()[0]
    st.caption(
        t(
            "thresholds_version",
            version=current.id,
            by=md(current.created_by),
            at=f"{current.created_at:%Y-%m-%d %H:%M}",
        )
    )

target = st.segmented_control(
    t("target"), list(models.models), format_func=t, default=next(iter(models.models)), required=True, key="th_target"
)
table = class_table(models, policy, target)
points = table.dropna(subset=["coverage", "precision"])
lines = curves(models, target)
st.markdown(f"#### {t('precision_against_coverage')}")
st.caption(t("curve_help", version=models.version))
chart = alt.Chart(lines).mark_line(interpolate="step-after").encode(
    x=alt.X("coverage:Q", title=t("coverage"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
    y=alt.Y("precision:Q", title=t("precision"), axis=alt.Axis(format="%")),
    color=alt.Color("class:N", title=t("class")),
    tooltip=["class:N", alt.Tooltip("confidence:Q", format=".2f"), alt.Tooltip("coverage:Q", format=".0%"),
             alt.Tooltip("precision:Q", format=".0%"), "suggestions:Q"],
)  # fmt: skip
marks = (
    alt.Chart(points)
    .mark_point(size=90, filled=True, shape="diamond")
    .encode(
        x="coverage:Q", y="precision:Q", color="class:N", tooltip=["class:N", alt.Tooltip("threshold:Q", format=".2f")]
    )
)
st.altair_chart(chart + marks, width="stretch")
st.caption(t("curve_marks"))
st.dataframe(
    table.assign(source=table["source"].map(lambda s: t("threshold_source_" + s))),
    hide_index=True,
    width="stretch",
    column_config={
        "class": t("class"),
        "training_cases": t("training_cases"),
        "threshold": st.column_config.NumberColumn(t("threshold"), format="%.3f"),
        "source": t("threshold_source"),
        "held_out_suggestions": t("held_out_suggestions"),
        "coverage": percent_column("coverage"),
        "precision": percent_column("precision"),
        "decides": st.column_config.CheckboxColumn(t("class_decides"), help=t("class_decides_help")),
    },
)

rules = rule_table(models, policy, ws.settings, target)
if not models.rules and models.holdout:  # trained before the rules were measured: they only propose
    st.caption(t("rules_not_measured", version=models.version))
if not rules.empty:
    st.markdown(f"#### {t('rules_of_target')}")
    st.caption(t("rules_help", precision=f"{policy.precision_for(target):.0%}"))
    st.dataframe(
        rules.assign(rule=rules["rule"].map(lambda r: t(f"rule_{r}"))),
        hide_index=True,
        width="stretch",
        column_config={
            "rule": t("rule"),
            "sets": t("rule_sets"),
            "held_out_cases": t("rule_held_out_cases"),
            "right": t("rule_right"),
            "precision": percent_column("precision"),
            "decides": st.column_config.CheckboxColumn(t("rule_decides")),
        },
    )

st.markdown(f"#### {t('change_thresholds')}")
with st.form("thresholds_form"):
    precision = st.number_input(
        t("precision_target_of", target=t(target)),
        min_value=0.5,
        max_value=0.99,
        step=0.01,
        value=float(policy.precision_for(target)),
        key=f"th_precision_{target}_{policy.version}",
    )
    left, right = st.columns(2)
    label = left.selectbox(
        t("class"), table["class"].tolist(), index=None, placeholder=t("choose"), key=f"th_class_{target}"
    )
    threshold = right.number_input(
        t("class_threshold"),
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        value=None,
        help=t("class_threshold_help"),
        key=f"th_value_{target}_{policy.version}",
    )
    note = st.text_input(t("why_change"), key=f"th_note_{policy.version}")
    if st.form_submit_button(t("save_thresholds"), type="primary", key="th_save"):
        act(
            change_thresholds,
            ws.kb,
            ws.settings,
            precision={target: precision},
            classes={(target, label): threshold} if label is not None else {},
            note=note,
        )
set_here = policy.class_thresholds.get(target, {})
if set_here:
    st.caption(t("set_by_lead", classes=md(", ".join(f"{k} ≥ {v:.2f}" for k, v in sorted(set_here.items())))))

st.markdown(f"#### {t('threshold_history')}")
history = ws.kb.threshold_policies()
if not history:
    st.caption(t("no_threshold_history"))
    st.stop()


def summary(p) -> str:
    precision = ", ".join(f"{t(k)} {v:.0%}" for k, v in p.precision.items())
    classes = ", ".join(f"{t(k)}: {c} ≥ {v:.2f}" for k, cs in p.class_thresholds.items() for c, v in cs.items())
    return "; ".join(part for part in (precision, classes) if part)


st.dataframe(
    pd.DataFrame(
        [
            {
                t("version"): p.id,
                t("when_utc"): p.created_at,
                t("who"): p.created_by,
                t("thresholds_set"): summary(p),
                t("note"): p.note,
            }
            for p in history
        ]
    ),
    hide_index=True,
    width="stretch",
)
older = [p.id for p in history[1:]]
if older:
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    version = pick.selectbox(t("restore_version"), older, index=None, placeholder=t("choose"), key="th_restore")
    if go.button(t("restore"), key="th_restore_go", disabled=version is None):
        act(restore_thresholds, ws.kb, version, note=t("restored_version", version=version))
