"""``python -m cli``: the same as ``incident-kb``."""

from cli import main

main()
