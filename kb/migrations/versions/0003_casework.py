"""The agent's workflow: users, case versions (optimistic locking), conversations, stored suggestions and the
agents' decisions on them, escalation hand-offs, followers and reply templates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _incident_id() -> sa.Column:
    return sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.Integer))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        batch.create_foreign_key("fk_incidents_duplicate_of", "incidents", ["duplicate_of"], ["id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        _incident_id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer, primary_key=True),
        _incident_id(),
        sa.Column("target", sa.String(30), nullable=False),
        sa.Column("value", sa.String(100)),
        sa.Column("best", sa.String(100)),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("model_version", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("decision", sa.String(10)),
        sa.Column("final_value", sa.String(100)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTCDateTime),
        sa.UniqueConstraint("incident_id", "target"),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True),
        _incident_id(),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("package", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("posted", sa.Text),
    )
    op.create_table(
        "followers",
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("user", sa.String(200), primary_key=True),
    )
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject_keywords", sa.JSON, nullable=False),
        sa.Column("body_keywords", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("reply_templates", "followers", "handoffs", "suggestions", "messages", "users"):
        op.drop_table(table)
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint("fk_incidents_duplicate_of", type_="foreignkey")
        batch.drop_column("version")
        batch.drop_column("duplicate_of")
