"""Similar-case vectors kept in their table's rows, not in its TOAST table: a vector of 512 numbers (2 KB) is just
over PostgreSQL's default threshold for moving a value out of line, so every vector read cost a second lookup.
Rows up to a page (8,160 bytes: 2,000 numbers) stay inline; an exact search of the vectors a filter allows then
reads a third less (bench/scale.py). Rows already stored move inline when they are next written
(``incident-kb reindex`` rewrites them all).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_vectors SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_vectors RESET (toast_tuple_target)")
