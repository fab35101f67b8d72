"""How long work reports progress, so the CLI can draw a tqdm bar and the app a Streamlit one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

# Called with the number of items just finished, like ``tqdm.update``.
Progress = Callable[[int], Any]
# Opens a progress display for one step: (description, total) -> a context that yields its Progress.
ProgressFactory = Callable[[str, int], AbstractContextManager[Progress]]


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Progress]:
    yield lambda n: None
