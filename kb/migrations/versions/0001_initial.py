"""Initial schema: requesters with their addresses, incidents, the append-only event log, kb_meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "SELECT RAISE(ABORT, 'the event log is append-only: events cannot be changed or deleted')"


def upgrade() -> None:
    op.create_table(
        "requesters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "requester_emails",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("requester_id", sa.Integer, sa.ForeignKey("requesters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
    )
    op.create_index("ix_requester_emails_requester_id", "requester_emails", ["requester_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_key", sa.String(100), unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("requester_id", sa.Integer, sa.ForeignKey("requesters.id")),
        sa.Column("category", sa.String(100)),
        sa.Column("priority", sa.String(2)),
        sa.Column("escalation_level", sa.String(4)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("assignee", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("resolution", sa.Text),
        sa.Column("root_cause", sa.Text),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_requester_id", "incidents", ["requester_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("field", sa.String(50)),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
    )
    op.create_index("ix_events_entity", "events", ["entity", "entity_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN {APPEND_ONLY}; END")
        op.execute(f"CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN {APPEND_ONLY}; END")
    meta = op.create_table(
        "kb_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.bulk_insert(
        meta,
        [{"key": "kb_id", "value": uuid.uuid4().hex}, {"key": "corpus_generation", "value": "0"}],
    )


def downgrade() -> None:
    for table in ("kb_meta", "events", "incidents", "requester_emails", "requesters"):
        op.drop_table(table)
