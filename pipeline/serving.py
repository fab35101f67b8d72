"""Serving: the app's server and, beside it, the background worker and the HTTP API, as child processes of one,
started and stopped together, so that `incident-kb serve` (and `make run`) is one thing to start and to stop."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

# How long a child has to stop when asked before it is killed (the worker gives up its job: it is run again).
STOP_SECONDS = 20


def supervise(app: Sequence[str], helpers: Mapping[str, Sequence[str]], env: Mapping[str, str]) -> int:
    """Run ``app`` and, beside it, each of ``helpers`` (by name: the worker, the API; each restarted if it dies)
    until the app ends or this process is asked to stop (SIGINT, SIGTERM, SIGHUP); then stop them all, killing any
    that does not stop in ``STOP_SECONDS``. The children run in sessions of their own, so a Ctrl-C or a closed
    terminal reaches them only through here. The app's exit status."""
    stopping = False

    def stop(signum: int, _frame) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)

    def start(command: Sequence[str]) -> subprocess.Popen:
        return subprocess.Popen(list(command), env=dict(env), start_new_session=True)

    children = {"app": start(app)} | {name: start(command) for name, command in helpers.items()}
    try:
        while not stopping and children["app"].poll() is None:
            for name, command in helpers.items():
                if children[name].poll() is not None:
                    logger.warning("the %s stopped (exit %s): starting it again", name, children[name].returncode)
                    children[name] = start(command)
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for name, child in children.items():
            try:
                child.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("the %s did not stop in %s s: killed", name, STOP_SECONDS)
                child.kill()
                child.wait()
    return children["app"].returncode or 0
