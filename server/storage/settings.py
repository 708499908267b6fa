"""A user's own settings of a conversation record: mute, pin, the @ reset, mark unread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update

from server.storage import mentions
from server.storage.tables import conversations, members, users


@dataclass(frozen=True)
class RecordSettings:
    recv_msg_opt: int
    is_pinned: bool
    mention_count: int  # unread mentions: what a reset of groupAtType would clear
    marked_unread: bool
    left: bool
    dismissed: bool


_SETTINGS = (
    select(
        members.c.recv_msg_opt,
        members.c.is_pinned,
        mentions.count_column().label("mention_count"),
        members.c.marked_unread_version,
        members.c.left_seq,
        conversations.c.status,
    )
    .join(conversations, conversations.c.conversation_id == members.c.conversation_id)
    .where(
        members.c.user_id == bindparam("user_id"),
        members.c.conversation_id == bindparam("conversation_id"),
    )
)
_STAMP = select(users.c.version).where(users.c.user_id == members.c.user_id).scalar_subquery()
_WHERE = (
    members.c.user_id == bindparam("b_user_id"),
    members.c.conversation_id == bindparam("b_conversation_id"),
)
_SET_RECV_MSG_OPT = update(members).where(*_WHERE).values(recv_msg_opt=bindparam("b_value"))
_SET_PINNED = update(members).where(*_WHERE).values(is_pinned=bindparam("b_value"))
# Mentions up to the record's max_seq count as seen (rule 14); the read position stays.
_RESET_MENTIONS = (
    update(members)
    .where(*_WHERE, members.c.mention_read_seq < members.c.max_seq)
    .values(mention_read_seq=members.c.max_seq)
)
_STAMP_RECORD = update(members).where(*_WHERE).values(version=_STAMP)
# The flag takes the user's (already bumped) version; marking unread also shows a hidden
# record again.
_MARK_UNREAD = (
    update(members)
    .where(*_WHERE, members.c.marked_unread_version.is_(None))
    .values(marked_unread_version=_STAMP, hidden_seq=None, version=_STAMP)
)


def record_settings(conn: Connection, user_id: str, conversation_id: str) -> RecordSettings | None:
    """The user's settings of this record; None when they have no record of it."""
    parameters = {"user_id": user_id, "conversation_id": conversation_id}
    row = conn.execute(_SETTINGS, parameters).first()
    if row is None:
        return None
    return RecordSettings(
        recv_msg_opt=int(row.recv_msg_opt),
        is_pinned=bool(row.is_pinned),
        mention_count=int(row.mention_count),
        marked_unread=row.marked_unread_version is not None,
        left=row.left_seq is not None,
        dismissed=int(row.status) == 2,
    )


def update_settings(
    conn: Connection,
    user_id: str,
    conversation_id: str,
    *,
    recv_msg_opt: int | None = None,
    is_pinned: bool | None = None,
    reset_mentions: bool = False,
) -> None:
    """Write the given settings and stamp the record with the user's (bumped) version."""
    where = {"b_user_id": user_id, "b_conversation_id": conversation_id}
    if recv_msg_opt is not None:
        conn.execute(_SET_RECV_MSG_OPT, {**where, "b_value": recv_msg_opt})
    if is_pinned is not None:
        conn.execute(_SET_PINNED, {**where, "b_value": is_pinned})
    if reset_mentions:
        conn.execute(_RESET_MENTIONS, where)
    conn.execute(_STAMP_RECORD, where)


def mark_unread(conn: Connection, user_id: str, conversation_id: str) -> bool:
    """Set the flag at the user's (bumped) version and un-hide: False if already set."""
    where = {"b_user_id": user_id, "b_conversation_id": conversation_id}
    return conn.execute(_MARK_UNREAD, where).rowcount > 0
