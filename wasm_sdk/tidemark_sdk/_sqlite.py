"""A :class:`~tidemark_sdk.Store` in an SQLite file (stdlib ``sqlite3``), for CPython.

Each method is one transaction; the version guard of rule 10 is in the SQL itself, so
two clients sharing one file (like two browser tabs sharing IndexedDB) cannot regress
each other. Calls are synchronous: they are short, local, and keep this free of threads.
Records are kept as JSON, so the stored shape is exactly what the server sent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from typing import Any, cast

from tidemark_sdk._models import (
    CACHE_SCHEMA,
    Applied,
    CacheMeta,
    Change,
    Conversation,
    Draft,
    Message,
    Session,
    is_tombstone,
    rejoin_cut,
)

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    user_id TEXT NOT NULL, epoch TEXT NOT NULL, version INTEGER NOT NULL, schema INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY, version INTEGER NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    revoked INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE IF NOT EXISTS drafts (
    conversation_id TEXT PRIMARY KEY, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session (
    id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL
);
"""


class SqliteStore:
    def __init__(self, path: str | PathLike[str]) -> None:
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE, which
        # takes the write lock up front so the read-compare-write of apply() is atomic.
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        # A revoked message's text must not linger in freed pages: overwrite them.
        self._db.execute("PRAGMA secure_delete = ON")
        with self._transaction():
            # The file's layout is versioned by user_version: another layout is dropped,
            # the session with it (its table may have changed too).
            if self._db.execute("PRAGMA user_version").fetchone()[0] != CACHE_SCHEMA:
                for table in ("meta", "conversations", "messages", "drafts", "session"):
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
                self._db.execute(f"PRAGMA user_version = {CACHE_SCHEMA:d}")
            for statement in _TABLES.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def load(self) -> CacheMeta | None:
        row = self._db.execute("SELECT user_id, epoch, version, schema FROM meta").fetchone()
        if row is None:
            return None
        return CacheMeta(userID=row[0], epoch=row[1], version=row[2], schema=row[3])

    async def reset(
        self, meta: CacheMeta, conversations: Sequence[Conversation], messages: Sequence[Message]
    ) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT user_id FROM meta").fetchone()
            if row is None or row[0] != meta["userID"]:
                db.execute("DELETE FROM drafts")  # another user's cache: their drafts go
            db.execute("DELETE FROM conversations")
            db.execute("DELETE FROM messages")
            db.execute(
                "INSERT OR REPLACE INTO meta (id, user_id, epoch, version, schema)"
                " VALUES (1, ?, ?, ?, ?)",
                (meta["userID"], meta["epoch"], meta["version"], meta["schema"]),
            )
            db.executemany(
                "INSERT OR REPLACE INTO conversations VALUES (?, ?, ?)",
                [(c["conversationID"], c["version"], _dump(c)) for c in conversations],
            )
            for message in messages:
                db.execute(_PUT_MESSAGE, _message_row(message))

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        changes: list[Change] = []
        # The messages written, once per key (the last write: a tombstone over its message).
        stored: dict[tuple[str, int], Message] = {}
        with self._transaction() as db:
            for record in conversations:
                old = db.execute(
                    "SELECT record FROM conversations WHERE conversation_id = ?",
                    (record["conversationID"],),
                ).fetchone()
                # The guard is the WHERE clause: an older or equal version changes nothing.
                cursor = db.execute(
                    "INSERT INTO conversations VALUES (?, ?, ?)"
                    " ON CONFLICT (conversation_id) DO UPDATE"
                    " SET version = excluded.version, record = excluded.record"
                    " WHERE excluded.version > conversations.version",
                    (record["conversationID"], record["version"], _dump(record)),
                )
                if cursor.rowcount == 1:
                    previous = None if old is None else cast(Conversation, json.loads(old[0]))
                    changes.append(Change(old=previous, new=_copy(record)))
                    cut = rejoin_cut(previous, record)
                    if cut is not None:
                        # Before this call's messages are written: the join's own
                        # notification may come with the record. secure_delete
                        # overwrites the text.
                        db.execute(
                            "DELETE FROM messages WHERE conversation_id = ? AND seq <= ?",
                            (record["conversationID"], cut),
                        )
            for message in messages:
                cursor = db.execute(_PUT_MESSAGE, _message_row(message))
                if cursor.rowcount == 1:
                    stored[(message["conversationID"], message["seq"])] = _copy(message)
            if version is not None:
                db.execute("UPDATE meta SET version = MAX(version, ?)", (version,))
            row = db.execute("SELECT version FROM meta").fetchone()
            if row is None:
                raise RuntimeError("apply() before reset(): there is no cache")
        return Applied(version=row[0], changes=changes, messages=list(stored.values()))

    async def conversations(self) -> list[Conversation]:
        rows = self._db.execute("SELECT record FROM conversations").fetchall()
        return [cast(Conversation, json.loads(row[0])) for row in rows]

    async def messages(
        self, conversation_id: str, before_seq: int | None, count: int
    ) -> list[Message]:
        rows = self._db.execute(
            "SELECT record FROM messages WHERE conversation_id = ? AND seq < ?"
            " ORDER BY seq DESC LIMIT ?",
            (conversation_id, 2**63 - 1 if before_seq is None else before_seq, max(0, count)),
        ).fetchall()
        return [cast(Message, json.loads(row[0])) for row in reversed(rows)]

    async def drafts(self) -> list[Draft]:
        rows = self._db.execute("SELECT record FROM drafts").fetchall()
        return [cast(Draft, json.loads(row[0])) for row in rows]

    async def save_draft(self, draft: Draft) -> None:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM meta").fetchone() is None:
                raise RuntimeError("save_draft() before reset(): there is no cache")
            if draft["draftText"]:
                db.execute(
                    "INSERT OR REPLACE INTO drafts VALUES (?, ?)",
                    (draft["conversationID"], _dump(draft)),
                )
            else:
                db.execute(
                    "DELETE FROM drafts WHERE conversation_id = ?", (draft["conversationID"],)
                )

    async def load_session(self) -> Session | None:
        row = self._db.execute("SELECT record FROM session").fetchone()
        return None if row is None else cast(Session, json.loads(row[0]))

    async def save_session(self, session: Session | None) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM session")
            if session is not None:
                db.execute("INSERT INTO session VALUES (1, ?)", (_dump(session),))

    # -- CacheReader (tidemark_sdk._facade): one user's cache, so a plain read ----------

    async def peek_session(self) -> Session | None:
        return await self.load_session()

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        meta = await self.load()
        if meta is None or meta["userID"] != user_id:
            return []
        return await self.conversations()

    async def cached_drafts(self, user_id: str) -> list[Draft]:
        meta = await self.load()
        if meta is None or meta["userID"] != user_id:
            return []
        return await self.drafts()


# Messages are immutable, except that a tombstone replaces the message it revokes (never
# the reverse): the guard is the WHERE clause, so a row counts 1 only when written.
_PUT_MESSAGE = (
    "INSERT INTO messages VALUES (?, ?, ?, ?)"
    " ON CONFLICT (conversation_id, seq) DO UPDATE SET record = excluded.record, revoked = 1"
    " WHERE excluded.revoked = 1 AND messages.revoked = 0"
)


def _message_row(message: Message) -> tuple[str, int, str, int]:
    return (message["conversationID"], message["seq"], _dump(message), int(is_tombstone(message)))


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _copy[T](value: T) -> T:
    return cast(T, json.loads(_dump(value)))
