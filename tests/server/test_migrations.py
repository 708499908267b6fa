"""The migrations build exactly the schema that ``storage/tables.py`` describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.storage import Database
from server.storage.tables import compared_by_migrations, metadata


def test_migrated_schema_matches_the_tables(database_url):
    db = Database(database_url)
    db.migrate()
    db.migrate()  # a second start on a migrated database changes nothing
    with db.engine.connect() as conn:
        # The search index's per-engine objects are left out (see tables.py) and checked
        # in test_search.py.
        context = MigrationContext.configure(conn, opts={"include_name": compared_by_migrations})
        differences = compare_metadata(context, metadata)
    db.dispose()
    assert differences == []


def test_existing_memberships_get_their_conversations_max_seq(database_url):
    """0003 copies max_seq into every membership of a database made before it."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from server.storage import _MIGRATIONS

    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.connect().execution_options(tidemark_write=True) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.execute(
            text(
                "INSERT INTO users (user_id, nickname, password_hash, version, created_at)"
                " VALUES ('a', 'a', 'x', 1, 0), ('b', 'b', 'x', 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversations (conversation_id, conversation_type, max_seq,"
                " created_at) VALUES ('si_a_b', 1, 7, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO members (user_id, conversation_id, peer_id, has_read_seq,"
                " peer_has_read_seq, version) VALUES ('a', 'si_a_b', 'b', 7, 2, 1),"
                " ('b', 'si_a_b', 'a', 2, 7, 1)"
            )
        )
        conn.commit()
    db.migrate()
    with db.read() as conn:
        rows = conn.execute(text("SELECT user_id, max_seq, has_read_seq FROM members")).all()
    db.dispose()
    assert sorted(tuple(r) for r in rows) == [("a", 7, 7), ("b", 7, 2)]


def test_existing_records_keep_their_state_through_0005(database_url):
    """0005's new settings start as: not muted, not pinned, no mentions, no flag, shown."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from server.storage import _MIGRATIONS
    from server.storage import conversations as conversation_store

    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.connect().execution_options(tidemark_write=True) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
        conn.execute(
            text(
                "INSERT INTO users (user_id, nickname, password_hash, version, created_at)"
                " VALUES ('a', 'a', 'x', 1, 0), ('b', 'b', 'x', 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversations (conversation_id, conversation_type, max_seq,"
                " created_at) VALUES ('si_a_b', 1, 3, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO members (user_id, conversation_id, peer_id, has_read_seq,"
                " peer_has_read_seq, max_seq, version) VALUES"
                " ('a', 'si_a_b', 'b', 3, 1, 3, 1), ('b', 'si_a_b', 'a', 1, 3, 3, 1)"
            )
        )
        conn.commit()
    db.migrate()
    with db.read() as conn:
        records = conversation_store.conversation_records(conn, ["a", "b"])
        totals = conversation_store.versions_and_totals(conn, ["a", "b"])
    db.dispose()
    for user_id, unread in (("a", 0), ("b", 2)):
        (record,) = records[user_id]
        assert record["unreadCount"] == unread
        assert (record["recvMsgOpt"], record["isPinned"], record["isHidden"]) == (0, False, False)
        assert (record["groupAtType"], record["mentionCount"], record["isMarkedUnread"]) == (
            0,
            0,
            False,
        )
        assert totals[user_id] == (1, unread)
