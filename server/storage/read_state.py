"""Read positions. They only move forward: every write is ``max(old, new)`` in SQL."""

from __future__ import annotations

from sqlalchemy import Column, Connection, update

from server.storage.tables import members


def advance_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Move the user's has_read_seq up to ``seq``; True when it moved."""
    return _advance(conn, members.c.has_read_seq, user_id, conversation_id, seq)


def advance_peer_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Record in ``user_id``'s copy that their peer has read up to ``seq``."""
    return _advance(conn, members.c.peer_has_read_seq, user_id, conversation_id, seq)


def _advance(
    conn: Connection, column: Column[int], user_id: str, conversation_id: str, seq: int
) -> bool:
    result = conn.execute(
        update(members)
        .where(
            members.c.user_id == user_id,
            members.c.conversation_id == conversation_id,
            column < seq,
        )
        .values({column: seq})
    )
    return result.rowcount > 0
