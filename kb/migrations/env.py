"""Alembic environment: runs on the connection that ``kb.schema.upgrade`` hands over."""

from __future__ import annotations

from alembic import context

from kb.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
)
with context.begin_transaction():
    context.run_migrations()
