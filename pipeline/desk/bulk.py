"""Bulk actions of the queue: claim, assign, move or close several cases at once.

Each case goes through the same call as on its own (``pipeline.desk.casework``), in its own transaction, against
the version of it the agent saw: one that changed meanwhile, that the workflow may not move, or that the agent may
not touch is refused alone and named in the outcome; the others are done. Nothing is ever half done to one case.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from kb import IncidentNotFound, IncidentRecord, InvalidValue, KnowledgeBaseBusy, StaleEdit
from kb.vocab import RESOLVED_STATUSES
from pipeline.access.accounts import AGENTS, LEADS, Account, PermissionDenied, require, write_as
from pipeline.desk import casework
from pipeline.desk.casework import AlreadyClaimed
from pipeline.workflow import TransitionRefused
from pipeline.workspace import Workspace
from words import Phrase

logger = logging.getLogger(__name__)

Action = Literal["claim", "assign", "move", "close"]
ACTIONS: tuple[Action, ...] = get_args(Action)
# Where "close" moves a case: the finished status the workflow reaches without a resolution.
CLOSED = RESOLVED_STATUSES[-1]
# What refuses one case and leaves the others to be done (a database busy too long with another write included:
# that case may be tried again).
_ONE_CASE = (
    StaleEdit,
    AlreadyClaimed,
    TransitionRefused,
    InvalidValue,
    PermissionDenied,
    IncidentNotFound,
    KnowledgeBaseBusy,
)


@dataclass(frozen=True)
class Refused:
    """A case the action was not done to, and why."""

    case: int
    reason: Phrase


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did: the cases done, and those refused with their reasons, in the order given."""

    action: Action
    done: list[int] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    @property
    def phrase(self) -> Phrase:
        """ "3 moved, 1 refused: #12 changed since you looked", in the reader's language."""
        reasons = [Phrase("desk_bulk_refused_case", case=r.case, reason=r.reason) for r in self.refused]
        if not reasons:
            return Phrase(f"desk_bulk_done_{self.action}", n=len(self.done))
        return Phrase("desk_bulk_done_and_refused", done=Phrase(f"desk_bulk_done_{self.action}", n=len(self.done)),
                      n=len(reasons), reasons=reasons)  # fmt: skip


def assignees(ws: Workspace) -> list[str]:
    """Whom a case may be given to: the active accounts, then the teams that hold escalated cases."""
    people = [u.name for u in ws.kb.users()]
    return list(dict.fromkeys([*people, *ws.settings.escalation_holders.values()]))


def assign(ws: Workspace, incident_id: int, to: str, *, actor: Account, version: int | None) -> IncidentRecord:
    """Give a case to an agent or a team: a lead or admin any case, an agent a case they hold or nobody holds."""
    if to not in assignees(ws):
        raise InvalidValue("desk_bulk_unknown_assignee", name=to, known=assignees(ws))
    with write_as(ws.kb, actor) as w:
        case = w.incident(incident_id, expected_version=version)
        if actor.role not in LEADS and case.assignee not in (None, actor.name):
            raise PermissionDenied("desk_assign_not_yours", who=actor.name, case=incident_id, holder=case.assignee)
        return w.update_incident(incident_id, expected_version=version, assignee=to)


def run(
    ws: Workspace, action: Action, seen: Mapping[int, int], *, actor: Account, to: str | None = None
) -> BulkOutcome:
    """Do ``action`` to every case of ``seen`` (case id -> the version the agent saw), each alone; ``to`` is the
    account or team for "assign", the status for "move". InvalidValue, with nothing done, for an empty selection,
    an unknown action or a missing ``to``; a refusal of one case is in the outcome."""
    require(actor, AGENTS, "work_cases")
    if action not in ACTIONS:
        raise InvalidValue("desk_bulk_unknown_action", action=action, known=list(ACTIONS))
    if not seen:
        raise InvalidValue("desk_bulk_nothing_selected")
    if action in ("assign", "move") and not to:
        raise InvalidValue(f"desk_bulk_{action}_needs_target")
    outcome = BulkOutcome(action)
    for case, version in seen.items():
        try:
            _one(ws, action, case, version, actor, to)
        except _ONE_CASE as exc:
            outcome.refused.append(Refused(case, exc.phrase))
        else:
            outcome.done.append(case)
    logger.info("%s %s: %d done, %d refused", actor.name, action, len(outcome.done), len(outcome.refused))
    return outcome


def _one(ws: Workspace, action: Action, case: int, version: int, actor: Account, to: str | None) -> None:
    if action == "claim":
        casework.claim(ws, case, actor=actor, version=version)
    elif action == "assign":
        assign(ws, case, to or "", actor=actor, version=version)
    else:
        casework.move(ws, case, to if action == "move" else CLOSED, actor=actor, version=version)
