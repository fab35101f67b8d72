"""The case workflow from settings (its defaults are here): which statuses exist, their names in each language,
which moves are allowed, and which happen on their own (claiming, replying, a requester's new message, escalating,
resolving)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from kb.vocab import NEW_STATUS, RESOLVED_STATUSES
from words import Localized, PhrasedError

if TYPE_CHECKING:  # the settings hold the workflow, and take their defaults from here
    from pipeline.settings import Settings


class StatusDef(BaseModel):
    """One status of the workflow: its names in English and Japanese, and the statuses it may move to."""

    en: str
    ja: str
    next: list[str] = []


DEFAULT_STATUSES = {
    "new": StatusDef(
        en="New", ja="新規", next=["triage", "in_progress", "waiting_requester", "escalated", "resolved", "closed"]
    ),
    "triage": StatusDef(
        en="Triage", ja="トリアージ中", next=["in_progress", "waiting_requester", "escalated", "resolved"]
    ),
    "in_progress": StatusDef(
        en="In progress",
        ja="対応中",
        next=["waiting_requester", "waiting_vendor", "escalated", "resolved"],
    ),
    "waiting_requester": StatusDef(
        en="Waiting for the requester", ja="依頼者の回答待ち", next=["in_progress", "resolved", "closed"]
    ),
    "waiting_vendor": StatusDef(
        en="Waiting for the vendor", ja="ベンダーの回答待ち", next=["in_progress", "escalated", "resolved"]
    ),
    "escalated": StatusDef(
        en="Escalated",
        ja="エスカレーション中",
        next=["in_progress", "waiting_requester", "waiting_vendor", "escalated", "resolved"],
    ),
    "resolved": StatusDef(en="Resolved", ja="解決済み", next=["closed", "reopened"]),
    "closed": StatusDef(en="Closed", ja="クローズ", next=["reopened"]),
    "reopened": StatusDef(
        en="Reopened", ja="再オープン", next=["in_progress", "waiting_requester", "escalated", "resolved"]
    ),
}
# The actions that move a case on their own, and what they do by default ("*": from any status that may move there).
Move = Literal["claim", "reply", "requester_message", "escalate", "resolve"]
DEFAULT_AUTOMATIC_MOVES = {
    "claim": {"new": "in_progress", "triage": "in_progress", "reopened": "in_progress"},
    "reply": {"*": "waiting_requester"},
    "requester_message": {"waiting_requester": "in_progress", "resolved": "reopened", "closed": "reopened"},
    "escalate": {"*": "escalated"},
    "resolve": {"*": "resolved"},
}
# The statuses the knowledge base relies on (kb.vocab): where a case comes in, and where it is knowledge.
REQUIRED_STATUSES = (NEW_STATUS, *RESOLVED_STATUSES)


def check_workflow(
    statuses: dict[str, StatusDef], automatic_moves: dict[str, dict[str, str]], *, paused: Collection[str] = ()
) -> None:
    """Raise ValueError, naming what is wrong, unless the settings' workflow is whole: the statuses the knowledge
    base relies on exist, every move (allowed, automatic, or a status the SLA clock pauses in) names a status, and
    resolving leads to a resolved status."""
    names = set(statuses)
    if missing := [name for name in REQUIRED_STATUSES if name not in names]:
        raise ValueError(f"statuses must include {', '.join(missing)}")
    for name, status in statuses.items():
        if unknown := set(status.next) - names:
            raise ValueError(f"status {name!r} moves to unknown status(es) {', '.join(sorted(unknown))}")
    for action, moves in automatic_moves.items():
        if unknown := (set(moves) - {"*"} | set(moves.values())) - names:
            raise ValueError(f"automatic move {action!r} names unknown status(es) {', '.join(sorted(unknown))}")
    if stays_open := set(automatic_moves.get("resolve", {}).values()) - set(RESOLVED_STATUSES):
        resolved = ", ".join(RESOLVED_STATUSES)
        raise ValueError(f"resolving must lead to {resolved}, not {', '.join(sorted(stays_open))}")
    if unknown := set(paused) - names:
        raise ValueError(f"sla.paused_statuses names unknown status(es) {', '.join(sorted(unknown))}")


class TransitionRefused(PhrasedError, ValueError):
    """The workflow does not allow this status move."""


@dataclass(frozen=True)
class Workflow:
    statuses: dict[str, StatusDef]
    automatic_moves: dict[str, dict[str, str]]
    # Where intake files a new case (every workflow has it: the settings check).
    new: str = NEW_STATUS

    @classmethod
    def from_settings(cls, settings: Settings) -> Workflow:
        return cls(dict(settings.statuses), dict(settings.automatic_moves))

    def name(self, status: str) -> Localized:
        """The status's name in each language; an unknown status is named as stored."""
        known = self.statuses.get(status)
        return Localized(status, status) if known is None else Localized(known.en, known.ja)

    def label(self, status: str, language: str = "en") -> str:
        """The status's name in ``language`` (``ja`` or ``en``)."""
        return getattr(self.name(status), language, status)

    def next_statuses(self, status: str) -> list[str]:
        known = self.statuses.get(status)
        return [] if known is None else list(known.next)

    def allows(self, old: str, new: str) -> bool:
        return old == new or new in self.next_statuses(old)

    def check(self, old: str, new: str) -> None:
        """Raise TransitionRefused, naming the allowed moves, unless ``old`` may move to ``new``."""
        if new not in self.statuses:
            raise TransitionRefused("status_unknown", status=new, known=list(self.statuses))
        if not self.allows(old, new):
            allowed = [self.name(s) for s in self.next_statuses(old)]
            raise TransitionRefused("move_refused", old=self.name(old), new=self.name(new), allowed=allowed)

    def _target(self, action: Move, status: str) -> str | None:
        moves = self.automatic_moves.get(action, {})
        return moves.get(status, moves.get("*"))

    def after(self, action: Move, status: str) -> str | None:
        """The status ``action`` moves a case in ``status`` to on its own, or None if it stays."""
        target = self._target(action, status)
        if target is None or target == status or not self.allows(status, target):
            return None
        return target

    def required_move(self, action: Move, status: str) -> str | None:
        """Like ``after``, for actions that must move the case (escalate, resolve): TransitionRefused if the
        workflow does not allow the move from ``status``."""
        target = self._target(action, status)
        if target is not None:
            self.check(status, target)
        return self.after(action, status)

    def resolved_status(self, status: str) -> str:
        """The status a case in ``status`` has once resolved: its own if it is resolved already (its resolution is
        being corrected), else the resolve move's; TransitionRefused where the workflow has none or forbids it."""
        if status in RESOLVED_STATUSES:
            return status
        target = self._target("resolve", status)
        if target is None:
            raise TransitionRefused("no_resolve_move", status=self.name(status))
        self.check(status, target)
        return target
