"""Bearer tokens of the HTTP API, one or more per account: issued, checked on every request, listed and revoked.

A token is 256 random bits, shown once when issued; the knowledge base keeps only its SHA-256 (as it does a
browser's session token), so neither a copy of the database nor its event log lets anyone use one. A token acts as
its account as the account is now: a changed role holds at once, a disabled account's tokens are refused. An admin
issues and revokes anyone's tokens; anyone else only their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from kb import KnowledgeBase, KnowledgeBaseBusy, TokenRecord
from pipeline.access.accounts import ADMINS, AGENTS, Account, require, write_as
from words import PhrasedError

# Marks a string as this project's token, so a secret scanner (or a person) can tell it from others.
PREFIX = "ikb_"
# A token is PREFIX and 43 characters; anything much longer is not one, and is not worth hashing.
MAX_TOKEN_CHARS = 200
# A token's last-used time is written at most this often: a request is not worth a write.
_TOUCH_EVERY = dt.timedelta(minutes=1)


class TokenRefused(PhrasedError, PermissionError):
    """No token, an unknown or revoked one, or one whose account is disabled."""


class TokenNotFound(PhrasedError, KeyError):
    """No token has the given id."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: what is kept of it, and the token itself, which is shown this once and never again."""

    record: TokenRecord
    token: str


def token_hash(token: str) -> str:
    """What is kept of a token (an API token, a browser's session): its SHA-256. A token is 256 random bits, so a
    slow password hash would add nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def _may_manage(actor: Account, user_id: int) -> None:
    """Anyone may manage their own tokens; only an admin (or the operator) another account's."""
    if actor.id != user_id:
        require(actor, ADMINS, "manage_tokens")


def issue_token(kb: KnowledgeBase, user_id: int, *, actor: Account, label: str = "") -> IssuedToken:
    """A new token acting as the account ``user_id`` (which must be active), named ``label`` in lists."""
    _may_manage(actor, user_id)
    user = kb.user_by_id(user_id)
    if not user.active:
        raise TokenRefused("api_token_account_disabled", name=user.name)
    token = PREFIX + secrets.token_urlsafe(32)
    with write_as(kb, actor, AGENTS, "manage_tokens") as w:
        record = w.add_token(user_id, token_hash(token), label)
    return IssuedToken(record, token)


def authenticate(kb: KnowledgeBase, token: str | None) -> tuple[Account, TokenRecord]:
    """The account a bearer token acts as, as the account is now, and the token's record; TokenRefused if there is
    no token, it is unknown or revoked, or its account is disabled."""
    if not token:
        raise TokenRefused("api_token_missing")
    record = kb.token_by_hash(token_hash(token)) if len(token) <= MAX_TOKEN_CHARS else None
    if record is None:
        raise TokenRefused("api_token_unknown")
    if record.revoked_at is not None:
        raise TokenRefused("api_token_revoked", at=record.revoked_at)
    user = kb.user_by_id(record.user_id)
    if not user.active:
        raise TokenRefused("api_token_account_disabled", name=user.name)
    now = dt.datetime.now(dt.UTC)
    if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
        try:
            with kb.write(user.name) as w:
                w.touch_token(record.id, now)
        except KnowledgeBaseBusy:  # a long import holds the database: the next request records it
            pass
    return Account.signed_in(user), record


def tokens_of(kb: KnowledgeBase, user_id: int, *, actor: Account) -> list[TokenRecord]:
    """An account's tokens, oldest first, revoked ones included (never the tokens themselves)."""
    _may_manage(actor, user_id)
    return kb.tokens(user_id)


def revoke_token(kb: KnowledgeBase, token_id: int, *, actor: Account) -> TokenRecord:
    """Revoke a token at once: its next request is refused. Revoking a revoked token changes nothing."""
    record = kb.token(token_id)
    if record is None:
        raise TokenNotFound("api_token_not_found", id=token_id)
    _may_manage(actor, record.user_id)
    with write_as(kb, actor, AGENTS, "manage_tokens") as w:
        return w.revoke_token(token_id)
