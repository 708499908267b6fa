"""The migrations build exactly the schema that ``storage/tables.py`` describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.storage import Database
from server.storage.tables import metadata


def test_migrated_schema_matches_the_tables(database_url):
    db = Database(database_url)
    db.migrate()
    db.migrate()  # a second start on a migrated database changes nothing
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert differences == []
