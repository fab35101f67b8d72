"""How agents do at escalation drills: each agent's agreement with the level that resolved the case (the share
right) per week, and their totals. An agent reads their own; leads and admins read everyone's."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.access.accounts import AGENTS, LEADS, Account, require
from pipeline.workspace import Workspace

WEEKLY_COLUMNS = ("agent", "week", "answered", "right", "share_right", "mean_score")
AGENT_COLUMNS = ("agent", "answered", "right", "share_right", "mean_score", "last_answered")


@dataclass(frozen=True)
class DrillResults:
    # One row per agent and week (the Monday it starts, UTC), oldest first.
    weekly: pd.DataFrame
    # One row per agent, by name.
    agents: pd.DataFrame


def drill_results(ws: Workspace, actor: Account, agent: str | None = None) -> DrillResults:
    """The drills of ``agent`` (None: every agent's). Anyone else's than the actor's own are for leads and admins:
    PermissionDenied otherwise."""
    if agent == actor.name:
        require(actor, AGENTS, "drills_answer")
    else:
        require(actor, LEADS, "drills_results")
    answers = pd.DataFrame(
        [(a.agent, a.answered_at, a.level_right, a.score) for a in ws.kb.drill_answers(agent)],
        columns=["agent", "answered_at", "right", "score"],
    )
    answers["right"] = answers["right"].astype(bool)
    answered_at = pd.to_datetime(answers["answered_at"], utc=True)
    answers["week"] = (answered_at.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time).dt.date
    return DrillResults(
        weekly=_totals(answers, ["agent", "week"]).drop(columns="last_answered")[list(WEEKLY_COLUMNS)],
        agents=_totals(answers, ["agent"])[list(AGENT_COLUMNS)],
    )


def _totals(answers: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    totals = answers.groupby(by, as_index=False).agg(
        answered=("right", "size"),
        right=("right", "sum"),
        mean_score=("score", "mean"),
        last_answered=("answered_at", "max"),
    )
    totals["share_right"] = totals["right"] / totals["answered"]
    return totals.sort_values(by, kind="stable").reset_index(drop=True)
