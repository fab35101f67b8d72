"""The team's accounts as an admin keeps them: add one, set its role, disable it, reset its password. The desk
always keeps an active admin: the last one can be neither demoted nor disabled."""

from __future__ import annotations

import datetime as dt

from kb import KnowledgeBase, UserRecord, normalise_email
from pipeline.access.accounts import ADMINS, Account, require
from pipeline.access.sign_in import hash_password
from words import PhrasedError


class LastAdmin(PhrasedError, ValueError):
    """The change would leave the desk without an active admin."""


def add_account(
    kb: KnowledgeBase,
    name: str,
    role: str,
    *,
    actor: Account,
    email: str | None = None,
    password: str | None = None,
) -> UserRecord:
    """A new account; without a password it can sign in only through single sign-on (by its e-mail)."""
    require(actor, ADMINS, "manage_team")
    password_hash = hash_password(password) if password is not None else None
    with kb.write(actor.name) as w:
        user_id = w.add_user(name, role, email=_address(email), password_hash=password_hash)
    return kb.user_by_id(user_id)


def _address(email: str | None) -> str | None:
    return normalise_email(email) if email and email.strip() else None


def locked(user: UserRecord) -> bool:
    """Whether the account is locked now, after too many wrong passwords."""
    return user.locked_until is not None and user.locked_until > dt.datetime.now(dt.UTC)


def update_account(
    kb: KnowledgeBase,
    user_id: int,
    *,
    actor: Account,
    role: str | None = None,
    active: bool | None = None,
    email: str | None = None,
) -> UserRecord:
    """Change an account's role, active flag or e-mail (None: leave it; an empty e-mail removes it), in one
    write. Disabling ends the account's sessions at once; demoting or disabling the last active admin is refused."""
    require(actor, ADMINS, "manage_team")
    user = kb.user_by_id(user_id)
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        changes["role"] = role
    if active is not None and active != user.active:
        changes["active"] = active
    if email is not None and _address(email) != user.email:
        changes["email"] = _address(email)
    if changes:
        with kb.write(actor.name) as w:
            w.update_user(user_id, **changes)
            # Counted within the change: two admins demoting each other at once cannot both succeed.
            if w.active_admins_now() == 0:
                raise LastAdmin("last_admin", name=user.name)
            if changes.get("active") is False:
                w.end_sessions(user_id)
    return kb.user_by_id(user_id)


def reset_password(kb: KnowledgeBase, user_id: int, password: str, *, actor: Account) -> None:
    """Set another account's password (lifting a lockout); its sessions end."""
    require(actor, ADMINS, "manage_team")
    with kb.write(actor.name) as w:
        w.set_password_hash(user_id, hash_password(password))
