"""Stored messages: insert, look up by client ID, and history by seq."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from server.storage.conversations import message_record
from server.storage.tables import conversations, messages

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


def _select() -> Any:
    return select(*_COLUMNS).join(
        conversations, conversations.c.conversation_id == messages.c.conversation_id
    )


def find_by_client_id(
    conn: Connection, sender_id: str, client_msg_id: str
) -> dict[str, Any] | None:
    row = conn.execute(
        _select().where(
            messages.c.sender_id == sender_id, messages.c.client_msg_id == client_msg_id
        )
    ).first()
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
        insert(messages).values(
            conversation_id=conversation_id,
            seq=seq,
            server_msg_id=server_msg_id,
            client_msg_id=client_msg_id,
            sender_id=sender_id,
            content=content,
            send_time=send_time,
        )
    )


def history(
    conn: Connection, conversation_id: str, before_seq: int | None, count: int
) -> list[dict[str, Any]]:
    """Up to ``count`` messages below ``before_seq`` (all when None), newest first."""
    query = _select().where(messages.c.conversation_id == conversation_id)
    if before_seq is not None:
        query = query.where(messages.c.seq < before_seq)
    rows = conn.execute(query.order_by(messages.c.seq.desc()).limit(count))
    return [message_record(*row) for row in rows]
