"""The caller's absolute state after a change: the payload of answers and events."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection

from server.storage import conversations, users


def user_state(
    conn: Connection, epoch: str, user_id: str, conversation_ids: Collection[str]
) -> dict[str, Any]:
    return {
        "epoch": epoch,
        "version": users.user_version(conn, user_id),
        "totalUnreadCount": conversations.total_unread(conn, user_id),
        "conversations": conversations.conversation_records(conn, user_id, conversation_ids),
    }
