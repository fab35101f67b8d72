"""Escalation drills (``kb.drill_models``): each answer an agent gave.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drill_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("chosen_level", sa.String(4), nullable=False),
        sa.Column("criteria", sa.JSON, nullable=False),
        sa.Column("correct_level", sa.String(4), nullable=False),
        sa.Column("expected_criteria", sa.JSON, nullable=False),
        sa.Column("level_right", sa.Boolean, nullable=False),
        sa.Column("criteria_overlap", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_drill_answers_agent", "drill_answers", ["agent"])
    op.create_index("ix_drill_answers_incident_id", "drill_answers", ["incident_id"])
    op.create_index("ix_drill_answers_answered_at", "drill_answers", ["answered_at"])


def downgrade() -> None:
    op.drop_table("drill_answers")
