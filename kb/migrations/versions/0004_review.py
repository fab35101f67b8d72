"""The leads' review: versioned threshold policies, the policy each stored suggestion was made under, the criteria
ticked for each escalation, and discarded model versions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "threshold_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("precision", sa.JSON, nullable=False),
        sa.Column("class_thresholds", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("threshold_version", sa.Integer))
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("criteria", sa.JSON))
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("discarded_at", UTCDateTime))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("discarded_at")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("criteria")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("threshold_version")
    op.drop_table("threshold_policies")
