"""``incident-kb``: the one command line for batch work on the knowledge base.

One module per command group, each command a short call into ``pipeline``: ``knowledge`` (import, reindex, search,
resolve, demo, settings), ``suggestions`` (suggest, train, models, thresholds), ``evaluate``, ``review``, ``users``,
``http_api`` (the API's server) and ``mail`` (polling the mailboxes).
``common`` holds what they share: the global options, the workspace of a run, progress bars, and every printed
sentence worded in the reader's language.
"""

from __future__ import annotations

from cli import evaluate, http_api, knowledge, mail, review, suggestions, users
from cli.common import cli

for _module in (knowledge, suggestions, evaluate, review, users, http_api, mail):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="incident-kb")


__all__ = ["cli", "main"]
