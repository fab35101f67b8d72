"""The knowledge base: storage (SQLAlchemy, SQLite by default), the event log and the vector index."""

from __future__ import annotations

from kb.errors import (
    AlreadyClaimed,
    IncidentNotFound,
    IndexCorrupt,
    IndexMismatch,
    InvalidValue,
    KnowledgeBaseUnavailable,
    ModelVersionNotFound,
    RequesterNotFound,
    StaleEdit,
    UserNotFound,
)
from kb.records import (
    CaseFilter,
    EventRecord,
    HandoffRecord,
    IncidentRecord,
    KBStats,
    MessageRecord,
    ModelVersionRecord,
    RequesterRecord,
    SuggestionRecord,
    TemplateRecord,
    ThresholdPolicyRecord,
    UserRecord,
)
from kb.store import KnowledgeBase
from kb.writer import Writer

__all__ = [
    "AlreadyClaimed",
    "CaseFilter",
    "EventRecord",
    "HandoffRecord",
    "IncidentNotFound",
    "IncidentRecord",
    "IndexCorrupt",
    "IndexMismatch",
    "InvalidValue",
    "KBStats",
    "KnowledgeBase",
    "KnowledgeBaseUnavailable",
    "MessageRecord",
    "ModelVersionNotFound",
    "ModelVersionRecord",
    "RequesterNotFound",
    "RequesterRecord",
    "StaleEdit",
    "SuggestionRecord",
    "TemplateRecord",
    "ThresholdPolicyRecord",
    "UserNotFound",
    "UserRecord",
    "Writer",
]
