"""Knowledge articles (``kb.article_models``): articles and their versions, each save a new row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source_incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("published_version", sa.Integer),
        sa.Column("published_by", sa.String(200)),
        sa.Column("published_at", UTCDateTime),
    )
    op.create_index("ix_articles_category", "articles", ["category"])
    op.create_index("ix_articles_status", "articles", ["status"])
    op.create_index("ix_articles_source_incident_id", "articles", ["source_incident_id"])
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("symptoms", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("fix", sa.Text, nullable=False),
        sa.Column("edited_by", sa.String(200), nullable=False),
        sa.Column("edited_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("article_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("article_versions")
    op.drop_index("ix_articles_source_incident_id", "articles")
    op.drop_index("ix_articles_status", "articles")
    op.drop_index("ix_articles_category", "articles")
    op.drop_table("articles")
