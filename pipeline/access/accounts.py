"""The acting account and what its role allows: every pipeline function that changes something takes an
``Account`` (from sign-in, or the command line's operator) and calls ``require`` before it acts.

A page that hides a button is a convenience; the check here is the rule, so a shared link, a crafted request
or a script calling the pipeline meets the same refusal.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass

from kb import KnowledgeBase, UserRecord, Writer
from words import Phrase, PhrasedError

AGENTS = ("agent", "lead", "admin")
LEADS = ("lead", "admin")
ADMINS = ("admin",)


@dataclass(frozen=True)
class Account:
    """Who acts: an account that signed in, or the operator at the command line (``id`` None).

    The name is what the event log records. Build one with ``signed_in`` (the sign-in and session functions do)
    or ``operator``; never from a name someone typed.
    """

    id: int | None
    name: str
    role: str
    email: str | None = None

    @classmethod
    def signed_in(cls, user: UserRecord) -> Account:
        return cls(id=user.id, name=user.name, role=user.role, email=user.email)

    @classmethod
    def operator(cls, who: str | None = None) -> Account:
        """The person at the command line, who owns the database files and so may do anything; recorded as
        "operator (their login)" so the event log tells their changes from those made in the app."""
        return cls(id=None, name=f"operator ({who or getpass.getuser()})", role="admin")

    @property
    def is_operator(self) -> bool:
        return self.id is None


class PermissionDenied(PhrasedError, PermissionError):
    """The acting account's role may not do this."""


def require(actor: Account, roles: Collection[str], action: str) -> None:
    """PermissionDenied naming the account, its role and the action unless the account's role is in ``roles``.

    ``action`` is a catalogue code (``action_*``) that says what was refused, in the reader's language.
    """
    if not isinstance(actor, Account):  # a bare name would be a claim, not a sign-in
        raise TypeError(f"the pipeline acts for an Account, not {type(actor).__name__}")
    if actor.role not in roles:
        raise PermissionDenied(
            "permission_denied", who=actor.name, role=Phrase(f"role_{actor.role}"), action=Phrase(f"action_{action}")
        )


def write_as(
    kb: KnowledgeBase,
    actor: Account,
    roles: Collection[str] = AGENTS,
    action: str = "work_cases",
    *,
    at: dt.datetime | None = None,
) -> AbstractContextManager[Writer]:
    """A write recorded under ``actor``'s name, if ``actor``'s role is in ``roles`` (PermissionDenied otherwise):
    the one way the pipeline changes the knowledge base for someone."""
    require(actor, roles, action)
    return kb.write(actor.name, at=at)


def may_review(actor: Account | None) -> bool:
    """Whether the account may see the review: the assistant's quality, thresholds, versions and escalations."""
    return actor is not None and actor.role in LEADS
