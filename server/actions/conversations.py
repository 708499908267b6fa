"""Groups and membership checks."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection

from server import events
from server.actions.state import user_states
from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.schemas import CreateGroupRequest
from server.storage import Database
from server.storage import conversations as conversation_store
from server.storage import users as user_store


def check_member(conn: Connection, user_id: str, conversation_id: str) -> None:
    if not conversation_store.is_member(conn, user_id, conversation_id):
        raise not_a_member(conversation_id)


def not_a_member(conversation_id: str) -> ApiError:
    # Unknown and foreign conversations answer alike: membership is not disclosed.
    return ApiError(
        ErrorCode.CONVERSATION_NOT_FOUND, f"no conversation {conversation_id!r} for you"
    )


def create_group(
    db: Database, hub: Hub, user: CurrentUser, request: CreateGroupRequest
) -> dict[str, Any]:
    member_ids = sorted({user.user_id, *request.memberUserIDs})
    group_id = secrets.token_hex(8)
    with db.write() as tx:
        missing = set(member_ids) - user_store.existing_user_ids(tx.conn, member_ids)
        if missing:
            raise ApiError(ErrorCode.USER_NOT_FOUND, f"no such users: {', '.join(sorted(missing))}")
        user_store.lock_users(tx.conn, member_ids)
        user_store.bump_versions(tx.conn, member_ids)
        conversation_id = conversation_store.create_group(
            tx.conn, group_id, request.groupName, member_ids, now_ms()
        )
        conversation_store.stamp_members(tx.conn, conversation_id, member_ids)
        states = user_states(tx.conn, db.epoch, member_ids, [conversation_id])
        pushed = [(member, events.conversation_changed(s)) for member, s in states.items()]
        tx.on_commit(lambda: hub.publish(pushed))
    return {"groupID": group_id, "conversationID": conversation_id, "state": states[user.user_id]}
