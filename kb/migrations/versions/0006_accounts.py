"""Accounts that sign in: an e-mail, an argon2id password hash, failed sign-ins and a lockout, the last sign-in,
and the sessions of signed-in browsers (their tokens kept only as SHA-256).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
        batch.add_column(sa.Column("password_hash", sa.String(200)))
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", UTCDateTime))
        batch.add_column(sa.Column("last_sign_in_at", UTCDateTime))
        batch.create_unique_constraint("uq_users_email", ["email"])
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("user_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_email", type_="unique")
        for column in ("last_sign_in_at", "locked_until", "failed_sign_ins", "password_hash", "email"):
            batch.drop_column(column)
