"""Accounts and their sessions: how they are kept (mixed into ``Writer``) and found (mixed into
``KnowledgeBase``). Storage only: who may sign in, when an account locks and how long a session lasts are the
pipeline's rules; here a password is only ever a hash and a session only ever its token's hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from kb.errors import AccountLocked, InvalidValue, UserNotFound
from kb.models import User, UserSession
from kb.records import Credentials, SessionRecord, UserRecord
from kb.vocab import check, required

# What an account's row may be changed to through ``update_user``; the password and the sign-in counters have
# their own writes, which say what happened.
_EDITABLE = ("role", "active", "email")


class AccountReads:
    """The accounts' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def users(self, *, active_only: bool = True) -> list[UserRecord]:
        query = select(User).order_by(User.name)
        if active_only:
            query = query.where(User.active)
        with self._read() as s:
            return [UserRecord.from_row(row) for row in s.scalars(query)]

    def user(self, name: str) -> UserRecord:
        with self._read() as s:
            row = s.scalar(select(User).where(User.name == name))
            if row is None:
                raise UserNotFound("user_not_found", name=name)
            return UserRecord.from_row(row)

    def user_by_id(self, user_id: int) -> UserRecord:
        with self._read() as s:
            row = s.get(User, user_id)
            if row is None:
                raise UserNotFound("user_id_not_found", id=user_id)
            return UserRecord.from_row(row)

    def user_by_email(self, address: str) -> UserRecord | None:
        with self._read() as s:
            row = s.scalar(select(User).where(User.email == address.strip().lower()))
            return None if row is None else UserRecord.from_row(row)

    def credentials(self, login: str) -> Credentials | None:
        """The account whose name (exactly) or e-mail (in any case) is ``login``, as a sign-in checks it."""
        login = login.strip()
        with self._read() as s:
            row = s.scalar(select(User).where(or_(User.name == login, User.email == login.lower())).limit(1))
            return None if row is None else Credentials.from_row(row)

    def session(self, token_hash: str) -> SessionRecord | None:
        with self._read() as s:
            row = s.scalar(select(UserSession).where(UserSession.token_hash == token_hash))
            return None if row is None else SessionRecord.from_row(row)


class AccountWrites:
    """The accounts' writes, for ``Writer``."""

    _session: Session

    def _user_row(self, user_id: int) -> User:
        row = self._session.get(User, user_id)
        if row is None:
            raise UserNotFound("user_id_not_found", id=user_id)
        return row

    def add_user(
        self, name: str, role: str = "agent", *, email: str | None = None, password_hash: str | None = None
    ) -> int:
        check("role", role)
        name = required("what_user_name", name)
        if "@" in name:  # sign-in takes a name or an e-mail: a name must never read as someone's address
            raise InvalidValue("user_name_with_at", name=name)
        if self._session.scalar(select(User.id).where(User.name == name)) is not None:
            raise InvalidValue("user_exists", name=name)
        email = self._unused_email(email)
        user = User(name=name, role=role, active=True, email=email, password_hash=password_hash, failed_sign_ins=0)
        self._session.add(user)
        self._session.flush()
        return user.id

    def _unused_email(self, email: str | None, user_id: int | None = None) -> str | None:
        if not email:
            return None
        taken = self._session.scalar(select(User.id).where(User.email == email))
        if taken is not None and taken != user_id:
            raise InvalidValue("user_email_taken", address=email)
        return email

    def update_user(self, user_id: int, **changes: Any) -> None:
        """Change an account's ``role``, ``active`` flag or ``email``."""
        row = self._user_row(user_id)
        for field, value in changes.items():
            if field not in _EDITABLE:
                raise TypeError(f"cannot edit a user's {field}; editable: {', '.join(_EDITABLE)}")
            check(field, value)
            setattr(row, field, self._unused_email(value, user_id) if field == "email" else value)
        self._session.flush()

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """A new password (its hash): the lockout is lifted and every session of the account ends."""
        row = self._user_row(user_id)
        row.password_hash, row.failed_sign_ins, row.locked_until = password_hash, 0, None
        self.end_sessions(user_id)
        self._session.flush()

    def record_failed_sign_in(self, user_id: int, *, attempts: int, lock_until: dt.datetime) -> dt.datetime | None:
        """One more failed sign-in, counted in one statement (attempts at the same moment each count); the one
        that reaches ``attempts`` locks the account until ``lock_until`` and starts the count over. Returns the
        account's lock, if it is locked now."""
        count = User.failed_sign_ins + 1
        self._session.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                failed_sign_ins=case((count >= attempts, 0), else_=count),
                locked_until=case((count >= attempts, lock_until), else_=User.locked_until),
            )
        )
        return self._locked_until(user_id)

    def _locked_until(self, user_id: int) -> dt.datetime | None:
        now = dt.datetime.now(dt.UTC)
        until = self._session.scalar(select(User.locked_until).where(User.id == user_id))
        return until if until is not None and until > now else None

    def active_admins_now(self) -> int:
        """Active admins as this transaction sees them (its own changes included)."""
        self._session.flush()
        return self._session.scalar(select(func.count()).where(User.role == "admin", User.active))

    def open_session(self, user_id: int, token_hash: str, at: dt.datetime) -> None:
        """A signed-in session; AccountLocked if the account locked since its password was checked."""
        if until := self._locked_until(user_id):
            raise AccountLocked("sign_in_locked", until=until)
        row = self._user_row(user_id)
        row.failed_sign_ins, row.locked_until, row.last_sign_in_at = 0, None, at
        self._session.add(UserSession(token_hash=token_hash, user_id=user_id, created_at=at, last_seen_at=at))
        self._session.flush()

    def touch_session(self, session_id: int, at: dt.datetime) -> None:
        self._session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=at))

    def end_session(self, session_id: int, at: dt.datetime) -> None:
        self._session.execute(
            update(UserSession).where(UserSession.id == session_id, UserSession.ended_at.is_(None)).values(ended_at=at)
        )

    def end_sessions(self, user_id: int) -> None:
        """End every open session of an account: its password changed, or it was disabled."""
        self._session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(ended_at=dt.datetime.now(dt.UTC))
        )
