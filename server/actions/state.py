"""Users' absolute state after a change: the payload of answers and events."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection

from server.storage import conversations


def user_states(
    conn: Connection, epoch: str, user_ids: Collection[str], conversation_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """For each user: version, total unread and their records of these conversations.

    Two queries whatever the number of users, so a group send stays cheap.
    """
    totals = conversations.versions_and_totals(conn, user_ids)
    records = conversations.conversation_records(conn, user_ids, conversation_ids)
    return {
        user_id: {
            "epoch": epoch,
            "version": totals[user_id][0],
            "totalUnreadCount": totals[user_id][1],
            "conversations": records[user_id],
        }
        for user_id in user_ids
    }


def user_state(
    conn: Connection, epoch: str, user_id: str, conversation_ids: Collection[str]
) -> dict[str, Any]:
    return user_states(conn, epoch, [user_id], conversation_ids)[user_id]
