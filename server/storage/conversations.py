"""Conversations, memberships and the per-user conversation records built from them."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

from server.protocol import CONTENT_ELEMS, CONTENT_TYPES, SESSION_TYPES
from server.storage import mentions
from server.storage.tables import conversations, members, messages, users

SINGLE = SESSION_TYPES["SINGLE"]
GROUP = SESSION_TYPES["GROUP"]
TEXT = CONTENT_TYPES["TEXT"]


def single_conversation_id(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"si_{first}_{second}"


def group_conversation_id(group_id: str) -> str:
    return f"sg_{group_id}"


# Statements are built once, here, and executed with parameters: building a SQLAlchemy
# statement and its cache key on every call cost more than running it (B3 profile).

_GET_CONVERSATION = select(conversations).where(
    conversations.c.conversation_id == bindparam("conversation_id")
)
_WINDOW = select(members.c.join_seq, members.c.left_seq).where(
    members.c.user_id == bindparam("user_id"),
    members.c.conversation_id == bindparam("conversation_id"),
)
# Current members: those who left a group keep a read-only record, and no new messages.
_MEMBER_IDS = (
    select(members.c.user_id)
    .where(members.c.conversation_id == bindparam("conversation_id"), members.c.left_seq.is_(None))
    .order_by(members.c.user_id)
)
# Everyone whose window (rule 11) holds the message at seq, with their roles.
_VIEWERS = (
    select(members.c.user_id, members.c.role)
    .where(
        members.c.conversation_id == bindparam("conversation_id"),
        members.c.join_seq < bindparam("seq"),
        or_(members.c.left_seq.is_(None), members.c.left_seq >= bindparam("seq")),
    )
    .order_by(members.c.user_id)
)
_INSERT_CONVERSATION = insert(conversations)
_INSERT_MEMBERS = insert(members)
_NEXT_SEQ = (
    update(conversations)
    .where(conversations.c.conversation_id == bindparam("b_conversation_id"))
    .values(max_seq=conversations.c.max_seq + 1)
    .returning(conversations.c.max_seq)
)
_MAX_SEQ = select(conversations.c.max_seq).where(
    conversations.c.conversation_id == bindparam("conversation_id")
)
_STAMP_MEMBERS = (
    update(members)
    .where(
        members.c.conversation_id == bindparam("b_conversation_id"),
        members.c.user_id.in_(bindparam("b_user_ids", expanding=True)),
    )
    .values(
        version=select(users.c.version)
        .where(users.c.user_id == members.c.user_id)
        .scalar_subquery()
    )
)
# The one definition of a record's contribution to the total (rules 2, 13, 15): nothing
# when muted; else its unread; else 1 when marked unread. Every column it reads is in
# ix_members_user_unread, so the total is summed from the index alone.
CONTRIBUTION = case(
    (members.c.recv_msg_opt != 0, 0),
    (members.c.max_seq > members.c.has_read_seq, members.c.max_seq - members.c.has_read_seq),
    (members.c.marked_unread_version.is_not(None), 1),
    else_=0,
)
_VERSIONS_AND_TOTALS = select(
    users.c.user_id,
    users.c.version,
    select(func.coalesce(func.sum(CONTRIBUTION), 0))
    .where(members.c.user_id == users.c.user_id)
    .scalar_subquery(),
).where(users.c.user_id.in_(bindparam("user_ids", expanding=True)))
_TOTAL = select(func.coalesce(func.sum(CONTRIBUTION), 0)).where(
    members.c.user_id == bindparam("user_id")
)


def get_conversation(conn: Connection, conversation_id: str) -> Row[*tuple[Any, ...]] | None:
    return conn.execute(_GET_CONVERSATION, {"conversation_id": conversation_id}).first()


def window(conn: Connection, user_id: str, conversation_id: str) -> tuple[int, int | None] | None:
    """The seqs this user sees here (rule 11): (join_seq, left_seq or None); None when
    they never were a member."""
    parameters = {"user_id": user_id, "conversation_id": conversation_id}
    row = conn.execute(_WINDOW, parameters).first()
    if row is None:
        return None
    return int(row.join_seq), None if row.left_seq is None else int(row.left_seq)


def member_ids(conn: Connection, conversation_id: str) -> list[str]:
    return list(conn.scalars(_MEMBER_IDS, {"conversation_id": conversation_id}))


def viewers(conn: Connection, conversation_id: str, seq: int) -> dict[str, int]:
    """user_id -> role (groups; 20 in single chats) of everyone who sees seq (rule 11)."""
    rows = conn.execute(_VIEWERS, {"conversation_id": conversation_id, "seq": seq})
    return {user_id: int(role) for user_id, role in rows}


def create_single(conn: Connection, a: str, b: str, now: int) -> str:
    conversation_id = single_conversation_id(a, b)
    conn.execute(
        _INSERT_CONVERSATION,
        {
            "conversation_id": conversation_id,
            "conversation_type": SINGLE,
            "group_id": None,
            "group_name": None,
            "max_seq": 0,
            "created_at": now,
        },
    )
    conn.execute(
        _INSERT_MEMBERS,
        [
            _member(a, conversation_id, peer_id=b),
            _member(b, conversation_id, peer_id=a),
        ],
    )
    return conversation_id


def create_group(
    conn: Connection, group_id: str, name: str, user_ids: Collection[str], now: int
) -> str:
    conversation_id = group_conversation_id(group_id)
    conn.execute(
        _INSERT_CONVERSATION,
        {
            "conversation_id": conversation_id,
            "conversation_type": GROUP,
            "group_id": group_id,
            "group_name": name,
            "max_seq": 0,
            "created_at": now,
        },
    )
    conn.execute(_INSERT_MEMBERS, [_member(u, conversation_id, peer_id=None) for u in user_ids])
    return conversation_id


def _member(user_id: str, conversation_id: str, peer_id: str | None) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "conversation_id": conversation_id,
        "peer_id": peer_id,
        "has_read_seq": 0,
        "peer_has_read_seq": 0,
        "max_seq": 0,
        "version": 0,
    }


def next_seq(conn: Connection, conversation_id: str) -> int:
    """Assign the next seq; the row lock this takes serializes senders per conversation."""
    seq = conn.execute(_NEXT_SEQ, {"b_conversation_id": conversation_id}).scalar_one()
    return int(seq)


def max_seq(conn: Connection, conversation_id: str) -> int:
    value = conn.scalar(_MAX_SEQ, {"conversation_id": conversation_id})
    return int(value or 0)


def stamp_members(conn: Connection, conversation_id: str, user_ids: Collection[str]) -> None:
    """Mark these members' records as changed at their users' current versions."""
    conn.execute(
        _STAMP_MEMBERS, {"b_conversation_id": conversation_id, "b_user_ids": list(user_ids)}
    )


def versions_and_totals(conn: Connection, user_ids: Collection[str]) -> dict[str, tuple[int, int]]:
    """user_id -> (version, total unread)."""
    rows = conn.execute(_VERSIONS_AND_TOTALS, {"user_ids": list(user_ids)})
    return {user_id: (int(version), int(total)) for user_id, version, total in rows}


def total_unread(conn: Connection, user_id: str) -> int:
    return int(conn.execute(_TOTAL, {"user_id": user_id}).scalar_one())


def conversation_records(
    conn: Connection,
    user_ids: Collection[str],
    conversation_ids: Collection[str] | None = None,
    since_version: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each user's view of conversations, in the API's (OpenIM's) field names."""
    query = _records_query(conversation_ids is not None, since_version is not None)
    parameters: dict[str, Any] = {"user_ids": list(user_ids)}
    if conversation_ids is not None:
        parameters["conversation_ids"] = list(conversation_ids)
    if since_version is not None:
        parameters["since_version"] = since_version
    records: dict[str, list[dict[str, Any]]] = {user_id: [] for user_id in user_ids}
    for row in conn.execute(query, parameters):
        records[row.user_id].append(_record(row))
    return records


