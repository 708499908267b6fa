"""Revoking a message: it becomes a tombstone that keeps its seq (positions and unread do
not move), on the server first — the old text is gone from the messages table.

Who may, as in OpenIM: the sender within ``REVOKE_WINDOW_SECONDS``; in a group the owner
(any message) or an admin (any but the owner's), at any age. Every user who sees the seq
(rule 11) gets one version, their record stamped, a ``revocations`` row at that version
(an incremental sync sends the tombstone to a device that was offline) and a
``message.revoked`` event. A revoke repeated after a lost answer finds the tombstone and
answers it again, changing nothing.

A picture or file message's ``message_files`` rows go in the same transaction: its blobs
are no longer fetchable by those who could fetch them only through this message.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from server import events
from server.actions.conversations import check_member
from server.actions.state import user_state, user_states
from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.protocol import CONTENT_TYPES, SESSION_TYPES
from server.storage import Database
from server.storage import conversations as conversation_store
from server.storage import files as file_store
from server.storage import groups as group_store
from server.storage import mentions as mention_store
from server.storage import messages as message_store
from server.storage import users as user_store
from server.storage.groups import ADMIN, OWNER

REVOKED = CONTENT_TYPES["REVOKED"]
_REVOCABLE = {
    CONTENT_TYPES["TEXT"],
    CONTENT_TYPES["AT_TEXT"],
    CONTENT_TYPES["PICTURE"],
    CONTENT_TYPES["FILE"],
}
GROUP = SESSION_TYPES["GROUP"]


def revoke(
    db: Database,
    hub: Hub,
    user: CurrentUser,
    conversation_id: str,
    client_msg_id: str,
    window_seconds: int,
) -> dict[str, Any]:
    with db.write() as tx:
        conn = tx.conn
        is_group, message = _find(conn, user.user_id, conversation_id, client_msg_id)
        seq = message["seq"]
        # Everyone who sees it, locked first (in user-ID order) as every writer does; the
        # set can only shrink meanwhile (a rejoin moves a window past it), never grow.
        # Under the locks, the checks again: a revoke or a leave may have come first.
        user_store.lock_users(conn, conversation_store.viewers(conn, conversation_id, seq))
        is_group, message = _find(conn, user.user_id, conversation_id, client_msg_id)
        viewers = conversation_store.viewers(conn, conversation_id, seq)
        if message["seq"] != seq or user.user_id not in viewers:
            raise _not_found(conversation_id, client_msg_id)
        role = viewers[user.user_id] if is_group else 0
        sender_role = viewers.get(message["sendID"], 0) if is_group else 0
        if message["contentType"] == REVOKED:
            _check_allowed(message, user.user_id, role, sender_role, None, window_seconds)
            state = user_state(conn, db.epoch, user.user_id, [conversation_id])
            return {"state": state, "message": message}
        now = now_ms()
        _check_allowed(message, user.user_id, role, sender_role, now, window_seconds)
        names = user_store.nicknames(conn, {user.user_id, message["sendID"]})
        info = {
            "revokerID": user.user_id,
            "revokerRole": role,
            "revokerNickname": names.get(user.user_id, user.user_id),
            "clientMsgID": message["clientMsgID"],
            "revokeTime": now,
            "sourceMessageSendTime": message["sendTime"],
            "sourceMessageSendID": message["sendID"],
            "sourceMessageSenderNickname": names.get(message["sendID"], message["sendID"]),
            "sessionType": message["sessionType"],
            "seq": seq,
            "ex": "",
        }
        elem = {"detail": json.dumps(info, ensure_ascii=False)}
        user_store.bump_versions(conn, viewers)
        message_store.replace_content(conn, conversation_id, seq, REVOKED, json.dumps(elem))
        mention_store.delete_mentions(conn, conversation_id, seq)
        file_store.delete_message_files(conn, conversation_id, seq)
        conversation_store.stamp_members(conn, conversation_id, viewers)
        message_store.insert_revocations(conn, conversation_id, seq, viewers)
        tombstone = message_store.find_in_window(
            conn, conversation_id, client_msg_id, (seq, seq), prefer_sender=message["sendID"]
        )
        assert tombstone is not None
        states = user_states(conn, db.epoch, viewers, [conversation_id])
        pushed = [(v, events.message_revoked(s, tombstone)) for v, s in states.items()]
        tx.on_commit(lambda: hub.publish(pushed))
    return {"state": states[user.user_id], "message": tombstone}


def _find(
    conn: Connection, user_id: str, conversation_id: str, client_msg_id: str
) -> tuple[bool, dict[str, Any]]:
    """(is a group, the message) if this user may ask to revoke it, else the error."""
    window = check_member(conn, user_id, conversation_id)
    conversation = conversation_store.get_conversation(conn, conversation_id)
    assert conversation is not None  # the user has a record of it
    is_group = bool(conversation.conversation_type == GROUP)
    if is_group and conversation.status == group_store.DISMISSED:
        raise ApiError(ErrorCode.GROUP_DISMISSED, "the group was dismissed")
    if window[1] is not None:
        raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
    message = message_store.find_in_window(
        conn, conversation_id, client_msg_id, window, prefer_sender=user_id
    )
    if message is None:
        raise _not_found(conversation_id, client_msg_id)
    if message["contentType"] not in _REVOCABLE | {REVOKED}:
        raise ApiError(ErrorCode.NOT_REVOCABLE, "notifications cannot be revoked")
    return is_group, message


def _not_found(conversation_id: str, client_msg_id: str) -> ApiError:
    return ApiError(
        ErrorCode.MESSAGE_NOT_FOUND, f"no message {client_msg_id!r} in {conversation_id!r}"
    )


def _check_allowed(
    message: dict[str, Any],
    user_id: str,
    role: int,
    sender_role: int,
    now: int | None,
    window_seconds: int,
) -> None:
    """Raise unless this user may revoke this message (``now`` None: a revoked message,
    asked again: the window is not judged, it was when the message was revoked)."""
    if role == OWNER or (role == ADMIN and sender_role != OWNER):
        return  # a group's owner, or an admin, at any age
    if message["sendID"] != user_id:
        raise ApiError(
            ErrorCode.REVOKE_NOT_ALLOWED,
            "you may revoke only your own messages (a group's owner any, an admin any but"
            " the owner's)",
        )
    if now is not None and now - message["sendTime"] > window_seconds * 1000:
        raise ApiError(
            ErrorCode.REVOKE_TOO_LATE,
            f"a message can be revoked within {window_seconds} s of sending it",
        )
