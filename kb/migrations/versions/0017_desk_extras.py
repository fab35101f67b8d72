"""Merging duplicates and satisfaction ratings (``kb.desk_extras_models``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("duplicate_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("original_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("merged_by", sa.String(200), nullable=False),
        sa.Column("merged_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_merges_original_id", "merges", ["original_id"])
    op.create_table(
        "merged_messages",
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("from_incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("from_message_id", sa.Integer, sa.ForeignKey("messages.id")),
    )
    op.create_index("ix_merged_messages_from_incident_id", "merged_messages", ["from_incident_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("asked_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("agent", sa.String(200)),
        sa.Column("category", sa.String(100)),
        sa.Column("score", sa.String(10)),
        sa.Column("comment", sa.Text),
        sa.Column("answered_at", UTCDateTime),
    )
    op.create_index("ix_ratings_incident_id", "ratings", ["incident_id"])


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("merged_messages")
    op.drop_table("merges")
