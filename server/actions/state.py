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


def user_state_since(conn: Connection, epoch: str, user_id: str, version: int) -> dict[str, Any]:
    """The user's state with the records changed after ``version``: after a change to
    many records at once, without naming each one."""
    (current, total) = conversations.versions_and_totals(conn, [user_id])[user_id]
    records = conversations.conversation_records(conn, [user_id], since_version=version)
    return {
        "epoch": epoch,
        "version": current,
        "totalUnreadCount": total,
        "conversations": records[user_id],
    }


def peer_states(
    conn: Connection, epoch: str, user_id: str, conversation_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """For the peer of each of these single chats of the user: their state with their
    record of that chat. Two queries whatever the number of chats."""
    records = conversations.peer_records(conn, user_id, conversation_ids)
    totals = conversations.versions_and_totals(conn, records)
    return {
        peer: {
            "epoch": epoch,
            "version": totals[peer][0],
            "totalUnreadCount": totals[peer][1],
            "conversations": [record],
        }
        for peer, record in records.items()
    }
