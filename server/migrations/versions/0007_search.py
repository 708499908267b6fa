"""Full-text search of messages (issue 12), one index per engine.

What is searchable: text (101) and @ (106) messages by their text, files (105) by their
file name. Notifications, pictures and tombstones are not: a revocation replaces the
content (and its type), and the index follows at once, in the same transaction.

- SQLite: an FTS5 table ``message_search`` (contentless: it keeps the index, not a copy
  of the text; unicode61 tokenizer, case and diacritics folded), whose rowid is
  ``message_search_docs.doc_id`` — an INTEGER PRIMARY KEY naming (conversation_id, seq).
  Its second column holds one token, the conversation's ID in hex, so a search in one
  conversation is an FTS5 intersection rather than a probe of the index per message.
  A separate key, not the rowid of ``messages``: that table has no INTEGER PRIMARY KEY,
  so VACUUM or a table rebuild may renumber its rowids, and the index would point at
  other messages. Triggers on ``messages`` keep both in step (insert; update of the key,
  the content or its type; delete). Note for later migrations: alembic's batch mode
  rebuilds a table it alters on SQLite, which drops that table's triggers — a migration
  that alters ``messages`` must create these triggers again.
- PostgreSQL: a GIN index on the expression ``to_tsvector('simple', …)`` of the same
  text, partial (only the three searchable types). ASCII punctuation is turned into
  spaces first, so both engines split "report.pdf" or "bob@example.com" into words
  (PostgreSQL's parser would keep them whole). ``server/storage/search.py`` repeats the
  expression exactly: the planner uses the index only for that expression.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SEARCHABLE = "101, 105, 106"  # TEXT, FILE, AT_TEXT

# -- SQLite ---------------------------------------------------------------------------------


def _sqlite_text(row: str) -> str:
    """The indexed text of the messages row ``row`` (new or old), NULL if not searchable."""
    return (
        f"CASE {row}.content_type WHEN 101 THEN {row}.content"
        f" WHEN 106 THEN json_extract({row}.content, '$.text')"
        f" WHEN 105 THEN json_extract({row}.content, '$.fileName') END"
    )


def _sqlite_forget(row: str) -> list[str]:
    # A contentless FTS5 table removes a row by being told its indexed text again.
    return [
        "INSERT INTO message_search (message_search, rowid, body, conversation)"
        f" SELECT 'delete', d.doc_id, {_sqlite_text(row)}, hex({row}.conversation_id)"
        " FROM message_search_docs AS d"
        f" WHERE d.conversation_id = {row}.conversation_id AND d.seq = {row}.seq;",
        "DELETE FROM message_search_docs"
        f" WHERE conversation_id = {row}.conversation_id AND seq = {row}.seq;",
    ]


def _sqlite_index(row: str) -> list[str]:
    return [
        "INSERT INTO message_search_docs (conversation_id, seq)"
        f" SELECT {row}.conversation_id, {row}.seq WHERE {row}.content_type IN ({_SEARCHABLE});",
        "INSERT INTO message_search (rowid, body, conversation)"
        f" SELECT d.doc_id, {_sqlite_text(row)}, hex({row}.conversation_id)"
        " FROM message_search_docs AS d"
        f" WHERE d.conversation_id = {row}.conversation_id AND d.seq = {row}.seq;",
    ]


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE TABLE message_search_docs ("
        " doc_id INTEGER PRIMARY KEY,"
        " conversation_id VARCHAR(80) NOT NULL,"
        " seq BIGINT NOT NULL,"
        " UNIQUE (conversation_id, seq))"
    )
    # columnsize=0: no per-row token counts (they serve ranking, which is not used).
    op.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5("
        "body, conversation, content='', columnsize=0,"
        " tokenize='unicode61 remove_diacritics 2')"
    )
    triggers = {
        "message_search_insert": ("AFTER INSERT ON messages", _sqlite_index("new")),
        "message_search_update": (
            "AFTER UPDATE OF conversation_id, seq, content_type, content ON messages",
            _sqlite_forget("old") + _sqlite_index("new"),
        ),
        "message_search_delete": ("AFTER DELETE ON messages", _sqlite_forget("old")),
    }
    for name, (when, body) in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {' '.join(body)} END")
    # Messages stored before this revision, oldest first.
    op.execute(
        "INSERT INTO message_search_docs (conversation_id, seq)"
        f" SELECT conversation_id, seq FROM messages WHERE content_type IN ({_SEARCHABLE})"
        " ORDER BY send_time, conversation_id, seq"
    )
    op.execute(
        "INSERT INTO message_search (rowid, body, conversation)"
        f" SELECT d.doc_id, {_sqlite_text('m')}, hex(m.conversation_id)"
        " FROM message_search_docs AS d"
        " JOIN messages AS m ON m.conversation_id = d.conversation_id AND m.seq = d.seq"
    )


def _sqlite_downgrade() -> None:
    for name in ("message_search_insert", "message_search_update", "message_search_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS message_search")
    op.execute("DROP TABLE IF EXISTS message_search_docs")


# -- PostgreSQL -----------------------------------------------------------------------------

# The same text as on SQLite, ASCII punctuation made spaces. Repeated in storage/search.py.
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_POSTGRES_DOCUMENT = (
    "to_tsvector('simple'::regconfig, translate("
    "CASE content_type WHEN 101 THEN content"
    " WHEN 106 THEN (content::json ->> 'text')"
    " WHEN 105 THEN (content::json ->> 'fileName') END, "
    "'" + _PUNCTUATION.replace("'", "''") + "', '" + " " * len(_PUNCTUATION) + "'))"
)


def _postgres_upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_messages_search ON messages USING gin ({_POSTGRES_DOCUMENT})"
        f" WHERE content_type IN ({_SEARCHABLE})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_search")
