"""On PostgreSQL the similar-case vectors live in the database (``kb.pgvector``), so every app process shares one
index: ``search_vectors`` holds each view's vector per key, with ``seq`` counting changes for the processes that
keep the rest of the search (its lexical view) in memory; ``search_pending`` lists the cases whose vectors are
still to be written. The HNSW indexes are made when vectors are first
built, once their length (the embedding model's) is known. SQLite keeps its faiss file and has no such table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE search_vectors_seq")
    op.create_table(
        "search_vectors",
        sa.Column("view", sa.String(20), primary_key=True),
        sa.Column("key", sa.BigInteger, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("embedding", Vector(), nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("nextval('search_vectors_seq')")),
    )
    op.create_index("ix_search_vectors_seq", "search_vectors", ["seq"])
    # Resolved cases whose vectors are not written yet (an import, an edit of a resolved case's text, a reopened
    # case): filled by the event log's hook in the writing transaction, drained by whichever process searches next.
    op.create_table(
        "search_pending",
        sa.Column("incident_id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("search_pending")
    op.drop_table("search_vectors")
    op.execute("DROP SEQUENCE search_vectors_seq")
