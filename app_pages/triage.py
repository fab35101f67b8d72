"""Triage: paste a report; get category, priority and escalation level with confidence and reasons, the escalation
checklist, and the similar resolved incidents behind the suggestions."""

from __future__ import annotations

import streamlit as st

from app_pages import article_cards, triage_problems
from app_pages.background import follow
from app_pages.common import case_card, current_user, duplicate_banners, level_label, md, ready_workspace, remembered
from app_pages.i18n import t, t_all
from kb import JobRecord
from pipeline import access, jobs
from pipeline.settings import CRITERIA
from pipeline.text import ReportError
from pipeline.triage.suggest import Suggestion, with_ticks
from pipeline.triage.training import SuggestionModelUnavailable

CRITERION_KEY = "criterion_{}"
# The training this browser session asked the worker for, when there was no model to suggest with.
TRAININGS = "triage_training_jobs"

st.session_state.setdefault("triage_text", None)

st.title(t("triage_title"))
st.caption(t("triage_help"))

ws = ready_workspace()
if ws.kb.count_resolved() == 0:
    st.warning(t("no_resolved_yet"))
    st.stop()

with st.form("triage_form"):
    report = st.text_area(
        t("report"),
        key="triage_report",
        height=160,
        max_chars=ws.settings.max_report_chars,
        placeholder=t("report_placeholder"),
    )
    k = st.slider(t("similar_to_show"), 1, 30, ws.settings.search_top_k, key="triage_k")
    submitted = st.form_submit_button(t("suggest"), type="primary", key="triage_submit")

if submitted:
    st.session_state["triage_text"] = report
    for key in CRITERIA:
        st.session_state.pop(CRITERION_KEY.format(key), None)  # a new report starts from the proposals

text = st.session_state["triage_text"]
if text is None:
    st.stop()


def show_trained(job: JobRecord) -> None:
    """A model the worker trained because this page had none to use: in use at once if it is the first."""
    record = ws.kb.model_version(job.result["version"])
    if record.active:  # the next run of the page suggests with it
        st.success(t("trained", version=record.id, n=f"{record.n_train:,}"))
        return
    st.success(t("trained_candidate", version=record.id, n=f"{record.n_train:,}"))
    st.page_link("app_pages/models.py", label=t("nav_models"), icon=":material/model_training:")


# Suggestions are computed once per submitted report, and again only when a lead changed the thresholds or the
# active model meanwhile; ticking a criterion only recomputes the level.
active = ws.kb.active_model_version()
try:
    with st.spinner(t("thinking")):
        result = remembered(
            "triage_result",
            (text, k, ws.thresholds().version, active.id if active else None),
            lambda: ws.triage(text, k=k),
        )
except ReportError as exc:
    st.warning(t(exc.phrase))
    st.stop()
except SuggestionModelUnavailable as exc:
    st.warning(t("no_suggestions", error=md(t(exc.phrase))))
    if not access.may_review(current_user()):
        st.info(t("ask_a_lead_to_train"), icon=":material/lock:")
    else:
        if st.button(t("train_now"), key="triage_train"):
            # Only a first model goes into use at once; one that replaces a model in force is a candidate,
            # compared and activated on the Models page. The worker trains it; this page follows.
            st.session_state[TRAININGS] = [
                jobs.enqueue(ws, "train", {"activate": active is None}, actor=current_user())
            ]
        follow(TRAININGS, show_trained)
    st.stop()
if all(CRITERION_KEY.format(key) in st.session_state for key in CRITERIA):
    result = with_ticks(result, {key for key in CRITERIA if st.session_state[CRITERION_KEY.format(key)]})


def label(s: Suggestion, value: str) -> str:
    return level_label(value) if s.target == "escalation_level" else value


def show(s: Suggestion | None, target: str) -> None:
    """One suggestion as a card: the value (or 'not sure' with the candidates), how sure, and why on demand."""
    with st.container(border=True, key=f"suggestion_{target}"):
        st.markdown(f"**{t(target)}**")
        if s is None:
            st.caption(t("no_model_yet"))
            return
        if s.abstained:
            st.markdown(f"### {t('not_sure')}")
            st.caption(" · ".join(f"{md(label(s, value))} {p:.0%}" for value, p in s.candidates))
        else:
            st.markdown(f"### {md(label(s, s.value))}")
            if s.source == "model":
                st.progress(s.confidence, text=t("confident", p=f"{s.confidence:.0%}"))
            else:
                st.caption(t("set_by_rule", rule=t(f"rule_{s.source}")))
        st.caption(md(t_all(s.reasons)))
        with st.expander(t("why")):
            if s.terms:
                st.markdown(t("weighed_most") + " " + ", ".join(f"`{term}`" for term, _ in s.terms))
            if s.supporters:
                st.markdown(t("supporters"))
                for sup in s.supporters[:5]:
                    similarity = t("similarity", value=f"{sup.similarity:.2f}")
                    st.page_link(
                        "app_pages/case.py",
                        label=f"#{sup.incident_id} · {similarity} · {md(sup.label)}",
                        query_params={"id": sup.incident_id},
                    )
            st.caption(
                t("candidates")
                + " "
                + ", ".join(f"{md(label(s, value))} {p:.0%}" for value, p in s.candidates)
                + (" · " + t("suggested_from", p=f"{s.threshold:.0%}") if s.threshold < float("inf") else "")
            )


columns = st.columns(3)
with columns[0]:
    show(result.category, "category")
with columns[1]:
    show(result.priority, "priority")
    if result.impact is not None and result.urgency is not None:
        impact, urgency = (
            t(f"scale_{s.value}") if s.value else t("not_sure_best", best=t(f"scale_{s.best}"))
            for s in (result.impact, result.urgency)
        )
        st.caption(t("impact_urgency", impact=md(impact), urgency=md(urgency)))
with columns[2]:
    show(result.escalation_level, "escalation_level")

st.subheader(t("escalation_checklist"))
st.caption(t("checklist_help"))
for criterion in result.criteria:
    key = CRITERION_KEY.format(criterion.key)
    st.checkbox(
        t("criterion_at_least", criterion=t("criterion_" + criterion.key), level=level_label(criterion.raises_to)),
        value=criterion.ticked,
        key=key,
        help=md(t_all(criterion.reasons)) or None,
    )
    if criterion.proposed:
        st.caption(t("proposed_because", reason=md(t_all(criterion.reasons))))
for note in result.notes:
    st.caption(md(t(note)))
if result.model_version is not None:
    st.caption(t("model_version", version=result.model_version))

duplicate_banners(result.duplicates)
triage_problems.show(ws, result)
article_cards.triage_section(ws, text)

st.subheader(t("similar_resolved"))
if not result.folded:
    st.info(t("nothing_similar"))
for entry in result.folded:
    case_card(entry.lead, entry=entry)
