"""Membership checks shared by every conversation action, and a user's own settings of a
conversation record: mute (rule 13), pin, the @ reset (rule 14), mark as unread (rule 15).

Each setting is the user's view only: one version bump and one ``conversation.changed``
to their own devices when something changed, nothing at all when nothing did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from server import events
from server.actions.state import user_state
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.schemas import SettingsRequest
from server.storage import Database, Tx
from server.storage import conversations as conversation_store
from server.storage import settings as settings_store
from server.storage import users as user_store
from server.storage.settings import RecordSettings


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


def _settings(tx: Tx, user_id: str, conversation_id: str) -> RecordSettings:
    user_store.lock_users(tx.conn, [user_id])
    found = settings_store.record_settings(tx.conn, user_id, conversation_id)
    if found is None:
        raise not_a_member(conversation_id)
    return found


def set_settings(
    db: Database, hub: Hub, user_id: str, conversation_id: str, request: SettingsRequest
) -> dict[str, Any]:
    """setConversationRecvMessageOpt, pinConversation, resetConversationGroupAtType.

    Allowed on a left group's read-only record too (it is the user's view); a reset there
    clears nothing, since no mention after the leaving seq is the user's."""
    with db.write() as tx:
        current = _settings(tx, user_id, conversation_id)
        recv_msg_opt = request.recvMsgOpt
        if recv_msg_opt == current.recv_msg_opt:
            recv_msg_opt = None
        is_pinned = request.isPinned
        if is_pinned == current.is_pinned:
            is_pinned = None
        # Only unread mentions make a reset a change (groupAtType is 0 otherwise).
        reset = request.groupAtType is not None and current.mention_count > 0
        if recv_msg_opt is None and is_pinned is None and not reset:
            return {"state": user_state(tx.conn, db.epoch, user_id, [conversation_id])}
        user_store.bump_versions(tx.conn, [user_id])
        settings_store.update_settings(
            tx.conn,
            user_id,
            conversation_id,
            recv_msg_opt=recv_msg_opt,
            is_pinned=is_pinned,
            reset_mentions=reset,
        )
        return {"state": _push_own(db, hub, tx, user_id, conversation_id)}


def mark_unread(db: Database, hub: Hub, user_id: str, conversation_id: str) -> dict[str, Any]:
    """markConversationAsUnread (rule 15): a flag at the user's new version, never a step
    back of the read position; it also shows a hidden record again. A left group's record
    is read-only (403); a dismissed group's is still the user's view."""
    with db.write() as tx:
        current = _settings(tx, user_id, conversation_id)
        if current.left and not current.dismissed:
            raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
        if current.marked_unread:
            return {"state": user_state(tx.conn, db.epoch, user_id, [conversation_id])}
        user_store.bump_versions(tx.conn, [user_id])
        settings_store.mark_unread(tx.conn, user_id, conversation_id)
        return {"state": _push_own(db, hub, tx, user_id, conversation_id)}


def _push_own(db: Database, hub: Hub, tx: Tx, user_id: str, conversation_id: str) -> dict[str, Any]:
    """The record changed (already stamped): the state, pushed to the user's devices."""
    mine = user_state(tx.conn, db.epoch, user_id, [conversation_id])
    pushed = [(user_id, events.conversation_changed(mine))]
    tx.on_commit(lambda: hub.publish(pushed))
    return mine
