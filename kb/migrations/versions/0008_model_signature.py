"""Model files are signed: the registry keeps an HMAC-SHA256 of each artifact under a key kept outside the data
folder, instead of its plain SHA-256, which anyone who could replace the file could also have rewritten. Versions
registered before carry no signature and are refused until retrained.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column("sha256", new_column_name="signature")
    op.execute("UPDATE model_versions SET signature = 'unsigned'")  # a plain hash proves nothing now


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column("signature", new_column_name="sha256")
