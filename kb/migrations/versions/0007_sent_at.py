"""What a mail's Date header claims, kept apart from when it came in: ``sent_at`` on incidents and messages. The
header is the sender's to write, so it no longer sets a case's intake time (nor moves its SLA clocks).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("incidents", "messages"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("sent_at", UTCDateTime))


def downgrade() -> None:
    for table in ("messages", "incidents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sent_at")
