"""Stored messages: insert, look up by client ID, and history by seq."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, update

from server.storage.conversations import TEXT, message_record
from server.storage.tables import conversations, messages, revocations, users

_NO_BOUND = 2**63 - 1

#: A message as message_record takes it (history, search).
MESSAGE_COLUMNS = (
    messages.c.conversation_id,
    conversations.c.conversation_type,
    conversations.c.group_id,
    messages.c.seq,
    messages.c.server_msg_id,
    messages.c.client_msg_id,
    messages.c.sender_id,
    messages.c.content_type,
    messages.c.content,
    messages.c.send_time,
)


def _select() -> Select[Any]:
    return select(*MESSAGE_COLUMNS).join(
        conversations, conversations.c.conversation_id == messages.c.conversation_id
    )


# Built once and executed with parameters (see storage/conversations.py).
_BY_CLIENT_ID = _select().where(
    messages.c.sender_id == bindparam("sender_id"),
    messages.c.client_msg_id == bindparam("client_msg_id"),
)
_INSERT = insert(messages)
_HISTORY = (
    _select()
    .where(messages.c.conversation_id == bindparam("conversation_id"))
    .where(messages.c.seq < bindparam("before_seq"))
    .where(messages.c.seq >= bindparam("from_seq"))
    .order_by(messages.c.seq.desc())
    .limit(bindparam("count"))
)


def find_by_client_id(
    conn: Connection, sender_id: str, client_msg_id: str
) -> dict[str, Any] | None:
    parameters = {"sender_id": sender_id, "client_msg_id": client_msg_id}
    row = conn.execute(_BY_CLIENT_ID, parameters).first()
    return None if row is None else message_record(*row)


def insert_message(
    conn: Connection,
    *,
    conversation_id: str,
    seq: int,
    server_msg_id: str,
    client_msg_id: str,
    sender_id: str,
    content: str,
    send_time: int,
    content_type: int = TEXT,
) -> None:
    conn.execute(
        _INSERT,
        {
            "content_type": content_type,
            "conversation_id": conversation_id,
            "seq": seq,
            "server_msg_id": server_msg_id,
            "client_msg_id": client_msg_id,
            "sender_id": sender_id,
            "content": content,
            "send_time": send_time,
        },
    )


def history(
    conn: Connection,
    conversation_id: str,
    before_seq: int | None,
    count: int,
    window: tuple[int, int | None] = (0, None),
) -> list[dict[str, Any]]:
    """Up to ``count`` messages below ``before_seq`` (all when None), newest first, within
    the reader's ``window`` of seqs (rule 11: from its join seq, to its leaving seq)."""
    first, last = window
    before = _NO_BOUND if before_seq is None else before_seq
    if last is not None:
        before = min(before, last + 1)
    parameters = {
        "conversation_id": conversation_id,
        # seq is a BIGINT: no message lies above this bound.
        "before_seq": before,
        "from_seq": first,
        "count": count,
    }
    return [message_record(*row) for row in conn.execute(_HISTORY, parameters)]


_SENDERS = select(messages.c.seq, messages.c.sender_id).where(
    messages.c.conversation_id == bindparam("conversation_id"),
    messages.c.seq.in_(bindparam("seqs", expanding=True)),
)


def senders(conn: Connection, conversation_id: str, seqs: Collection[int]) -> dict[int, str]:
    """seq -> sender of the messages at these seqs."""
    rows = conn.execute(_SENDERS, {"conversation_id": conversation_id, "seqs": list(seqs)})
    return {int(seq): sender for seq, sender in rows}


# --- Revocation --------------------------------------------------------------------------

# A message by its clientMsgID within a reader's window, newest first (clientMsgIDs are
# unique per sender, so two senders may share one: the caller's own is preferred). The
# primary key is walked backwards from the window's end: recent messages are found first.
_IN_WINDOW = (
    _select()
    .where(
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.client_msg_id == bindparam("client_msg_id"),
        messages.c.seq >= bindparam("from_seq"),
        messages.c.seq <= bindparam("to_seq"),
    )
    .order_by(messages.c.seq.desc())
)
_TOMBSTONE = (
    update(messages)
    .where(
        messages.c.conversation_id == bindparam("b_conversation_id"),
        messages.c.seq == bindparam("b_seq"),
    )
    .values(content_type=bindparam("b_content_type"), content=bindparam("b_content"))
)
_INSERT_REVOCATIONS = insert(revocations).from_select(
    ["user_id", "conversation_id", "seq", "version"],
    select(
        users.c.user_id,
        bindparam("conversation_id", type_=messages.c.conversation_id.type),
        bindparam("seq", type_=messages.c.seq.type),
        users.c.version,
    ).where(users.c.user_id.in_(bindparam("user_ids", expanding=True))),
)
_REVOKED_SINCE = (
    _select()
    .join(
        revocations,
        (revocations.c.conversation_id == messages.c.conversation_id)
        & (revocations.c.seq == messages.c.seq),
    )
    .where(
        revocations.c.user_id == bindparam("user_id"),
        revocations.c.version > bindparam("version"),
    )
    .order_by(revocations.c.version)
)


def find_in_window(
    conn: Connection,
    conversation_id: str,
    client_msg_id: str,
    window: tuple[int, int | None],
    prefer_sender: str,
) -> dict[str, Any] | None:
    """The message with this clientMsgID the reader can see (``window``), or None."""
    first, last = window
    parameters = {
        "conversation_id": conversation_id,
        "client_msg_id": client_msg_id,
        "from_seq": first,
        "to_seq": _NO_BOUND if last is None else last,
    }
    found = [message_record(*row) for row in conn.execute(_IN_WINDOW, parameters)]
    own = [m for m in found if m["sendID"] == prefer_sender]
    chosen = own or found
    return chosen[0] if chosen else None


def replace_content(
    conn: Connection, conversation_id: str, seq: int, content_type: int, content: str
) -> None:
    """Overwrite a message's content (revocation: the old text is gone from the server)."""
    conn.execute(
        _TOMBSTONE,
        {
            "b_conversation_id": conversation_id,
            "b_seq": seq,
            "b_content_type": content_type,
            "b_content": content,
        },
    )


def insert_revocations(
    conn: Connection, conversation_id: str, seq: int, user_ids: Collection[str]
) -> None:
    """Record, at each user's current (bumped) version, that they saw seq revoked."""
    parameters = {"conversation_id": conversation_id, "seq": seq, "user_ids": list(user_ids)}
    conn.execute(_INSERT_REVOCATIONS, parameters)


def revoked_since(conn: Connection, user_id: str, version: int) -> list[dict[str, Any]]:
    """The tombstones of the user's revocations newer than ``version``."""
    rows = conn.execute(_REVOKED_SINCE, {"user_id": user_id, "version": version})
    return [message_record(*row) for row in rows]
