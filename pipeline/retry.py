"""A change whose database connection broke before it was committed is made once more.

The server rolls back a transaction whose connection is gone, so the first try left nothing behind and a second
cannot apply the change twice (SQLAlchemy's advice: retry whole transactions, never single statements). A
connection that broke while committing (CommitUncertain) is not retried: the change may be stored already. Idle
connections that died (a server restart, a proxy's timeout) never get this far: the pool tests each before use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from kb import ConnectionLost

logger = logging.getLogger(__name__)
T = TypeVar("T")


def once_more_if_lost(action: Callable[..., T], /, *args: object, **kwargs: object) -> T:
    """``action(*args, **kwargs)``, made again once if its database connection was lost; a second loss is
    raised (ConnectionLost, whose message names the database and says nothing was stored)."""
    try:
        return action(*args, **kwargs)
    except ConnectionLost as exc:
        logger.warning("%s: %s; trying once more", getattr(action, "__qualname__", action), exc)
        return action(*args, **kwargs)
