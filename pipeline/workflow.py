"""The case workflow from settings: which statuses exist, their names in each language, which moves are allowed,
and which happen on their own (claiming, replying, a requester's new message, escalating, resolving)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import Settings, StatusDef


class TransitionRefused(ValueError):
    """The workflow does not allow this status move."""


@dataclass(frozen=True)
class Workflow:
    statuses: dict[str, StatusDef]
    automatic_moves: dict[str, dict[str, str]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Workflow:
        return cls(dict(settings.statuses), dict(settings.automatic_moves))

    def label(self, status: str, language: str = "en") -> str:
        """The status's name in ``language`` (``ja`` or ``en``); an unknown status shows as stored."""
        known = self.statuses.get(status)
        return status if known is None else getattr(known, language, known.en)

    def next_statuses(self, status: str) -> list[str]:
        known = self.statuses.get(status)
        return [] if known is None else list(known.next)

    def allows(self, old: str, new: str) -> bool:
        return old == new or new in self.next_statuses(old)

    def check(self, old: str, new: str) -> None:
        """Raise TransitionRefused, naming the allowed moves, unless ``old`` may move to ``new``."""
        if new not in self.statuses:
            raise TransitionRefused(f"{new!r} is not a status of this workflow; known: {', '.join(self.statuses)}")
        if not self.allows(old, new):
            allowed = ", ".join(self.label(s) for s in self.next_statuses(old)) or "none"
            raise TransitionRefused(
                f"a case cannot move from {self.label(old)} to {self.label(new)} (allowed: {allowed})"
            )

    def _target(self, action: str, status: str) -> str | None:
        moves = self.automatic_moves.get(action, {})
        return moves.get(status, moves.get("*"))

    def after(self, action: str, status: str) -> str | None:
        """The status ``action`` moves a case in ``status`` to on its own, or None if it stays."""
        target = self._target(action, status)
        if target is None or target == status or not self.allows(status, target):
            return None
        return target

    def required_move(self, action: str, status: str) -> str | None:
        """Like ``after``, for actions that must move the case (escalate, resolve): TransitionRefused if the
        workflow does not allow the move from ``status``."""
        target = self._target(action, status)
        if target is not None:
            self.check(status, target)
        return self.after(action, status)
