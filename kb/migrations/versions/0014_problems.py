"""Problem records and known errors: problems, and the incidents linked to them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("root_cause", sa.Text, nullable=False),
        sa.Column("workaround", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_problems_status", "problems", ["status"])
    op.create_table(
        "problem_links",
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("problems.id"), nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.Column("linked_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_problem_links_problem_id", "problem_links", ["problem_id"])


def downgrade() -> None:
    op.drop_table("problem_links")
    op.drop_table("problems")
