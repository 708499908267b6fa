"""Read positions. They only move forward: every write is ``max(old, new)`` in SQL."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from server.storage.tables import members


def advance_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Move the user's has_read_seq up to ``seq``; True when it moved."""
    result = conn.execute(
        update(members)
        .where(
            members.c.user_id == user_id,
            members.c.conversation_id == conversation_id,
            members.c.has_read_seq < seq,
        )
        .values(has_read_seq=seq)
    )
    return result.rowcount > 0


def advance_peer_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Record in ``user_id``'s copy that their peer has read up to ``seq``."""
    result = conn.execute(
        update(members)
        .where(
            members.c.user_id == user_id,
            members.c.conversation_id == conversation_id,
            members.c.peer_has_read_seq < seq,
        )
        .values(peer_has_read_seq=seq)
    )
    return result.rowcount > 0


def has_read_seq(conn: Connection, user_id: str, conversation_id: str) -> int:
    value = conn.scalar(
        select(members.c.has_read_seq).where(
            members.c.user_id == user_id, members.c.conversation_id == conversation_id
        )
    )
    return int(value or 0)
