"""The health of the knowledge base, as a lead tends it: resolved cases that teach nothing (no resolution or no
root cause), near-duplicate entries to merge or tell apart, and the categories where the assistant abstains most,
which is where knowledge is missing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kb.index import close_pairs
from pipeline.progress import ProgressFactory, no_progress
from pipeline.review.suggestion_quality import suggestion_outcomes
from pipeline.triage.figures import answered
from pipeline.triage.training import SuggestionModelUnavailable, resolved_incidents
from pipeline.workspace import Workspace
from words import Phrase

_ABSTENTION = ["category", "suggestions", "abstained", "share"]


@dataclass(frozen=True)
class HealthReport:
    incomplete: pd.DataFrame  # resolved cases without a resolution text or a root cause
    near_duplicates: pd.DataFrame  # pairs of resolved cases, most similar first
    abstention: pd.DataFrame  # per final category: category suggestions made at intake, how many abstained
    held_out_abstention: pd.DataFrame  # the same for the active model's held-out cases, by their true category

    @property
    def without_resolution(self) -> int:
        return int(self.incomplete["no_resolution"].sum())

    @property
    def without_root_cause(self) -> int:
        return int(self.incomplete["no_root_cause"].sum())


def _share(frame: pd.DataFrame) -> pd.DataFrame:
    frame["share"] = frame["abstained"] / frame["suggestions"]
    return frame.sort_values(["share", "suggestions"], ascending=False, kind="stable").reset_index(drop=True)


def _recorded_abstention(ws: Workspace) -> pd.DataFrame:
    s = suggestion_outcomes(ws.kb)
    s = s[(s["target"] == "category") & s["outcome"].notna()]
    frame = s.groupby("outcome").agg(suggestions=("sure", "size"), abstained=("sure", lambda v: int((~v).sum())))
    return _share(frame.rename_axis("category").reset_index().reindex(columns=_ABSTENTION))


def _held_out_abstention(ws: Workspace) -> pd.DataFrame:
    try:
        models = ws.suggestion_models()
    except SuggestionModelUnavailable:
        return pd.DataFrame(columns=_ABSTENTION)
    held, twin = models.holdout.get("category"), models.holdout_models.get("category")
    if held is None or twin is None:
        return pd.DataFrame(columns=_ABSTENTION)
    thresholds = ws.thresholds().for_model("category", twin)
    frame = held.frame()
    frame["abstained"] = ~answered(frame["predicted"], frame["confidence"], thresholds)
    grouped = frame.groupby("truth").agg(suggestions=("abstained", "size"), abstained=("abstained", "sum"))
    return _share(grouped.rename_axis("category").reset_index())


def categories_without_articles(ws: Workspace) -> pd.DataFrame:
    """Categories with at least ``articles.health_min_resolved`` resolved cases and no published article, most cases
    first: where a lead should ask for one. Read when shown (two small queries), not with the report, so a newly
    published article takes its category off the list at once."""
    least = ws.settings.articles.health_min_resolved
    covered = ws.kb.article_categories()
    rows = [(c, n) for c, n in ws.kb.resolved_by_category().items() if n >= least and c not in covered]
    frame = pd.DataFrame(rows, columns=["category", "resolved"])
    return frame.sort_values(["resolved", "category"], ascending=[False, True], kind="stable").reset_index(drop=True)


def health_report(ws: Workspace, *, progress: ProgressFactory = no_progress) -> HealthReport:
    resolved = resolved_incidents(ws.kb)
    incomplete = pd.DataFrame(
        [
            {
                "incident_id": i.id,
                "title": i.title,
                "resolved_at": i.resolved_at,
                "no_resolution": not (i.resolution or "").strip(),
                "no_root_cause": not (i.root_cause or "").strip(),
            }
            for i in resolved
            if not (i.resolution or "").strip() or not (i.root_cause or "").strip()
        ],
        columns=["incident_id", "title", "resolved_at", "no_resolution", "no_root_cause"],
    )
    vectors = ws.embed_incidents(resolved, step=Phrase("progress_embedding_resolved"), progress=progress).vectors
    with progress(Phrase("progress_near_duplicates"), len(resolved)) as step:
        pairs = close_pairs([i.id for i in resolved], vectors, ws.settings.near_duplicate_similarity, step=step)
    titles = {i.id: i.title for i in resolved}
    near = pd.DataFrame(
        [(a, titles[a], b, titles[b], sim) for a, b, sim in pairs],
        columns=["incident_id", "title", "other_id", "other_title", "similarity"],
    ).sort_values("similarity", ascending=False, kind="stable")
    return HealthReport(
        incomplete=incomplete,
        near_duplicates=near.reset_index(drop=True),
        abstention=_recorded_abstention(ws),
        held_out_abstention=_held_out_abstention(ws),
    )
