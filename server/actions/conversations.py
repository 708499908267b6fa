"""Membership checks shared by every conversation action."""

from __future__ import annotations

from sqlalchemy import Connection

from server.errors import ApiError, ErrorCode
from server.storage import conversations as conversation_store


def check_member(conn: Connection, user_id: str, conversation_id: str) -> tuple[int, int | None]:
    """The user's window of seqs in this conversation, if they are or were in it."""
    found = conversation_store.window(conn, user_id, conversation_id)
    if found is None:
        raise not_a_member(conversation_id)
    return found


def not_a_member(conversation_id: str) -> ApiError:
    # Unknown and foreign conversations answer alike: membership is not disclosed.
    return ApiError(
        ErrorCode.CONVERSATION_NOT_FOUND, f"no conversation {conversation_id!r} for you"
    )
