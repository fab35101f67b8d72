"""Escalation drills, seed 004's "train the helpdesk on the criteria": an agent reads a past report (nothing else),
chooses the level and ticks the criteria, and then sees what happened and why.

Drills are drawn from resolved cases with a known final level, favouring those where agents disagreed (a suggested
level overridden, several hand-offs, a level that came back down) or that were escalated too late or too early
(``escalation_timing``), never one the agent handled, nor one of their last ``drills.not_again_within`` answers.
An answer scores the level (right or not) and the criteria: their overlap (Jaccard) with those the case's hand-offs
ticked, or, without any, those of the guide the report matches (``criterion_patterns``, as triage proposes them);
either way only those that raise no higher than the level that resolved it.

An agent answers their own drills and reads their own results; leads and admins read everyone's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from kb import HandoffRecord, IncidentRecord, InvalidValue, SuggestionRecord
from kb.drills import DrillAnswerRecord, NewDrillAnswer
from kb.sla import StatusMove
from kb.vocab import ESCALATION_LEVELS, RESOLVED_STATUSES
from pipeline.access.accounts import AGENTS, Account, require, write_as
from pipeline.knowledge.escalation_timing import EscalationTiming, escalation_timing, rank
from pipeline.settings import CRITERIA
from pipeline.triage.suggest import propose_criteria
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

# The escalation guide's words for each level (seed 004, step 2 and step 3).
GUIDE = {
    "none": Phrase("drills_guide_none"),
    "L1": Phrase("drills_guide_L1"),
    "L2": Phrase("drills_guide_L2"),
    "L3": Phrase("drills_guide_L3"),
}


class NotADrill(PhrasedError, ValueError):
    """The case asked for cannot be a drill: it is not resolved, or its final level is not known."""


@dataclass(frozen=True)
class Drill:
    """What an agent reads: the report as the requester wrote it, and nothing the desk made of it."""

    incident_id: int
    title: str
    body: str


@dataclass(frozen=True)
class ExpectedCriterion:
    """A criterion that counted as right, the lowest level it raises to, and why it counts."""

    key: str
    raises_to: str
    reasons: tuple[Phrase, ...]


@dataclass(frozen=True)
class Outcome:
    """What happened to a drill's case and why, with the answer as scored."""

    answer: DrillAnswerRecord
    criteria: tuple[ExpectedCriterion, ...]
    resolution: str | None
    root_cause: str | None
    what_happened: tuple[Phrase, ...]  # the hand-offs, the level that resolved it, and why it was drawn
    guide: Phrase  # the guide's reason for the level that resolved it


@dataclass(frozen=True)
class _Candidate:
    case: IncidentRecord
    handoffs: tuple[HandoffRecord, ...]
    overridden: bool
    timing: EscalationTiming

    @property
    def favoured(self) -> bool:
        return self.overridden or len(self.handoffs) > 1 or self.timing.came_back_down or self.timing.too_late


def _is_drill(case: IncidentRecord) -> bool:
    return case.status in RESOLVED_STATUSES and case.escalation_level in ESCALATION_LEVELS


def _handled(case: IncidentRecord, handoffs: Iterable[HandoffRecord], actor: Account) -> bool:
    """Whether ``actor`` held the case or handed it off: they know what happened to it."""
    return case.assignee == actor.name or any(h.created_by == actor.name for h in handoffs)


def _overridden(suggestions: Iterable[SuggestionRecord]) -> set[int]:
    """The cases whose suggested escalation level an agent overrode."""
    return {
        s.incident_id
        for s in suggestions
        if s.target == "escalation_level" and s.decision == "overridden" and s.final_value != s.value
    }


def _handoffs(ws: Workspace) -> dict[int, tuple[HandoffRecord, ...]]:
    by_case: dict[int, list[HandoffRecord]] = defaultdict(list)
    for h in ws.kb.handoffs():
        by_case[h.incident_id].append(h)
    return {case_id: tuple(hs) for case_id, hs in by_case.items()}


def _candidate(
    ws: Workspace,
    case: IncidentRecord,
    handoffs: tuple[HandoffRecord, ...],
    overridden: bool,
    moves: Sequence[StatusMove] = (),
) -> _Candidate:
    return _Candidate(case, handoffs, overridden, escalation_timing(ws.settings, case, handoffs, moves))


def pick_drill(ws: Workspace, actor: Account, *, rng: random.Random | None = None) -> Drill | None:
    """The next drill for ``actor``, drawn as the module says; None when the knowledge base has none to offer."""
    require(actor, AGENTS, "drills_answer")
    rng = rng or random.Random()
    answered = [a.incident_id for a in ws.kb.drill_answers(actor.name, limit=ws.settings.drills.not_again_within)]
    handoffs = _handoffs(ws)
    overridden = _overridden(ws.kb.suggestions())
    cases = [
        case
        for batch in ws.kb.resolved_incidents()
        for case in batch
        if _is_drill(case) and not _handled(case, handoffs.get(case.id, ()), actor)
    ]
    for left_out in (set(answered), set(answered[:1])):  # never the same case twice in a row
        fresh = [case for case in cases if case.id not in left_out]
        if fresh:
            break
    else:
        return None
    moves = ws.kb.status_moves([c.id for c in fresh if c.id in handoffs])  # the clock of those handed off
    candidates = [_candidate(ws, c, handoffs.get(c.id, ()), c.id in overridden, moves.get(c.id, ())) for c in fresh]
    weights = [ws.settings.drills.favour if c.favoured else 1.0 for c in candidates]
    chosen = rng.choices(candidates, weights)[0].case
    return Drill(chosen.id, chosen.title, chosen.body)


