"""The work of incident-kb, grouped by whom it serves (the README's "Layout" says what lives where):

- at the top, what every part shares: ``settings`` (one object for all configuration), ``workspace`` (the knowledge
  base, models and index, opened from settings), ``workflow`` (statuses and their moves), ``text`` (report text),
  ``files`` (reading the files people bring), ``progress``, and ``demo`` (the demo knowledge base);
- ``access``: who acts and what their role allows: accounts, sign-in and sessions; beneath the three parts below,
  every one of whose changes takes the acting account and is checked against its role;
- ``triage``: the assistant itself, for agents and leads alike: embedding, the similar-case index and search, the
  suggestion models, their thresholds, training, versions and the public yardsticks;
- ``desk``: the agents' working day: import and intake, e-mail, cases and what is done to them, hand-offs, replies,
  the queue, SLA clocks and requesters;
- ``review``: the leads' and analysts' look back: suggestion quality, the escalation review, knowledge base health,
  trends, recurring problems and event logs.

Data flows one way: triage knows neither the desk nor the review, the desk does not know the review. Nothing here
writes a sentence: what a person reads leaves as a phrase (``words.Phrase``) that the app and the CLI word.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.settings import Settings
    from pipeline.workspace import Workspace

__all__ = ["Settings", "Workspace"]
_HOMES = {"Settings": "pipeline.settings", "Workspace": "pipeline.workspace"}


def __getattr__(name: str) -> object:
    # Loaded on first use: importing a triage module must not load the workspace that composes it.
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
