"""The knowledge base: storage (SQLAlchemy, SQLite by default), the event log and the vector index."""

from __future__ import annotations

from kb.errors import (
    IncidentNotFound,
    IndexCorrupt,
    IndexMismatch,
    InvalidValue,
    KnowledgeBaseUnavailable,
    ModelVersionNotFound,
    RequesterNotFound,
)
from kb.records import CaseFilter, EventRecord, IncidentRecord, KBStats, ModelVersionRecord, RequesterRecord
from kb.store import KnowledgeBase
from kb.writer import Writer

__all__ = [
    "CaseFilter",
    "EventRecord",
    "IncidentNotFound",
    "IncidentRecord",
    "IndexCorrupt",
    "IndexMismatch",
    "InvalidValue",
    "KBStats",
    "KnowledgeBase",
    "KnowledgeBaseUnavailable",
    "ModelVersionNotFound",
    "ModelVersionRecord",
    "RequesterNotFound",
    "RequesterRecord",
    "Writer",
]