def expected_criteria(
    ws: Workspace, case: IncidentRecord, handoffs: tuple[HandoffRecord, ...]
) -> tuple[ExpectedCriterion, ...]:
    """The criteria that count as right for ``case``: those its hand-offs ticked, else those the report matches;
    either way only those the level that resolved it bears out."""
    levels = ws.settings.criterion_levels
    resolved = rank(case.escalation_level)
    ticked: dict[str, list[Phrase]] = defaultdict(list)
    for h in handoffs:
        # A criterion ticked that raises above the level that resolved the case is what sent it up too early: ticking
        # it again is the mistake the drill teaches, not the answer.
        for key in (k for k in h.criteria or () if rank(levels[k]) <= resolved):
            ticked[key].append(Phrase("drills_ticked_at_handoff", level=Phrase(f"level_{h.level}")))
    if ticked:
        return tuple(ExpectedCriterion(k, levels[k], tuple(ticked[k])) for k in CRITERIA if k in ticked)
    # Without hand-offs, what the report says, as far as the level that resolved it bears out: a criterion that
    # would have raised the case above that level did not apply.
    proposed = propose_criteria(f"{case.title}\n{case.body}", (), ws.settings, None)
    return tuple(
        ExpectedCriterion(c.key, c.raises_to, c.reasons)
        for c in proposed
        if c.proposed and rank(c.raises_to) <= resolved
    )


def _overlap(chosen: Collection[str], expected: Collection[str]) -> float:
    union = set(chosen) | set(expected)
    return len(set(chosen) & set(expected)) / len(union) if union else 1.0


def _checked(level: str, criteria: Collection[str]) -> list[str]:
    if level not in ESCALATION_LEVELS:
        allowed = list(ESCALATION_LEVELS)
        raise InvalidValue("value_not_in_vocabulary", field="escalation_level", allowed=allowed, value=repr(level))
    if unknown := set(criteria) - set(CRITERIA):
        raise InvalidValue("unknown_criteria", unknown=sorted(map(str, unknown)), known=list(CRITERIA))
    return [key for key in CRITERIA if key in criteria]


def answer_drill(ws: Workspace, incident_id: int, level: str, criteria: Collection[str], *, actor: Account) -> Outcome:
    """Score ``actor``'s answer to the drill of case ``incident_id``, keep it, and tell what happened and why.

    InvalidValue for a level or criterion the guide does not know; NotADrill unless the case is resolved with a
    known final level (say, reopened since the drill was drawn)."""
    require(actor, AGENTS, "drills_answer")
    ticked = _checked(level, criteria)
    case = ws.kb.incident(incident_id)
    if not _is_drill(case):
        raise NotADrill("drills_not_a_drill", id=incident_id)
    handoffs = tuple(ws.kb.handoffs(incident_id))
    if _handled(case, handoffs, actor):  # never drawn for them: an answer they know scores nothing about the guide
        raise NotADrill("drills_own_case", id=incident_id)
    expected = expected_criteria(ws, case, handoffs)
    overlap = _overlap(ticked, [c.key for c in expected])
    right = level == case.escalation_level
    with write_as(ws.kb, actor, AGENTS, "drills_answer") as w:
        answer = w.add_drill_answer(
            NewDrillAnswer(
                agent=actor.name,
                incident_id=case.id,
                chosen_level=level,
                criteria=ticked,
                correct_level=case.escalation_level,
                expected_criteria=[c.key for c in expected],
                level_right=right,
                criteria_overlap=overlap,
                score=(float(right) + overlap) / 2,
            )
        )
    overridden = incident_id in _overridden(ws.kb.suggestions(incident_id))
    return Outcome(
        answer=answer,
        criteria=expected,
        resolution=case.resolution,
        root_cause=case.root_cause,
        what_happened=_what_happened(
            _candidate(ws, case, handoffs, overridden, ws.kb.status_moves([case.id]).get(case.id, ()))
        ),
        guide=GUIDE[case.escalation_level],
    )


def _what_happened(c: _Candidate) -> tuple[Phrase, ...]:
    said = []
    if c.timing.first_line is not None:
        said.append(Phrase("drills_first_line", time=c.timing.first_line))
    for h in c.handoffs:
        said.append(Phrase("drills_handed_off", level=Phrase(f"level_{h.level}"), at=h.created_at))
    said.append(Phrase("drills_resolved_at", level=Phrase(f"level_{c.case.escalation_level}")))
    if c.overridden:
        said.append(Phrase("drills_why_overridden"))
    if c.timing.came_back_down:
        said.append(Phrase("drills_why_came_back_down"))
    if c.timing.too_late:
        said.append(Phrase("drills_why_too_late", share=c.timing.share_of_target))
    return tuple(said)
