"""Alembic environment: always runs on a connection handed over by the server."""

from __future__ import annotations

from alembic import context

from server.storage.tables import compared_by_migrations, metadata

connection = context.config.attributes["connection"]
# include_name: the search index (migration 0007) is per-engine DDL that tables.py does
# not describe; autogenerate must neither drop it nor diff its FTS5 shadow tables.
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_name=compared_by_migrations,
)
with context.begin_transaction():
    context.run_migrations()
