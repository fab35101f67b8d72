"""Escalation drills: an agent reads a past report (its title and text, nothing the desk made of it), chooses the
level and ticks the criteria, and then sees the score and what happened and why. Leads and admins also see each
agent's agreement over time."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app_pages.common import REFUSALS, current_user, level_label, md, percent_column, ready_workspace, refuse
from app_pages.i18n import t, t_all
from kb import IncidentNotFound
from kb.vocab import ESCALATION_LEVELS
from pipeline import access
from pipeline.knowledge.drill_results import drill_results
from pipeline.knowledge.drills import NotADrill, Outcome, answer_drill, pick_drill
from pipeline.settings import CRITERIA

CRITERION_KEY = "drills_criterion_{}"
# The drill on screen (None: draw one), and its outcome once answered.
st.session_state.setdefault("drills_drill", None)
st.session_state.setdefault("drills_outcome", None)

st.title(t("drills_title"))
st.caption(t("drills_help"))
account = current_user()
ws = ready_workspace()


def next_drill() -> None:
    st.session_state["drills_drill"] = None
    st.session_state["drills_outcome"] = None
    st.session_state.pop("drills_level", None)
    for key in CRITERIA:
        st.session_state.pop(CRITERION_KEY.format(key), None)


def outcome(result: Outcome) -> None:
    """The score, then what happened to the case and why."""
    answer = result.answer
    score, level, criteria = st.columns(3)
    score.metric(t("drills_score"), f"{answer.score:.0%}")
    level.metric(t("drills_level_right"), t("drills_yes") if answer.level_right else t("drills_no"))
    criteria.metric(t("drills_criteria_overlap"), f"{answer.criteria_overlap:.0%}")
    resolved_at = level_label(answer.correct_level)
    if answer.level_right:
        st.success(t("drills_right", level=resolved_at), icon=":material/check_circle:")
    else:
        st.error(
            t("drills_wrong", level=resolved_at, chosen=level_label(answer.chosen_level)), icon=":material/cancel:"
        )
    st.markdown(f"#### {t('drills_what_happened')}")
    st.markdown("\n".join(f"- {md(t(said))}" for said in result.what_happened))
    st.markdown(f"#### {t('drills_why')}")
    st.info(t(result.guide), icon=":material/menu_book:")  # the catalogue's words, nothing typed
    if result.criteria:
        for c in result.criteria:
            line = t("criterion_at_least", criterion=t("criterion_" + c.key), level=level_label(c.raises_to))
            ticked = t("drills_you_ticked") if c.key in answer.criteria else t("drills_you_did_not_tick")
            st.markdown(f"- **{md(line)}** ({ticked}): {md(t_all(c.reasons))}")
    else:
        st.caption(t("drills_no_criteria"))
    extra = [c for c in answer.criteria if c not in {e.key for e in result.criteria}]
    if extra:
        st.caption(t("drills_ticked_extra", criteria=", ".join(t("criterion_short_" + c) for c in extra)))
    for label, text in ((t("resolution"), result.resolution), (t("root_cause"), result.root_cause)):
        if text:
            st.markdown(f"**{label}**")
            st.text(text)
    st.button(t("drills_next"), type="primary", key="drills_next", on_click=next_drill)


def practice() -> None:
    if st.session_state["drills_drill"] is None:
        st.session_state["drills_drill"] = pick_drill(ws, account)
    drill = st.session_state["drills_drill"]
    if drill is None:
        st.info(t("drills_none"))
        return
    with st.container(border=True, key="drills_report"):
        st.markdown(f"**{md(drill.title)}**")
        st.text(drill.body)
    if st.session_state["drills_outcome"] is not None:
        outcome(st.session_state["drills_outcome"])
        return
    with st.form("drills_form"):
        level = st.radio(
            t("drills_choose_level"), ESCALATION_LEVELS, format_func=level_label, index=None, key="drills_level"
        )
        st.markdown(t("drills_tick_criteria"))
        ticked = [key for key in CRITERIA if st.checkbox(t("criterion_" + key), key=CRITERION_KEY.format(key))]
        submitted = st.form_submit_button(t("drills_submit"), type="primary", key="drills_submit")
    if not submitted:
        return
    if level is None:
        st.warning(t("drills_level_needed"))
        return
    try:
        st.session_state["drills_outcome"] = answer_drill(ws, drill.incident_id, level, ticked, actor=account)
    except (*REFUSALS, NotADrill, IncidentNotFound) as exc:
        refuse(exc)
        st.button(t("drills_next"), key="drills_skip", on_click=next_drill)
    else:
        st.rerun()


def own_results() -> None:
    mine = drill_results(ws, account, account.name).agents
    if not mine.empty:
        row = mine.iloc[0]
        st.caption(t("drills_your_agreement", right=int(row["right"]), answered=int(row["answered"])))


def team() -> None:
    results = drill_results(ws, account)
    if results.agents.empty:
        st.info(t("drills_no_answers"))
        return
    st.markdown(f"#### {t('drills_agreement_over_time')}")
    st.caption(t("drills_agreement_help"))
    st.altair_chart(
        alt.Chart(results.weekly.assign(week=results.weekly["week"].astype(str)))
        .mark_line(point=True)
        .encode(
            x=alt.X("week:O", title=t("drills_week"), axis=alt.Axis(labelAngle=0)),  # each week by its Monday
            y=alt.Y(
                "share_right:Q",
                title=t("drills_share_right"),
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("agent:N", title=t("drills_agent")),
            tooltip=["agent:N", "week:O", "answered:Q", alt.Tooltip("share_right:Q", format=".0%")],
        ),
        width="stretch",
    )
    st.markdown(f"#### {t('drills_per_agent')}")
    st.dataframe(
        results.agents,
        hide_index=True,
        width="stretch",
        key="drills_agents",
        column_config={
            "agent": t("drills_agent"),
            "answered": st.column_config.NumberColumn(t("drills_answered")),
            "right": st.column_config.NumberColumn(t("drills_right_count")),
            "share_right": percent_column("drills_share_right"),
            "mean_score": percent_column("drills_mean_score"),
            "last_answered": st.column_config.DatetimeColumn(t("drills_last_answered"), format="YYYY-MM-DD HH:mm"),
        },
    )


if access.may_review(account):
    mine, everyone = st.tabs([t("drills_practice"), t("drills_team")])
    with mine:
        own_results()
        practice()
    with everyone:
        team()
else:
    own_results()
    practice()
