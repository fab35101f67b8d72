"""How the assistant's suggestions fared with the agents: acceptance and override rates, precision and coverage as
they really happened, per target, per class and by week, the confusion matrix and the overrides with their reasons.

Every figure comes from the stored suggestions (one per case and target, made at intake) and what became of them:

- a suggestion is *sure* when it named a value; otherwise the assistant abstained and only had a best guess;
- *accepted* / *overridden* are the agents' explicit decisions on sure suggestions (a value set where the
  assistant abstained is *chosen*, neither);
- the *outcome* is the case's value once resolved (what the agents finally decided), else the agent's decision on
  the suggestion, else unknown yet; *precision* is the share of sure suggestions with a known outcome that matched
  it, *coverage* the share of suggestions that were sure.

The class of a suggestion is the assistant's best guess (its value when sure); weeks start on Monday, by the day
the suggestion was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from kb import KnowledgeBase, frames
from kb.frames import week_of
from kb.vocab import RESOLVED_STATUSES

NOT_SURE = "(not sure)"
_COLUMNS = [
    "incident_id", "title", "target", "value", "best", "confidence", "model_version", "threshold_version",
    "created_at", "decision", "final_value", "reason", "decided_by", "decided_at", "outcome",
]  # fmt: skip


@dataclass(frozen=True)
class QualityFigures:
    """How a set of stored suggestions fared (see the module's docstring); None where nothing was there to count."""

    suggestions: int
    sure: int
    coverage: float | None
    accepted: int
    overridden: int
    acceptance_rate: float | None
    override_rate: float | None
    judged: int
    precision: float | None

    @classmethod
    def of(cls, frame: pd.DataFrame) -> QualityFigures:
        """The figures of the suggestions in ``frame`` (rows of ``suggestion_outcomes``)."""
        sure = frame[frame["sure"]]
        decided = int(sure["decision"].notna().sum())
        accepted = int((sure["decision"] == "accepted").sum())
        judged = sure[sure["outcome"].notna()]
        return cls(
            suggestions=len(frame),
            sure=len(sure),
            coverage=len(sure) / len(frame) if len(frame) else None,
            accepted=accepted,
            overridden=decided - accepted,
            acceptance_rate=accepted / decided if decided else None,
            override_rate=(decided - accepted) / decided if decided else None,
            judged=len(judged),
            precision=float(judged["correct"].mean()) if len(judged) else None,
        )


@dataclass(frozen=True)
class QualityReport:
    suggestions: pd.DataFrame  # one row per stored suggestion, with its outcome (see the module's docstring)
    by_target: pd.DataFrame
    by_class: pd.DataFrame
    by_week: pd.DataFrame
    overrides: pd.DataFrame  # sure suggestions the agents overrode, newest first

    def figures(self, target: str) -> QualityFigures:
        """How the suggestions of one target fared, over every case."""
        return QualityFigures.of(self.suggestions[self.suggestions["target"] == target])

    def confusion(self, target: str) -> pd.DataFrame:
        """Outcomes (rows) against what was suggested (columns; NOT_SURE where the assistant abstained)."""
        known = self.suggestions[(self.suggestions["target"] == target) & self.suggestions["outcome"].notna()]
        return pd.crosstab(known["outcome"], known["value"].fillna(NOT_SURE)).rename_axis(
            index="outcome", columns="suggested"
        )


def suggestion_outcomes(kb: KnowledgeBase) -> pd.DataFrame:
    """Every stored suggestion with the title of its case and its outcome."""
    stored = frames.suggestions(kb)
    cases = frames.incidents(kb).set_index("id")
    case = cases.reindex(stored["incident_id"]).reset_index(drop=True)
    targets = [t for t in stored["target"].unique() if t in cases]
    # The case's own value of each suggestion's target, once it is resolved; until then the agent's decision.
    final = cases[targets].stack(future_stack=True).reindex(pd.MultiIndex.from_frame(stored[["incident_id", "target"]]))
    decided = stored["final_value"].where(stored["decision"].notna())
    resolved = case["status"].isin(RESOLVED_STATUSES)
    frame = stored.assign(title=case["title"], outcome=final.reset_index(drop=True).where(resolved, decided))
    frame = frame[_COLUMNS]
    frame["sure"] = frame["value"].notna()
    frame["correct"] = frame["sure"] & (frame["value"] == frame["outcome"])
    frame["week"] = week_of(frame["created_at"])
    return frame


def _rates(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(asdict(QualityFigures.of(frame)), dtype=object)


def _grouped(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *_rates(frame).index])
    return frame.groupby(keys, sort=True)[frame.columns.tolist()].apply(_rates).reset_index()


def quality_report(kb: KnowledgeBase) -> QualityReport:
    frame = suggestion_outcomes(kb)
    overridden = frame[frame["sure"] & (frame["decision"] == "overridden")]
    overridden = overridden.sort_values(["decided_at", "incident_id"], ascending=False)
    return QualityReport(
        suggestions=frame,
        by_target=_grouped(frame, ["target"]),
        by_class=_grouped(frame, ["target", "best"]).rename(columns={"best": "class"}),
        by_week=_grouped(frame, ["target", "week"]),
        overrides=overridden[
            ["decided_at", "incident_id", "title", "target", "value", "best", "final_value", "reason", "decided_by"]
        ].reset_index(drop=True),
    )
