"""Read positions. They only move forward: every write is ``max(old, new)`` in SQL."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Update, bindparam, update

from server.storage.tables import members


def _advance_statement(column: Column[int]) -> Update:
    return (
        update(members)
        .where(
            members.c.user_id == bindparam("b_user_id"),
            members.c.conversation_id == bindparam("b_conversation_id"),
            column < bindparam("b_seq"),
        )
        .values({column: bindparam("b_seq")})
    )


_ADVANCE_READ = _advance_statement(members.c.has_read_seq)
_ADVANCE_PEER_READ = _advance_statement(members.c.peer_has_read_seq)


def advance_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Move the user's has_read_seq up to ``seq``; True when it moved."""
    return _advance(conn, _ADVANCE_READ, user_id, conversation_id, seq)


def advance_peer_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Record in ``user_id``'s copy that their peer has read up to ``seq``."""
    return _advance(conn, _ADVANCE_PEER_READ, user_id, conversation_id, seq)


def _advance(
    conn: Connection, statement: Update, user_id: str, conversation_id: str, seq: int
) -> bool:
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id, "b_seq": seq}
    return conn.execute(statement, parameters).rowcount > 0
