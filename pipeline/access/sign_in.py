"""Signing in and staying signed in: passwords checked against their argon2id hash, accounts locked after too
many wrong ones, sessions that end when idle, and single sign-on mapped to an existing account.

A session is a random token the browser holds; the knowledge base keeps only its SHA-256, so neither a copy of
the database nor its event log lets anyone resume a session.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kb import AccountLocked, KnowledgeBase, KnowledgeBaseBusy, Writer
from pipeline.access.accounts import Account
from pipeline.access.tokens import token_hash
from pipeline.settings import Settings
from words import PhrasedError

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory parameters.
_HASHER = PasswordHasher()
# Checked against when the login names nobody, so an unknown name costs the same time as a wrong password.
_NOBODY = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # hashing is deliberately slow; a megabyte "password" should not be hashed at all
MAX_LOGIN_CHARS = 320  # the longest e-mail address
# Each check takes tens of megabytes for a moment, by design: at most this many at once, however many try.
_HASHING = threading.BoundedSemaphore(4)
# A session's last-seen time is written at most this often: a page rerun is not worth a write.
_TOUCH_EVERY = dt.timedelta(minutes=1)
# The event log's "who" for a failed sign-in: nobody is signed in yet.
SIGN_IN_ACTOR = "sign-in"


class SignInRefused(PhrasedError, PermissionError):
    """Wrong name or password, a locked or disabled account, an unknown single sign-on address."""


class PasswordRefused(PhrasedError, ValueError):
    """A new password that is too short or too long."""


@dataclass(frozen=True)
class SignedIn:
    """A new session: the account, and the token only its browser keeps."""

    account: Account
    token: str


def hash_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise PasswordRefused("password_length", min=MIN_PASSWORD_CHARS, max=MAX_PASSWORD_CHARS)
    with _HASHING:
        return _HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    with _HASHING:
        try:
            return _HASHER.verify(password_hash or _NOBODY, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def sign_in(kb: KnowledgeBase, settings: Settings, login: str, password: str) -> SignedIn:
    """A session for the account whose name or e-mail is ``login`` if ``password`` is its password.

    Each wrong password counts, attempts at the same moment included; ``settings.lockout_attempts`` in a row
    lock the account for ``settings.lockout_minutes``, during which even the right password is refused.
    """
    if not isinstance(login, str) or not isinstance(password, str) or len(login) > MAX_LOGIN_CHARS:
        raise SignInRefused("sign_in_wrong")
    now = dt.datetime.now(dt.UTC)
    creds = kb.credentials(login)
    if creds is None or not creds.active:
        password_matches(None, password)  # the same time as a real check
        raise SignInRefused("sign_in_wrong")
    if creds.locked_until and creds.locked_until > now:
        raise SignInRefused("sign_in_locked", until=creds.locked_until)
    if not password_matches(creds.password_hash, password):
        _count_failure(kb, settings, creds.id)
    try:
        with kb.write(creds.name) as w:
            if _HASHER.check_needs_rehash(creds.password_hash):  # parameters raised since it was set
                w.set_password_hash(creds.id, hash_password(password))
            return _open(w, kb, creds.id, now)
    except AccountLocked as exc:  # locked by attempts that finished while this one was checked
        raise SignInRefused("sign_in_locked", **exc.phrase.values) from None


def _count_failure(kb: KnowledgeBase, settings: Settings, user_id: int) -> NoReturn:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=settings.lockout_minutes)
    with kb.write(SIGN_IN_ACTOR) as w:
        locked = w.record_failed_sign_in(user_id, attempts=settings.lockout_attempts, lock_until=until)
    raise SignInRefused("sign_in_locked", until=locked) if locked else SignInRefused("sign_in_wrong")


def sign_in_by_email(kb: KnowledgeBase, email: str, *, verified: bool | None = None) -> SignedIn:
    """A session for the active account with this e-mail, as single sign-on vouches for it; an address no
    account has is refused, never given a new account, and so is one the provider says it has not verified
    (``verified`` False: its users may type any address)."""
    user = kb.user_by_email(email) if email and verified is not False else None
    if user is None or not user.active:
        raise SignInRefused("sign_in_unknown_email", email=email or "?")
    with kb.write(user.name) as w:
        return _open(w, kb, user.id, dt.datetime.now(dt.UTC))


def _open(w: Writer, kb: KnowledgeBase, user_id: int, now: dt.datetime) -> SignedIn:
    token = secrets.token_urlsafe(32)
    w.open_session(user_id, token_hash(token), now)
    return SignedIn(Account.signed_in(kb.user_by_id(user_id)), token)


def resume(kb: KnowledgeBase, settings: Settings, token: str | None) -> Account | None:
    """The account a browser's session token stands for, as it is now (its role may have changed), or None if
    the session ended, was idle longer than ``settings.session_idle_hours``, or its account was disabled."""
    session = kb.session(token_hash(token)) if token else None
    if session is None or session.ended_at is not None:
        return None
    now = dt.datetime.now(dt.UTC)
    user = kb.user_by_id(session.user_id)
    idle = now - session.last_seen_at > dt.timedelta(hours=settings.session_idle_hours)
    if idle or not user.active:
        with kb.write(user.name) as w:
            w.end_session(session.id, now)
        return None
    if now - session.last_seen_at > _TOUCH_EVERY:
        try:
            with kb.write(user.name) as w:
                w.touch_session(session.id, now)
        except KnowledgeBaseBusy:  # a long import holds the database: the next page records it
            pass
    return Account.signed_in(user)


def sign_out(kb: KnowledgeBase, token: str) -> None:
    session = kb.session(token_hash(token))
    if session is not None:
        with kb.write(kb.user_by_id(session.user_id).name) as w:
            w.end_session(session.id, dt.datetime.now(dt.UTC))


def change_password(kb: KnowledgeBase, settings: Settings, current: str, new: str, *, actor: Account) -> SignedIn:
    """The signed-in account's own password, given the current one (a wrong one counts towards the lockout, as at
    sign-in). Every session of the account ends (one left signed in elsewhere may be why it is changed); the one
    returned continues here."""
    # One read: a name never holds "@", so it cannot stand for another account's e-mail.
    creds = kb.credentials(actor.name) if actor.id is not None else None
    if creds is None or creds.id != actor.id:
        raise SignInRefused("password_current_wrong")
    if not password_matches(creds.password_hash, current):
        try:
            _count_failure(kb, settings, creds.id)
        except SignInRefused as exc:
            raise SignInRefused("password_current_wrong") if exc.phrase.code == "sign_in_wrong" else exc from None
    with kb.write(actor.name) as w:
        w.set_password_hash(creds.id, hash_password(new))
        return _open(w, kb, creds.id, dt.datetime.now(dt.UTC))
