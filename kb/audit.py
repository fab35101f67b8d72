"""The event log: every flush of a write session records who changed what, from what to what.

Hooked into the session factory, so no write can bypass it. It also counts changes to the searchable corpus
(resolved incidents and their text) in ``kb_meta.corpus_generation``, which tells a vector index it is stale.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import Integer, Text, cast, event, insert, inspect, update
from sqlalchemy.orm import Session, sessionmaker

from kb import models
from kb.models import utcnow
from kb.pgvector import mark_pending
from kb.vocab import RESOLVED_STATUSES

logger = logging.getLogger(__name__)

# Fields whose change alters what a resolved incident contributes to the similar-case index.
_CORPUS_FIELDS = {"title", "body"}
_UNLOGGED_FIELDS = {"id", "updated_at", "version", "incident_id"}
# Logged as changed, never with their values: even a hash is for the accounts table alone.
_SECRET_FIELDS = {"password_hash"}
_EVENT_COLUMNS = ("at", "actor", "entity", "entity_id", "action", "field", "old_value", "new_value")
# What the event log calls each kind of audited row.
_ENTITIES = {
    models.Incident: "incident",
    models.Requester: "requester",
    models.ModelVersion: "model_version",
    models.User: "user",
    models.ReplyTemplate: "reply_template",
    models.ThresholdPolicy: "threshold_policy",
}
# Rows that belong to one case: logged in the case's history, as "add_message", "suggestion.decision", ...
_CASE_PARTS = {
    models.Message: "message",
    models.Suggestion: "suggestion",
    models.Handoff: "handoff",
    models.Follower: "follower",
}


class ReadOnlySession(RuntimeError):
    """A write was attempted outside ``KnowledgeBase.write(actor)``."""


def install(sessions: sessionmaker) -> None:
    event.listen(sessions, "before_flush", _before_flush)
    event.listen(sessions, "after_flush", _after_flush)


def _text(value: Any, field: str | None = None) -> str | None:
    if value is None:
        return None
    if field in _SECRET_FIELDS:
        return "(secret)"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _snapshot(obj: object) -> str:
    columns = inspect(obj).mapper.column_attrs
    values = {c.key: _text(getattr(obj, c.key), c.key) for c in columns if c.key not in _UNLOGGED_FIELDS}
    return json.dumps({k: v for k, v in values.items() if v is not None}, ensure_ascii=False)


def _is_resolved(status: str | None) -> bool:
    return status in RESOLVED_STATUSES


def change_time(session: Session) -> dt.datetime:
    """When the session's changes happen: now, unless the write replays past work (``write(actor, at=...)``)."""
    return session.info.get("at") or utcnow()


def _before_flush(session: Session, flush_context, instances) -> None:
    if "actor" not in session.info:
        raise ReadOnlySession("writes must go through KnowledgeBase.write(actor), which records who made them")
    now = change_time(session)
    for obj in session.dirty:
        if isinstance(obj, models.Incident) and session.is_modified(obj, include_collections=False):
            obj.updated_at = now


def _changes(obj: object) -> list[tuple[str, Any, Any]]:
    """(field, old value, new value) of every column this flush changes."""
    state = inspect(obj)
    changed = []
    for column in state.mapper.column_attrs:
        history = state.attrs[column.key].history
        if history.added and column.key not in _UNLOGGED_FIELDS:
            old = history.deleted[0] if history.deleted else None
            changed.append((column.key, old, history.added[0]))
    return changed


def _after_flush(session: Session, flush_context) -> None:
    actor, now = session.info["actor"], change_time(session)
    rows: list[dict[str, Any]] = []
    corpus_changed: set[int] = set()  # incidents whose place in the searchable corpus changed

    def log(entity: str, entity_id: int, action: str, field=None, old=None, new=None) -> None:
        values = (now, actor, entity, entity_id, action, field, _text(old, field), _text(new, field))
        rows.append(dict(zip(_EVENT_COLUMNS, values, strict=True)))

    for obj in session.new:
        if type(obj) in _ENTITIES:
            log(_ENTITIES[type(obj)], obj.id, "create", new=_snapshot(obj))
            if isinstance(obj, models.Incident) and _is_resolved(obj.status):
                corpus_changed.add(obj.id)
        elif isinstance(obj, models.RequesterEmail):
            log("requester", obj.requester_id, "link_email", field="address", new=obj.address)
        elif type(obj) in _CASE_PARTS:
            log("incident", obj.incident_id, f"add_{_CASE_PARTS[type(obj)]}", new=_snapshot(obj))

    for obj in session.dirty:
        if type(obj) in _CASE_PARTS:
            part = _CASE_PARTS[type(obj)]
            part = f"{part}.{obj.target}" if isinstance(obj, models.Suggestion) else part
            for field, old, new in _changes(obj):
                log("incident", obj.incident_id, "update", f"{part}.{field}", old, new)
        elif type(obj) in _ENTITIES:
            for field, old, new in _changes(obj):
                log(_ENTITIES[type(obj)], obj.id, "update", field, old, new)
                resolving = field == "status" and _is_resolved(old) != _is_resolved(new)
                rewording = field in _CORPUS_FIELDS and _is_resolved(obj.status)
                if isinstance(obj, models.Incident) and (resolving or rewording):
                    corpus_changed.add(obj.id)

    for obj in session.deleted:
        if isinstance(obj, models.RequesterEmail):
            log("requester", obj.requester_id, "unlink_email", field="address", old=obj.address)
        elif type(obj) in _CASE_PARTS:
            log("incident", obj.incident_id, f"remove_{_CASE_PARTS[type(obj)]}", old=_snapshot(obj))
        elif type(obj) in _ENTITIES:
            log(_ENTITIES[type(obj)], obj.id, "delete", old=_snapshot(obj))
            if isinstance(obj, models.Incident) and _is_resolved(obj.status):
                corpus_changed.add(obj.id)

    connection = session.connection()
    if rows:
        connection.execute(insert(models.Event.__table__), rows)
    if corpus_changed:
        value = models.Meta.__table__.c.value
        connection.execute(
            update(models.Meta.__table__)
            .where(models.Meta.__table__.c.key == "corpus_generation")
            .values(value=cast(cast(value, Integer) + 1, Text))
        )
        if connection.dialect.name == "postgresql":  # the shared index (kb.pgvector) writes their vectors next
            mark_pending(connection, sorted(corpus_changed))
