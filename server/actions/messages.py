"""Sending messages and reading history.

An @ message (contentType 106, groups only) stores its atTextElem as JSON, and one
``mentions`` row per mentioned member (or AtAllTag) in the send's own transaction: the
readers' mentionCount and groupAtType are derived from those rows (rule 14).

A picture (102) or file (105) message names an upload by its uuid; the server fills the
stored elem in from the ``files`` row, and its ``message_files`` rows (which let the
message's readers fetch the blobs) are written in the same transaction as the message.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy.exc import IntegrityError

from server import events
from server.actions import files
from server.actions.conversations import check_member, not_a_member
from server.actions.state import user_state, user_states
from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.protocol import AT_ALL_TAG, CONTENT_TYPES
from server.schemas import HistoryQuery, SendMessageRequest
from server.storage import Database, Tx, read_state
from server.storage import conversations as conversation_store
from server.storage import files as file_store
from server.storage import groups as group_store
from server.storage import mentions as mention_store
from server.storage import messages as message_store
from server.storage import users as user_store


def send_message(
    db: Database, hub: Hub, user: CurrentUser, request: SendMessageRequest
) -> dict[str, Any]:
    try:
        return _send(db, hub, user, request)
    except IntegrityError:
        # A resend of a stored clientMsgID (or a concurrent one that won): answer with it.
        with db.read() as conn:
            original = message_store.find_by_client_id(conn, user.user_id, request.clientMsgID)
            if original is None:
                raise
            state = user_state(conn, db.epoch, user.user_id, [original["conversationID"]])
        return {"message": original, "state": state}


def _send(db: Database, hub: Hub, user: CurrentUser, request: SendMessageRequest) -> dict[str, Any]:
    with db.write() as tx:
        conversation_id, member_ids = _target_conversation(tx, user, request)
        content_type, content, shown = _content(tx, user, request, member_ids)
        user_store.bump_versions(tx.conn, member_ids)
        seq = conversation_store.next_seq(tx.conn, conversation_id)
        # A resend of a stored clientMsgID fails here (unique per sender); send_message
        # then answers with the original. No lookup is spent on the common path.
        message_store.insert_message(
            tx.conn,
            conversation_id=conversation_id,
            seq=seq,
            server_msg_id=secrets.token_hex(16),
            client_msg_id=request.clientMsgID,
            sender_id=user.user_id,
            content=content,
            send_time=now_ms(),
            content_type=content_type,
        )
        if request.atUserIDList:
            mention_store.insert_mentions(tx.conn, conversation_id, seq, request.atUserIDList)
        file_store.insert_message_files(tx.conn, conversation_id, seq, shown)
        # Rule 2: the sender has read their own message, in the same transaction.
        read_state.advance_on_send(tx.conn, conversation_id, user.user_id, seq)
        states = user_states(tx.conn, db.epoch, member_ids, [conversation_id])
        # The new message is the conversation's latest: the records already carry it.
        message = states[user.user_id]["conversations"][0]["latestMsg"]
        pushed = [(m, events.message_new(s, message)) for m, s in states.items()]
        tx.on_commit(lambda: hub.publish(pushed))
    return {"message": message, "state": states[user.user_id]}


TEXT = CONTENT_TYPES["TEXT"]
AT_TEXT = CONTENT_TYPES["AT_TEXT"]
PICTURE = CONTENT_TYPES["PICTURE"]
FILE = CONTENT_TYPES["FILE"]


def _content(
    tx: Tx, user: CurrentUser, request: SendMessageRequest, member_ids: list[str]
) -> tuple[int, str, list[str]]:
    """(content type, stored content, the blobs it shows): the text itself, or the JSON
    of an @, picture or file message's elem."""
    content_type = request.content_type
    if content_type in (PICTURE, FILE):
        if content_type == PICTURE:
            assert request.pictureElem is not None
            uuid, name = request.pictureElem.sourcePicture.uuid, ""
        else:
            assert request.fileElem is not None
            uuid, name = request.fileElem.uuid, request.fileElem.fileName
        elem, shown = files.message_content(tx.conn, user.user_id, content_type, uuid, name)
        return content_type, json.dumps(elem, ensure_ascii=False), shown
    if request.atUserIDList is None:
        return TEXT, request.text, []
    members = set(member_ids)
    for target in request.atUserIDList:
        if target != AT_ALL_TAG and target not in members:
            raise ApiError(
                ErrorCode.VALIDATION_FAILED,
                f"atUserIDList: {target!r} is not a member of this group",
            )
    elem = {
        "text": request.text,
        "atUserList": request.atUserIDList,
        "atUsersInfo": [info.model_dump() for info in request.atUsersInfo],
    }
    return AT_TEXT, json.dumps(elem, ensure_ascii=False), []


def _target_conversation(
    tx: Tx, user: CurrentUser, request: SendMessageRequest
) -> tuple[str, list[str]]:
    """The conversation to send to, and its members (creating a first single chat)."""
    if request.groupID is not None:
        conversation_id = conversation_store.group_conversation_id(request.groupID)
        member_ids = conversation_store.member_ids(tx.conn, conversation_id)
        if user.user_id not in member_ids:
            if conversation_store.window(tx.conn, user.user_id, conversation_id) is None:
                raise not_a_member(conversation_id)
            (group,) = group_store.groups(tx.conn, [request.groupID])
            if group.status == group_store.DISMISSED:
                raise ApiError(ErrorCode.GROUP_DISMISSED, "the group was dismissed")
            raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
        user_store.lock_users(tx.conn, member_ids)
        return conversation_id, member_ids
    assert request.recvID is not None
    if request.recvID == user.user_id:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "recvID: cannot send a message to yourself")
    conversation_id = conversation_store.single_conversation_id(user.user_id, request.recvID)
    # Both users' locks first: two first messages of one pair, sent at once, must not
    # both find the chat missing and both create it.
    user_store.lock_users(tx.conn, [user.user_id, request.recvID])
    member_ids = conversation_store.member_ids(tx.conn, conversation_id)
    if not member_ids:
        if not user_store.existing_user_ids(tx.conn, [request.recvID]):
            raise ApiError(ErrorCode.USER_NOT_FOUND, f"no user {request.recvID!r}")
        conversation_store.create_single(tx.conn, user.user_id, request.recvID, now_ms())
        member_ids = sorted((user.user_id, request.recvID))
    return conversation_id, member_ids


def history(
    db: Database, user: CurrentUser, conversation_id: str, query: HistoryQuery
) -> dict[str, Any]:
    with db.read() as conn:
        window = check_member(conn, user.user_id, conversation_id)
        found = message_store.history(
            conn, conversation_id, query.beforeSeq, query.count + 1, window
        )
    page = found[: query.count]
    return {"messages": page, "isEnd": len(found) <= query.count}
