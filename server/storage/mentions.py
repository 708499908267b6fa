"""Mentions (rule 14): one row per (message, mentioned user or AtAllTag).

A reader's ``mentionCount`` and ``groupAtType`` are derived from these rows and the
reader's positions, in the records query (:func:`count_column`, :func:`at_type_column`),
the way unread is derived from seqs: nothing is counted on write, so a mark-read clears
them everywhere and a reload never brings them back. A mention is unread while
``seen < seq <= max_seq`` with ``seen = max(has_read_seq, mention_read_seq)``: below the
join seq it was never the reader's (their has_read_seq starts there), above a left
member's max_seq (their left seq) it is not theirs either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
)

from server.protocol import AT_ALL_TAG
from server.storage.tables import members, mentions

# max(has_read_seq, mention_read_seq), portable (no GREATEST in SQLite).
SEEN = case(
    (members.c.mention_read_seq > members.c.has_read_seq, members.c.mention_read_seq),
    else_=members.c.has_read_seq,
)
_AT_ALL = literal(AT_ALL_TAG)

# The unread mentions of the members row of the enclosing query (correlated).
_UNREAD = and_(
    mentions.c.conversation_id == members.c.conversation_id,
    mentions.c.user_id.in_([members.c.user_id, _AT_ALL]),
    mentions.c.seq > SEEN,
    mentions.c.seq <= members.c.max_seq,
)


def _when_unread(value: ColumnElement[Any]) -> ColumnElement[Any]:
    # A record with nothing past its seen position (the sender's, a read one: most of
    # those a send answers) does not look at the mentions at all.
    return case((members.c.max_seq > SEEN, value), else_=0)


def count_column() -> ColumnElement[Any]:
    """mentionCount: distinct seqs mentioning the reader or everyone, unread."""
    counted = select(func.count(distinct(mentions.c.seq))).where(_UNREAD).scalar_subquery()
    return _when_unread(counted)


def at_type_column() -> ColumnElement[Any]:
    """groupAtType: 1 if an unread mention names the reader, + 2 if one is AtAllTag."""
    me = func.max(case((mentions.c.user_id == members.c.user_id, 1), else_=0))
    everyone = func.max(case((mentions.c.user_id == _AT_ALL, 2), else_=0))
    kinds = select(func.coalesce(me, 0) + func.coalesce(everyone, 0)).where(_UNREAD)
    return _when_unread(kinds.scalar_subquery())


_INSERT = insert(mentions)
_DELETE = delete(mentions).where(
    mentions.c.conversation_id == bindparam("b_conversation_id"),
    mentions.c.seq == bindparam("b_seq"),
)


def insert_mentions(
    conn: Connection, conversation_id: str, seq: int, targets: Sequence[str]
) -> None:
    """The message at ``seq`` mentions these users (or AtAllTag)."""
    rows = [{"conversation_id": conversation_id, "seq": seq, "user_id": t} for t in targets]
    if rows:
        conn.execute(_INSERT, rows)


def delete_mentions(conn: Connection, conversation_id: str, seq: int) -> None:
    """A revoked message mentions no one any more."""
    conn.execute(_DELETE, {"b_conversation_id": conversation_id, "b_seq": seq})
