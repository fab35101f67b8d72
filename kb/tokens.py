"""Bearer tokens of the HTTP API: how they are kept (mixed into ``Writer``) and found (mixed into ``KnowledgeBase``).
Storage only, and only ever a token's SHA-256: who may hold one and when one is refused are the pipeline's rules
(``pipeline.access.tokens``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.channel_models import ApiToken
from kb.errors import InvalidValue
from kb.records import TokenRecord

MAX_LABEL_CHARS = 100


class TokenReads:
    """The tokens' reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self._read() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
            return None if row is None else TokenRecord.from_row(row)

    def token(self, token_id: int) -> TokenRecord | None:
        with self._read() as s:
            row = s.get(ApiToken, token_id)
            return None if row is None else TokenRecord.from_row(row)

    def tokens(self, user_id: int) -> list[TokenRecord]:
        """An account's tokens, oldest first, revoked ones included."""
        with self._read() as s:
            rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
            return [TokenRecord.from_row(row) for row in rows]


class TokenWrites:
    """The tokens' writes, for ``Writer``; each is in the event log as the account's ``token_*`` event."""

    _session: Session
    now: Callable[[], dt.datetime]
    record_event: Callable[..., None]

    def add_token(self, user_id: int, token_hash: str, label: str = "") -> TokenRecord:
        label = (label or "").strip()
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidValue("api_token_label_long", max=MAX_LABEL_CHARS)
        row = ApiToken(user_id=user_id, token_hash=token_hash, label=label, created_at=self.now())
        self._session.add(row)
        self._session.flush()
        self.record_event("user", user_id, "token_issued", field="token", new_value=str(row.id))
        return TokenRecord.from_row(row)

    def touch_token(self, token_id: int, at: dt.datetime) -> None:
        self._session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))

    def revoke_token(self, token_id: int) -> TokenRecord | None:
        """Revoke a token (one revoked already stays as it was); None if there is no such token."""
        row = self._session.get(ApiToken, token_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = self.now()
            self._session.flush()
            self.record_event("user", row.user_id, "token_revoked", field="token", new_value=str(row.id))
        return TokenRecord.from_row(row)
