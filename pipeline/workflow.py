"""The case workflow from settings: which statuses exist, their names in each language, which moves are allowed,
and which happen on their own (claiming, replying, a requester's new message, escalating, resolving)."""

from __future__ import annotations

from dataclasses import dataclass

from kb.vocab import NEW_STATUS, RESOLVED_STATUSES
from pipeline.settings import Move, Settings, StatusDef
from words import Localized, PhrasedError


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
