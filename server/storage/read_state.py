"""Read positions. They only move forward: every write is ``max(old, new)`` in SQL.

The mark-unread flag (rule 15) lives beside them: a mark-read clears it when the
request's ``version`` (the version of the record the client held) is at least the
version the flag was set at; a client that had not seen the flag yet sends an older one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    String,
    Update,
    and_,
    bindparam,
    case,
    or_,
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

# Unlimited: read up to max_seq, whatever it is at commit; as a version: any flag.
UP_TO_MAX = 2**63 - 1
ANY_VERSION = UP_TO_MAX


def _cleared_flag() -> ColumnElement[Any]:
    """The flag after a mark-read carrying ``b_version``: cleared if set at or before it."""
    version = bindparam("b_version", type_=BigInteger)
    return case(
        (members.c.marked_unread_version <= version, None),
        else_=members.c.marked_unread_version,
    )


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
        .values(has_read_seq=target, marked_unread_version=_cleared_flag())
        .returning(members.c.has_read_seq)
    )


_READ = _read_statement()
# A mark-read that moved nothing may still clear the flag.
_CLEAR_FLAG = (
    update(members)
    .where(
        members.c.user_id == bindparam("b_user_id"),
        members.c.conversation_id == bindparam("b_conversation_id"),
        members.c.marked_unread_version <= bindparam("b_version", type_=BigInteger),
    )
    .values(marked_unread_version=None)
)


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


def advance_read(
    conn: Connection, user_id: str, conversation_id: str, seq: int, version: int = ANY_VERSION
) -> int | None:
    """Move the user's has_read_seq up to ``seq`` (at most max_seq), clearing a mark-unread
    flag set at or before ``version``: the new position, or None when it did not move
    (already there, or no such membership; the flag is then left as it was)."""
    parameters = {
        "b_user_id": user_id,
        "b_conversation_id": conversation_id,
        "b_seq": seq,
        "b_version": version,
    }
    moved = conn.execute(_READ, parameters).scalar()
    return None if moved is None else int(moved)


def clear_marked_unread(
    conn: Connection, user_id: str, conversation_id: str, version: int = ANY_VERSION
) -> bool:
    """Clear the mark-unread flag if it was set at or before ``version``: whether it was."""
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id, "b_version": version}
    return conn.execute(_CLEAR_FLAG, parameters).rowcount > 0


def advance_peer_read(conn: Connection, user_id: str, conversation_id: str, seq: int) -> bool:
    """Record in ``user_id``'s copy that their peer has read up to ``seq``."""
    return _advance(conn, _ADVANCE_PEER_READ, user_id, conversation_id, seq)


def _advance(
    conn: Connection, statement: Update, user_id: str, conversation_id: str, seq: int
) -> bool:
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id, "b_seq": seq}
    return conn.execute(statement, parameters).rowcount > 0


# --- Hide --------------------------------------------------------------------------------

_HIDE = (
    update(members)
    .where(
        members.c.user_id == bindparam("b_user_id"),
        members.c.conversation_id == bindparam("b_conversation_id"),
        or_(
            members.c.marked_unread_version.is_not(None),
            members.c.hidden_seq.is_(None),
            members.c.hidden_seq < members.c.max_seq,
        ),
    )
    .values(marked_unread_version=None, hidden_seq=members.c.max_seq)
)


def hide(conn: Connection, user_id: str, conversation_id: str) -> bool:
    """Hide the record at its max_seq and clear its flag: whether anything changed (the
    read position is moved by :func:`advance_read`, first)."""
    parameters = {"b_user_id": user_id, "b_conversation_id": conversation_id}
    return conn.execute(_HIDE, parameters).rowcount > 0


# --- Mark all read -----------------------------------------------------------------------
#
# Set-based, whatever the number of conversations: one statement finds what will change,
# one moves the user's records, one moves the peers' copies of those positions.

_TO_READ_ALL = and_(
    members.c.user_id == bindparam("user_id"),
    or_(
        members.c.has_read_seq < members.c.max_seq,
        members.c.marked_unread_version <= bindparam("version", type_=BigInteger),
    ),
)
_READ_ALL_CHANGES = select(
    members.c.conversation_id,
    members.c.peer_id,
    (members.c.has_read_seq < members.c.max_seq).label("moves"),
).where(_TO_READ_ALL)
_UNREAD_PEERS = select(members.c.peer_id).where(
    members.c.user_id == bindparam("user_id"),
    members.c.peer_id.is_not(None),
    members.c.has_read_seq < members.c.max_seq,
)


def _read_all_statement() -> Update:
    version = bindparam("b_version", type_=BigInteger)
    return (
        update(members)
        .where(
            members.c.user_id == bindparam("b_user_id"),
            or_(
                members.c.has_read_seq < members.c.max_seq,
                members.c.marked_unread_version <= version,
            ),
        )
        .values(
            has_read_seq=members.c.max_seq,
            marked_unread_version=_cleared_flag(),
            version=select(users.c.version)
            .where(users.c.user_id == members.c.user_id)
            .scalar_subquery(),
        )
        .returning(members.c.conversation_id)
    )


_READ_ALL = _read_all_statement()
# The peers' records of single chats whose position moved: their copy of it follows (a
# peer's copy always equals the reader's position, and the two records share max_seq).
_READ_ALL_PEERS = (
    update(members)
    .where(
        members.c.conversation_id.in_(bindparam("b_conversation_ids", expanding=True)),
        members.c.user_id != bindparam("b_user_id"),
        members.c.peer_has_read_seq < members.c.max_seq,
    )
    .values(
        peer_has_read_seq=members.c.max_seq,
        version=select(users.c.version)
        .where(users.c.user_id == members.c.user_id)
        .scalar_subquery(),
    )
    .returning(members.c.user_id)
)


def unread_peers(conn: Connection, user_id: str) -> set[str]:
    """The peers of the user's single chats with something unread: those a mark-all-read
    would move (read before the locks, so they can be locked in order)."""
    return set(conn.scalars(_UNREAD_PEERS, {"user_id": user_id}))


def read_all_changes(
    conn: Connection, user_id: str, version: int = ANY_VERSION
) -> list[tuple[str, str | None, bool]]:
    """What a mark-all-read would change: (conversation_id, peer_id, position moves)."""
    rows = conn.execute(_READ_ALL_CHANGES, {"user_id": user_id, "version": version})
    return [(cid, peer_id, bool(moves)) for cid, peer_id, moves in rows]


def read_all(conn: Connection, user_id: str, version: int = ANY_VERSION) -> list[str]:
    """Read every record up to its max_seq, clear flags set at or before ``version``, and
    stamp the records with the user's (already bumped) version: the conversations changed."""
    parameters = {"b_user_id": user_id, "b_version": version}
    return list(conn.scalars(_READ_ALL, parameters))


def read_all_peers(conn: Connection, user_id: str, conversation_ids: Collection[str]) -> list[str]:
    """Move the peers' copies of the user's position in these single chats to max_seq,
    stamped with the peers' (already bumped) versions: the peers moved."""
    parameters = {"b_user_id": user_id, "b_conversation_ids": list(conversation_ids)}
    return list(conn.scalars(_READ_ALL_PEERS, parameters))
