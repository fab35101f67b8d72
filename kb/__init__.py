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
    NewModelVersion,
    NewSuggestion,
    NewTemplate,
    RequesterRecord,
    SuggestionRecord,
    TemplateRecord,
    ThresholdPolicyRecord,
    UserRecord,
)
from kb.store import KnowledgeBase, sqlite_file
from kb.writer import Writer, normalise_email

__all__ = [
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
    "NewModelVersion",
    "NewSuggestion",
    "NewTemplate",
    "RequesterNotFound",
    "RequesterRecord",
    "StaleEdit",
    "SuggestionRecord",
    "TemplateRecord",
    "ThresholdPolicyRecord",
    "UserNotFound",
    "UserRecord",
    "Writer",
    "normalise_email",
    "sqlite_file",
]
