"""How long work reports progress, so the CLI can draw a tqdm bar and the app a Streamlit one, each in its
reader's language: a step is named by a phrase (``words.Phrase``), not a sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from words import Phrase

# Called with the number of items just finished, like ``tqdm.update``.
Progress = Callable[[int], Any]
# Opens a progress display for one step: (what the step does, total) -> a context that yields its Progress.
ProgressFactory = Callable[[Phrase, int], AbstractContextManager[Progress]]


@contextmanager
def no_progress(step: Phrase, total: int) -> Iterator[Progress]:
    yield lambda n: None