def peer_records(
    conn: Connection, user_id: str, conversation_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """peer_id -> the peer's record, for these single chats of the user.

    One lookup per conversation: asking for N users' records of N conversations instead
    would probe all N x N pairs (SQLite: 2 s at 3,000)."""
    parameters = {"user_id": user_id, "conversation_ids": list(conversation_ids)}
    return {row.user_id: _record(row) for row in conn.execute(_PEER_RECORDS, parameters)}


def _records_select() -> Select[Any]:
    peer = users.alias("peer")
    return (
        select(
            members.c.user_id,
            members.c.conversation_id,
            members.c.peer_id,
            members.c.has_read_seq,
            members.c.peer_has_read_seq,
            members.c.version,
            conversations.c.conversation_type,
            conversations.c.group_id,
            conversations.c.group_name,
            members.c.max_seq,
            conversations.c.created_at,
            peer.c.nickname.label("peer_nickname"),
            peer.c.face_url.label("peer_face_url"),
            members.c.join_seq,
            messages.c.seq,
            messages.c.server_msg_id,
            messages.c.client_msg_id,
            messages.c.sender_id,
            messages.c.content_type,
            messages.c.content,
            messages.c.send_time,
            members.c.left_seq,
            members.c.recv_msg_opt,
            members.c.is_pinned,
            mentions.at_type_column().label("group_at_type"),
            mentions.count_column().label("mention_count"),
            members.c.marked_unread_version,
            members.c.hidden_seq,
        )
        .select_from(members)
        .join(conversations, conversations.c.conversation_id == members.c.conversation_id)
        .outerjoin(peer, peer.c.user_id == members.c.peer_id)
        .outerjoin(
            messages,
            and_(
                messages.c.conversation_id == members.c.conversation_id,
                messages.c.seq == members.c.max_seq,
            ),
        )
    )


@functools.cache
def _records_query(by_conversation: bool, since: bool) -> Select[Any]:
    query = _records_select().where(members.c.user_id.in_(bindparam("user_ids", expanding=True)))
    if by_conversation:
        query = query.where(
            members.c.conversation_id.in_(bindparam("conversation_ids", expanding=True))
        )
    if since:
        query = query.where(members.c.version > bindparam("since_version"))
    return query


_PEER_RECORDS = _records_select().where(
    members.c.conversation_id.in_(bindparam("conversation_ids", expanding=True)),
    members.c.user_id != bindparam("user_id"),
)


def _record(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    is_single = row.conversation_type == SINGLE
    latest = None
    if row.seq is not None:
        latest = message_record(
            row.conversation_id,
            row.conversation_type,
            row.group_id,
            row.seq,
            row.server_msg_id,
            row.client_msg_id,
            row.sender_id,
            row.content_type,
            row.content,
            row.send_time,
        )
    max_seq = int(row.max_seq)
    unread = max(0, max_seq - int(row.has_read_seq))
    return {
        "conversationID": row.conversation_id,
        "conversationType": row.conversation_type,
        "userID": row.peer_id or "",
        "groupID": row.group_id or "",
        "showName": row.peer_nickname if is_single else row.group_name,
        "faceURL": (row.peer_face_url or "") if is_single else "",
        "unreadCount": unread,
        "hasReadSeq": int(row.has_read_seq),
        "maxSeq": max_seq,
        "joinSeq": int(row.join_seq),
        "peerHasReadSeq": int(row.peer_has_read_seq),
        "latestMsg": latest,
        "latestMsgSendTime": int(row.send_time if latest else row.created_at),
        "version": int(row.version),
        "isNotInGroup": row.left_seq is not None,
        "recvMsgOpt": int(row.recv_msg_opt),
        "isPinned": bool(row.is_pinned),
        "groupAtType": int(row.group_at_type),
        "mentionCount": int(row.mention_count),
        "isMarkedUnread": row.marked_unread_version is not None,
        # A message after the hide (any: a notification, my own) shows it again.
        "isHidden": row.hidden_seq is not None and max_seq <= int(row.hidden_seq),
    }


def message_record(
    conversation_id: str,
    conversation_type: int,
    group_id: str | None,
    seq: int,
    server_msg_id: str,
    client_msg_id: str,
    sender_id: str,
    content_type: int,
    content: str,
    send_time: int,
) -> dict[str, Any]:
    recv_id = ""
    if conversation_type == SINGLE:
        # User IDs never contain "_", so the two participants split cleanly.
        first, second = conversation_id[len("si_") :].split("_")
        recv_id = second if sender_id == first else first
    record: dict[str, Any] = {
        "serverMsgID": server_msg_id,
        "clientMsgID": client_msg_id,
        "conversationID": conversation_id,
        "seq": int(seq),
        "sendID": sender_id,
        "recvID": recv_id,
        "groupID": group_id or "",
        "sessionType": conversation_type,
        "contentType": int(content_type),
        **_NO_ELEMS,
        "sendTime": int(send_time),
    }
    # Text is stored as itself; any other content type as the JSON of its elem.
    elem = CONTENT_ELEMS[int(content_type)]
    record[elem] = {"content": content} if elem == TEXT_ELEM else json.loads(content)
    return record


# Every message carries every elem field: null except the one its contentType names.
_NO_ELEMS: dict[str, None] = dict.fromkeys(CONTENT_ELEMS.values())
TEXT_ELEM = CONTENT_ELEMS[TEXT]
