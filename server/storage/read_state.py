"""Read positions. They only move forward: every write is ``max(old, new)`` in SQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    String,
    Update,
    and_,
    bindparam,
    case,
    select,
    update,
)

from server.storage.tables import members, users


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


_ADVANCE_PEER_READ = _advance_statement(members.c.peer_has_read_seq)

# Unlimited: read up to max_seq, whatever it is at commit.
UP_TO_MAX = 2**63 - 1


def _read_statement() -> Update:
    """The reader's position moves up to ``b_seq`` clamped to the record's own max_seq,
    and only forward; the statement answers whether and where it moved."""
    requested = bindparam("b_seq", type_=BigInteger)
    target = case((members.c.max_seq < requested, members.c.max_seq), else_=requested)
    return (
        update(members)
        .where(
            members.c.user_id == bindparam("b_user_id"),
            members.c.conversation_id == bindparam("b_conversation_id"),
            members.c.has_read_seq < target,
        )
        .values(has_read_seq=target)
        .returning(members.c.has_read_seq)
    )


_READ = _read_statement()


def _advance_on_send_statement() -> Update:
    sender = bindparam("b_sender", type_=String)
    seq = bindparam("b_seq", type_=BigInteger)
    return (
        update(members)
        .where(
            members.c.conversation_id == bindparam("b_conversation_id"),
            # Those who left keep their record as it was when they left (rule 11).
            members.c.left_seq.is_(None),
        )
        .values(
            has_read_seq=case(
                (and_(members.c.user_id == sender, members.c.has_read_seq < seq), seq),
                else_=members.c.has_read_seq,
            ),
            # A single chat's other record keeps a copy of the sender's position.
            peer_has_read_seq=case(
                (and_(members.c.peer_id == sender, members.c.peer_has_read_seq < seq), seq),
                else_=members.c.peer_has_read_seq,
            ),
            # Every member's record has the new max_seq, stamped with their version.
            max_seq=seq,
            version=select(users.c.version)
            .where(users.c.user_id == members.c.user_id)
            .scalar_subquery(),
        )
    )


_ADVANCE_ON_SEND = _advance_on_send_statement()


def advance_on_send(conn: Connection, conversation_id: str, sender_id: str, seq: int) -> None:
    """After storing message ``seq``: the sender has read it (rule 2), their peer's copy
    of that position follows, every member's record takes the new max_seq and is
    stamped with its user's version — one statement."""
    parameters = {"b_conversation_id": conversation_id, "b_sender": sender_id, "b_seq": seq}
    conn.execute(_ADVANCE_ON_SEND, parameters)


def advance_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> int | None:
    """Move the user's has_read_seq up to ``seq`` (at most max_seq): the new position, or
    None when it did not move (already there, or no such membership)."""
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id, "b_seq": seq}
    moved = conn.execute(_READ, parameters).scalar()
    return None if moved is None else int(moved)


def advance_peer_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Record in ``user_id``'s copy that their peer has read up to ``seq``."""
    return _advance(conn, _ADVANCE_PEER_READ, user_id, conversation_id, seq)


def _advance(
    conn: Connection, statement: Update, user_id: str, conversation_id: str, seq: int
) -> bool:
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id, "b_seq": seq}
    return conn.execute(statement, parameters).rowcount > 0
