"""Model versions, for leads: retrain from the page, compare the new version with the active one on the same
held-out cases (figures side by side, the classes that got better or worse), activate or discard it, and roll
back to any earlier version."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.background import follow, from_worker
from app_pages.common import act, md, review_page
from app_pages.i18n import t
from kb import JobRecord
from pipeline import jobs
from pipeline.triage.training import HeldOut
from pipeline.triage.versions import FIGURES, discard_version, version_metrics

user, ws = review_page("models_title")
# The training this browser session asked the worker for.
TRAININGS = "models_training_jobs"


def label(v) -> str:
    mark = " ★" if v.active else ""
    return f"v{v.id}{mark} · {v.created_at:%Y-%m-%d %H:%M} · {v.n_train:,} {t('cases')}"


versions = ws.kb.model_versions()
usable = [v for v in versions if v.discarded_at is None]
active = next((v for v in versions if v.active), None)
st.dataframe(
    pd.DataFrame(
        [
            {
                t("version"): f"v{v.id}",
                t("active"): v.active,
                t("when_utc"): v.created_at,
                t("training_cases"): v.n_train,
                t("embedding_model"): v.embedding_model,
                **{t(k): m.figures.accuracy for k, m in version_metrics(v).items() if isinstance(m, HeldOut)},
                t("discarded"): v.discarded_at,
            }
            for v in versions
        ]
    ),
    hide_index=True,
    width="stretch",
)

# Training takes minutes: the worker does it, kept as a candidate; this page follows it.
if st.button(t("train_new_version"), key="models_train", type="primary"):
    st.session_state[TRAININGS] = [jobs.enqueue(ws, "train", {"activate": False}, actor=user)]


def show_trained(job: JobRecord) -> None:
    version = job.result["version"]
    st.success(t("trained_candidate_below", version=version))
    if st.session_state.get("models_trained_seen") != job.id:  # the comparison below turns to it, once
        st.session_state["models_trained_seen"] = st.session_state["models_pick"] = version


follow(TRAININGS, show_trained)

if active is None:
    st.info(t("no_active_version"))
candidates = [v.id for v in usable if not v.active]
if active is not None and candidates:
    st.markdown(f"#### {t('compare_versions')}")
    if st.session_state.get("models_pick") not in candidates:
        st.session_state.pop("models_pick", None)  # discarded or activated meanwhile: start from the newest
    candidate = st.selectbox(
        t("candidate"),
        candidates,
        format_func=lambda i: label(next(v for v in versions if v.id == i)),
        key="models_pick",
    )
    comparison = from_worker(
        "comparison",
        {"candidate": candidate, "baseline": active.id},
        (ws.kb.corpus_version(), ws.thresholds().version),
    )
    if comparison is not None:  # otherwise the worker's first one is on its way
        st.caption(t("comparison_help", baseline=active.id, candidate=candidate))
        names = {"baseline": f"v{active.id} ({t('active')})", "candidate": f"v{candidate}"}
        for target, result in comparison.targets.items():
            with st.container(border=True, key=f"compare_{target}"):
                st.markdown(f"**{t(target)}** · {t('held_out_cases', n=result.cases)}")
                figures = result.figures.astype(float)
                figures["change"] = figures["candidate"] - figures["baseline"]
                figures = figures.rename(
                    columns={**names, "change": t("change")}, index={f: t("figure_" + f) for f in FIGURES}
                )
                st.dataframe(figures.style.format("{:.1%}", na_rep="—"), width="stretch")
                changed = result.classes[result.classes["verdict"] != "same"]
                for verdict in ("better", "worse"):
                    names_changed = changed.loc[changed["verdict"] == verdict, "class"].tolist()
                    if names_changed:
                        st.markdown(t("classes_" + verdict, classes=md(", ".join(names_changed))))
                with st.expander(t("per_class")):
                    st.dataframe(
                        result.classes.assign(verdict=result.classes["verdict"].map(lambda v: t("verdict_" + v))),
                        hide_index=True,
                        width="stretch",
                        column_config={
                            "class": t("class"),
                            "support": t("support"),
                            "baseline_f1": st.column_config.NumberColumn(names["baseline"] + " F1", format="%.3f"),
                            "candidate_f1": st.column_config.NumberColumn(names["candidate"] + " F1", format="%.3f"),
                            "change": st.column_config.NumberColumn(t("change"), format="%+.3f"),
                            "verdict": t("verdict"),
                        },
                    )
    use, drop = st.columns(2)
    if use.button(t("activate_version", version=candidate), key="models_activate", type="primary"):
        act(ws.activate, candidate)
    if drop.button(t("discard_version", version=candidate), key="models_discard"):
        act(discard_version, ws.kb, candidate)

st.markdown(f"#### {t('roll_back')}")
earlier = [v.id for v in usable if not v.active]
if not earlier:
    st.caption(t("no_earlier_versions"))
    st.stop()
pick, go = st.columns([3, 1], vertical_alignment="bottom")
version = pick.selectbox(
    t("version"),
    earlier,
    index=None,
    placeholder=t("choose"),
    format_func=lambda i: label(next(v for v in versions if v.id == i)),
    key="models_rollback",
)
if go.button(t("activate"), key="models_rollback_go", disabled=version is None):
    act(ws.activate, version)
