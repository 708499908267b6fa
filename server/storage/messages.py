"""Stored messages: insert, look up by client ID, and history by seq."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select

from server.storage.conversations import message_record
from server.storage.tables import conversations, messages

_NO_BOUND = 2**63 - 1

_COLUMNS = (
    messages.c.conversation_id,
    conversations.c.conversation_type,
    conversations.c.group_id,
    messages.c.seq,
    messages.c.server_msg_id,
    messages.c.client_msg_id,
    messages.c.sender_id,
    messages.c.content,
    messages.c.send_time,
)


def _select() -> Select[Any]:
    return select(*_COLUMNS).join(
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
) -> None:
    conn.execute(
        _INSERT,
        {
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
    conn: Connection, conversation_id: str, before_seq: int | None, count: int
) -> list[dict[str, Any]]:
    """Up to ``count`` messages below ``before_seq`` (all when None), newest first."""
    parameters = {
        "conversation_id": conversation_id,
        # seq is a BIGINT: no message lies above this bound.
        "before_seq": _NO_BOUND if before_seq is None else before_seq,
        "count": count,
    }
    return [message_record(*row) for row in conn.execute(_HISTORY, parameters)]
