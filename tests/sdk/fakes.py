"""An in-memory fake of the server's README protocol, and a Transport that talks to it.

Small on purpose: the semantics that matter to the SDK (versions, epochs, absolute state,
positions that only move forward, events after commit to every member) and no more.
Tests can hold events back and deliver them duplicated, reordered or not at all, make
requests fail or wait, and act as other users directly through :meth:`FakeServer.call`.

Groups as the real server has them (``server/actions/groups.py``): roles, membership
changes as notification messages with their own seq, membership windows (a member sees
seqs from their join to their leave; once out, the record stays with nothing unread and
``isNotInGroup``), receipts and reader lists from positions, ``receipt.group`` and
``typing`` frames (no version). ``receipt.group`` is pushed at once, not coalesced.

Issue 12 as ``/work/spec12.md`` says it: records' ``faceURL`` and ``joinSeq``; uploads
(``PUT /api/files``: the size limit, empty files, a declared type contradicting the
"sniffed" one — a few magic numbers stand in for libmagic —, images measured from their
headers with a stand-in thumbnail, content-addressed), downloads authorized as the server
does (the uploader, a message showing it inside the caller's window, a current avatar),
picture (102) and file (105) messages filled from the upload, ``message_files`` rows
dropped by a revocation; search, profiles (``user.updated``), the directory and push
subscriptions.

Issue 11 as ``/work/spec11.md`` says it (the contract with the real server): mute and pin
(settings), derived ``mentionCount``/``groupAtType`` from mention rows (c, s, target),
mark-unread as a version (``marked_unread_version``), mark-all-read (one version, one
event), hide as ``hidden_seq``, revoke (tombstones, ``message.revoked``, revocation rows
for ``revokedMessages`` in sync), and the total as the sum of contributions.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import re
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tidemark_sdk import (
    BadCredentialsError,
    ConversationNotFoundError,
    FileEmptyError,
    FileTooLargeError,
    FileTypeMismatchError,
    GroupDismissedError,
    GroupPermissionDeniedError,
    MessageNotFoundError,
    NetworkError,
    NoSuchFileError,
    NotFoundError,
    NotGroupMemberError,
    NotRevocableError,
    RevokeNotAllowedError,
    RevokeTooLateError,
    SdkError,
    TokenExpiredError,
    UnauthorizedError,
    UserExistsError,
    UserNotFoundError,
    ValidationFailedError,
)
from tidemark_sdk._protocol import AT_ALL_TAG, CONTENT_TYPES

OWNER, ADMIN, MEMBER = 100, 60, 20
REVOKED = CONTENT_TYPES["REVOKED"]
AT_TEXT = CONTENT_TYPES["AT_TEXT"]
PICTURE = CONTENT_TYPES["PICTURE"]
FILE = CONTENT_TYPES["FILE"]
NO_CLAIM = "application/octet-stream"
RASTER = ("image/png", "image/jpeg", "image/gif", "image/webp")
_FILE_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")
_FILE_PATH = re.compile(r"^/api/files/([0-9a-f]{64})$")
_MEMBER_FILTERS = {
    0: (OWNER, ADMIN, MEMBER),
    1: (OWNER,),
    2: (ADMIN,),
    3: (MEMBER,),
    4: (ADMIN, MEMBER),
    5: (OWNER, ADMIN),
}


@dataclass
class _Member:
    has_read_seq: int = 0
    peer_has_read_seq: int = 0
    version: int = 0
    role: int = MEMBER
    join_seq: int = 0
    left_seq: int | None = None
    join_time: int = 0
    recv_msg_opt: int = 0
    is_pinned: bool = False
    mention_read_seq: int = 0
    marked_unread_version: int | None = None
    hidden_seq: int | None = None

    @property
    def current(self) -> bool:
        return self.left_seq is None

    def sees(self, seq: int) -> bool:
        return self.join_seq <= seq and (self.left_seq is None or seq <= self.left_seq)


@dataclass
class _Conversation:
    conversation_id: str
    conversation_type: int
    group_id: str
    name: str
    created_at: int
    max_seq: int = 0
    members: dict[str, _Member] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    dismissed: bool = False
    #: Mention rows (seq, target): target a user ID or AT_ALL_TAG (rule 14).
    mentions: set[tuple[int, str]] = field(default_factory=set)

    def current(self) -> list[str]:
        return [u for u, m in self.members.items() if m.current]


class FakeServer:
    def __init__(self) -> None:
        self.epoch = uuid.uuid4().hex
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.expired_tokens: set[str] = set()
        self.conversations: dict[str, _Conversation] = {}
        self.connections: list[FakeConnection] = []
        # When true, events are kept in held[user] instead of being pushed.
        self.hold = False
        self.held: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        #: expiresInMs of the typing frames pushed.
        self.typing_ttl_ms = 5000
        #: REVOKE_WINDOW_SECONDS: the sender may revoke within it (the clock ticks 1 s
        #: per message or login, so 0 makes every revoke by a plain sender too late).
        self.revoke_window_seconds = 86400
        #: (user_id, version, conversationID, seq): the revocations table.
        self.revocations: list[tuple[str, int, str, int]] = []
        self._clock = itertools.count(1_700_000_000_000, 1000)
        #: MAX_UPLOAD_BYTES.
        self.max_upload_bytes = 25 * 1024 * 1024
        #: sha256 -> {data, mime, width, height, thumb (its sha256 or None)}: files rows.
        self.files: dict[str, dict[str, Any]] = {}
        #: (user, sha256) -> the name they uploaded it under: uploads rows.
        self.uploads: dict[tuple[str, str], str] = {}
        #: (conversationID, seq, sha256): message_files rows.
        self.message_files: set[tuple[str, int, str]] = set()
        #: (path, Content-Type, size) of every upload that reached the server.
        self.upload_log: list[tuple[str, str, int]] = []
        #: endpoint -> {token, user, keys, previews}: push_subscriptions rows.
        self.push_subscriptions: dict[str, dict[str, Any]] = {}
        self.vapid_public_key = "BFakeVapidPublicKeyOfTheFakeServer"

    # -- test helpers ------------------------------------------------------------------

    def new_epoch(self) -> None:
        """As if the database were recreated with the same data: a new epoch."""
        self.epoch = uuid.uuid4().hex

    def token_for(self, user_id: str) -> str:
        token = uuid.uuid4().hex
        self.tokens[token] = user_id
        return token

    def call(self, user_id: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Act as ``user_id`` directly, without an SDK client."""
        return self.handle(method, path, body, self.token_for(user_id))

    def snapshot(self, user_id: str) -> dict[str, dict[str, Any]]:
        """What a fresh full sync would give this user, keyed by conversationID."""
        return {
            cid: self.record(user_id, conversation)
            for cid, conversation in self.conversations.items()
            if user_id in conversation.members
        }

    def group(self, group_id: str) -> _Conversation:
        return self.conversations[f"sg_{group_id}"]

    def take_held(self, user_id: str) -> list[dict[str, Any]]:
        return self.held.pop(user_id, [])

    def deliver(self, user_id: str, frame: dict[str, Any]) -> None:
        for connection in self.connections:
            if connection.user_id == user_id and not connection.closed:
                connection.push(copy.deepcopy(frame))

    def drop_connections(self) -> None:
        for connection in list(self.connections):
            connection.push_close()

    # -- the protocol ------------------------------------------------------------------

    def handle(
        self, method: str, path: str, body: Mapping[str, Any] | None, token: str | None
    ) -> dict[str, Any]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query))
        route = parts.path
        self.requests.append((method, route))
        body = dict(body or {})
        if (method, route) == ("POST", "/api/users"):
            return self._register(body)
        if (method, route) == ("POST", "/api/auth/login"):
            return self._login(body)
        user = self.authenticate(token)
        if (method, route) == ("POST", "/api/auth/logout"):
            self.tokens.pop(token or "", None)
            # The session's push subscriptions go with it.
            self.push_subscriptions = {
                e: sub for e, sub in self.push_subscriptions.items() if sub["token"] != token
            }
            return {}
        if (method, route) == ("GET", "/api/users/me"):
            return {**self.public_user(user), "createTime": self.users[user]["createTime"]}
        if (method, route) == ("POST", "/api/users/me"):
            return self._set_self_info(user, body)
        if (method, route) == ("GET", "/api/users"):
            return self._users_info(query)
        if (method, route) == ("GET", "/api/users/search"):
            return self._search_users(query)
        if (method, route) == ("POST", "/api/messages/search"):
            return self._search(user, body)
        if (method, route) == ("GET", "/api/push/key"):
            return {"publicKey": self.vapid_public_key}
        if (method, route) == ("POST", "/api/push/subscriptions"):
            return self._subscribe(user, token or "", body)
        if (method, route) == ("DELETE", "/api/push/subscriptions"):
            sub = self.push_subscriptions.get(str(body.get("endpoint")))
            if sub is not None and sub["user"] == user:
                del self.push_subscriptions[str(body["endpoint"])]
            return {}
        if (method, route) == ("GET", "/api/sync"):
            return self._sync(user, query)
        if (method, route) == ("POST", "/api/groups"):
            return self._create_group(user, body)
        if (method, route) == ("GET", "/api/groups"):
            return self._groups(user, [g for g in self._group_ids() if self._is_current(g, user)])
        if (method, route) == ("POST", "/api/groups/info"):
            seen = [g for g in body["groupIDList"] if self._was_in(g, user)]
            return self._groups(user, seen)
        if (method, route) == ("POST", "/api/messages"):
            return self._send(user, body)
        if (method, route) == ("POST", "/api/conversations/read-all"):
            return self._read_all(user, body)
        segments = route.split("/")
        if len(segments) in (4, 5) and segments[:3] == ["", "api", "groups"]:
            group_id = unquote(segments[3])
            action = segments[4] if len(segments) == 5 else ""
            return self._group_route(user, method, group_id, action, body, query)
        if len(segments) == 5 and segments[:3] == ["", "api", "conversations"]:
            cid = unquote(segments[3])
            if (method, segments[4]) == ("GET", "messages"):
                return self._history(user, cid, query)
            if (method, segments[4]) == ("POST", "read"):
                return self._mark_read(user, cid, body)
            if (method, segments[4]) == ("GET", "receipts"):
                return self._receipts(user, cid, [int(x) for x in query["seqs"].split(",")])
            if (method, segments[4]) == ("GET", "readers"):
                return self._readers(user, cid, query)
            if (method, segments[4]) == ("POST", "typing"):
                return self._typing(user, cid, body)
            if (method, segments[4]) == ("POST", "settings"):
                return self._settings(user, cid, body)
            if (method, segments[4]) == ("POST", "unread"):
                return self._mark_unread(user, cid)
            if (method, segments[4]) == ("POST", "hide"):
                return self._hide(user, cid)
            if (method, segments[4]) == ("POST", "revoke"):
                return self._revoke(user, cid, body)
        raise NotFoundError(f"no route {method} {route}")

    def authenticate(self, token: str | None) -> str:
        if token in self.expired_tokens:
            raise TokenExpiredError("token expired: log in again")
        if token is None or token not in self.tokens:
            raise UnauthorizedError("unknown or revoked token")
        return self.tokens[token]

    def _register(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["userID"] in self.users:
            raise UserExistsError(f"user {body['userID']!r} already exists")
        self.users[body["userID"]] = {
            "password": body["password"],
            "nickname": body["nickname"],
            "faceURL": "",
            "createTime": next(self._clock),
            "version": 0,
            "sent": {},
        }
        return {"userID": body["userID"], "nickname": body["nickname"]}

    def _login(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(body.get("userID", ""))
        if user is None or user["password"] != body.get("password"):
            raise BadCredentialsError("wrong user ID or password")
        token = self.token_for(body["userID"])
        return {
            "token": token,
            "userID": body["userID"],
            "nickname": user["nickname"],
            "expiresAt": next(self._clock) + 10**9,
        }

    def _sync(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        version = self.users[user_id]["version"]
        asked = int(query["version"]) if "version" in query else None
        full = query.get("epoch") != self.epoch or asked is None or asked > version
        records = [
            r for r in self.snapshot(user_id).values() if full or r["version"] > (asked or 0)
        ]
        revoked = []
        if not full:
            for user, version, cid, seq in self.revocations:
                if user == user_id and version > (asked or 0):
                    conversation = self.conversations[cid]
                    revoked += [copy.deepcopy(m) for m in conversation.messages if m["seq"] == seq]
        return {
            **self._head(user_id),
            "full": full,
            "conversations": records,
            "revokedMessages": revoked,
        }

    def _create_group(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("groupName") or body.get("groupInfo", {}).get("groupName")
        if not name:
            raise ValidationFailedError("give exactly one of groupName and groupInfo.groupName")
        members = sorted({user_id, *body["memberUserIDs"]})
        missing = [m for m in members if m not in self.users]
        if missing:
            raise UserNotFoundError(f"no such users: {', '.join(missing)}")
        group_id = uuid.uuid4().hex[:16]
        conversation = _Conversation(f"sg_{group_id}", 3, group_id, name, next(self._clock))
        conversation.members = {m: _Member(join_time=conversation.created_at) for m in members}
        for admin in body.get("adminUserIDs", []):
            conversation.members[admin].role = ADMIN
        conversation.members[user_id].role = OWNER
        self.conversations[conversation.conversation_id] = conversation
        self._bump(conversation, members)
        for member in members:
            self._publish(
                member, {"type": "conversation.changed", **self._state(member, [conversation])}
            )
        state = self._state(user_id, [conversation])
        return {"groupID": group_id, "conversationID": conversation.conversation_id, "state": state}

    # -- groups ------------------------------------------------------------------------

    def _group_ids(self) -> list[str]:
        return sorted(c.group_id for c in self.conversations.values() if c.group_id)

    def _is_current(self, group_id: str, user_id: str) -> bool:
        member = self.group(group_id).members.get(user_id)
        return member is not None and member.current

    def _was_in(self, group_id: str, user_id: str) -> bool:
        conversation = self.conversations.get(f"sg_{group_id}")
        return conversation is not None and user_id in conversation.members

    def _groups(self, user_id: str, group_ids: list[str]) -> dict[str, Any]:
        items = []
        for group_id in sorted(group_ids):
            conversation = self.group(group_id)
            owner = next((u for u, m in conversation.members.items() if m.role == OWNER), "")
            items.append(
                {
                    "groupID": group_id,
                    "groupName": conversation.name,
                    "ownerUserID": owner,
                    "memberCount": len(conversation.current()),
                    "status": 2 if conversation.dismissed else 0,
                    "createTime": conversation.created_at,
                }
            )
        return {"groups": items}

    def _operator(self, user_id: str, group_id: str) -> tuple[_Conversation, _Member]:
        conversation = self.conversations.get(f"sg_{group_id}")
        if conversation is None or user_id not in conversation.members:
            raise ConversationNotFoundError(f"no conversation sg_{group_id!r} for you")
        if conversation.dismissed:
            raise GroupDismissedError("the group was dismissed")
        member = conversation.members[user_id]
        if not member.current:
            raise NotGroupMemberError("you are no longer in this group")
        return conversation, member

    def _group_route(
        self,
        user_id: str,
        method: str,
        group_id: str,
        action: str,
        body: dict[str, Any],
        query: dict[str, str],
    ) -> dict[str, Any]:
        conversation, me = self._operator(user_id, group_id)
        if (method, action) == ("GET", "members"):
            roles = _MEMBER_FILTERS[int(query.get("filter", 0))]
            chosen = [(u, m) for u, m in conversation.members.items() if m.current]
            chosen = sorted(
                (pair for pair in chosen if pair[1].role in roles),
                key=lambda pair: (-pair[1].role, pair[0]),
            )
            offset, count = int(query.get("offset", 0)), int(query.get("count", 100))
            items = [
                {
                    "groupID": group_id,
                    "userID": u,
                    "nickname": self.users[u]["nickname"],
                    "roleLevel": m.role,
                    "joinTime": m.join_time,
                    "joinSeq": m.join_seq,
                }
                for u, m in chosen[offset : offset + count]
            ]
            return {"members": items, "total": len(chosen)}

        def require(*roles: int) -> None:
            if me.role not in roles:
                raise GroupPermissionDeniedError("not allowed")

        def member(target: str) -> _Member:
            found = conversation.members.get(target)
            if found is None or not found.current:
                raise NotGroupMemberError(f"{target!r} is not in this group")
            return found

        def who(target: str) -> dict[str, str]:
            return {"userID": target, "nickname": self.users[target]["nickname"]}

        if (method, action) == ("POST", "members"):
            require(OWNER, ADMIN)
            new = sorted({u for u in body["userIDList"] if not self._is_current(group_id, u)})
            missing = [u for u in new if u not in self.users]
            if missing:
                raise UserNotFoundError(f"no such users: {', '.join(missing)}")
            if new:
                self._notify(
                    conversation,
                    user_id,
                    "MEMBER_INVITED",
                    {"invitedUserList": [who(u) for u in new]},
                    joining=new,
                )
        elif (method, action) == ("POST", "kick"):
            require(OWNER, ADMIN)
            targets = sorted(set(body["userIDList"]))
            for target in targets:
                if target == user_id:
                    raise ValidationFailedError("to leave a group, quit it")
                if member(target).role >= me.role:
                    raise GroupPermissionDeniedError("cannot remove them")
            self._notify(
                conversation,
                user_id,
                "MEMBER_KICKED",
                {"kickedUserList": [who(u) for u in targets]},
                leaving=targets,
            )
        elif (method, action) == ("POST", "quit"):
            if me.role == OWNER:
                raise GroupPermissionDeniedError("the owner cannot quit")
            self._notify(
                conversation, user_id, "MEMBER_QUIT", {"quitUser": who(user_id)}, leaving=[user_id]
            )
        elif (method, action) == ("POST", "dismiss"):
            require(OWNER)
            self._notify(
                conversation, user_id, "GROUP_DISMISSED", {}, leaving=conversation.current()
            )
            conversation.dismissed = True
        elif (method, action) == ("POST", "transfer"):
            require(OWNER)
            new_owner = body["newOwnerUserID"]
            member(new_owner).role = OWNER
            me.role = MEMBER
            self._notify(
                conversation, user_id, "GROUP_OWNER_TRANSFERRED", {"newGroupOwner": who(new_owner)}
            )
        elif (method, action) == ("PATCH", ""):
            require(OWNER, ADMIN)
            if body["groupName"] != conversation.name:
                conversation.name = body["groupName"]
                detail = {"group": {"groupID": group_id, "groupName": conversation.name}}
                self._notify(conversation, user_id, "GROUP_NAME_UPDATED", detail)
        elif (method, action) == ("POST", "role"):
            require(OWNER)
            target = member(body["userID"])
            if target.role == OWNER:
                raise GroupPermissionDeniedError("the owner's role changes by transfer")
            if target.role != body["roleLevel"]:
                target.role = body["roleLevel"]
                kind = "MEMBER_SET_TO_ADMIN" if target.role == ADMIN else "MEMBER_SET_TO_ORDINARY"
                self._notify(conversation, user_id, kind, {"member": who(body["userID"])})
        else:
            raise NotFoundError(f"no route {method} /api/groups/{group_id}/{action}")
        return {
            "groupID": group_id,
            "conversationID": conversation.conversation_id,
            "state": self._state(user_id, [conversation]),
        }

    def _notify(
        self,
        conversation: _Conversation,
        operator: str,
        kind: str,
        detail: dict[str, Any],
        *,
        joining: Sequence[str] = (),
        leaving: Sequence[str] = (),
    ) -> None:
        """Rule 12: a notification message with its own seq, to everyone affected."""
        affected = sorted({*conversation.current(), *joining})
        conversation.max_seq += 1
        seq = conversation.max_seq
        op_user = {"userID": operator, "nickname": self.users[operator]["nickname"]}
        message = {
            "serverMsgID": uuid.uuid4().hex,
            "clientMsgID": f"n-{uuid.uuid4().hex}",
            "conversationID": conversation.conversation_id,
            "seq": seq,
            "sendID": operator,
            "recvID": "",
            "groupID": conversation.group_id,
            "sessionType": 3,
            "contentType": CONTENT_TYPES[kind],
            "textElem": None,
            "pictureElem": None,
            "fileElem": None,
            "atTextElem": None,
            "notificationElem": {"detail": json.dumps({"opUser": op_user, **detail})},
            "sendTime": next(self._clock),
        }
        conversation.messages.append(message)
        for user_id in joining:
            conversation.members[user_id] = _Member(
                has_read_seq=seq, join_seq=seq, join_time=message["sendTime"]
            )
        conversation.members[operator].has_read_seq = seq
        for user_id in leaving:
            conversation.members[user_id].left_seq = seq
            conversation.members[user_id].has_read_seq = seq
        self._bump(conversation, affected)
        for user_id in affected:
            self._publish(
                user_id,
                {
                    "type": "message.new",
                    **self._head(user_id),
                    "conversation": self.record(user_id, conversation),
                    "message": message,
                },
            )

    def _receipts(self, user_id: str, cid: str, seqs: list[int]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        by_seq = {m["seq"]: m for m in conversation.messages}
        receipts = []
        for seq in sorted(set(seqs)):
            if seq not in by_seq or not me.sees(seq):
                continue
            at = self._members_at(conversation, seq)
            read = sum(1 for m in at.values() if m.has_read_seq >= seq)
            receipts.append({"seq": seq, "hasReadCount": read, "groupMemberCount": len(at)})
        return {"receipts": receipts}

    def _members_at(self, conversation: _Conversation, seq: int) -> dict[str, _Member]:
        sender = next(m["sendID"] for m in conversation.messages if m["seq"] == seq)
        return {u: m for u, m in conversation.members.items() if u != sender and m.sees(seq)}

    def _readers(self, user_id: str, cid: str, query: dict[str, str]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        seq = int(query["seq"])
        if not any(m["seq"] == seq for m in conversation.messages) or not conversation.members[
            user_id
        ].sees(seq):
            raise MessageNotFoundError(f"no message {seq} in {cid!r}")
        read = query.get("filter", "0") == "0"
        at = self._members_at(conversation, seq)
        chosen = [u for u, m in sorted(at.items()) if (m.has_read_seq >= seq) == read]
        offset, count = int(query.get("offset", 0)), int(query.get("count", 100))
        members = [
            {
                "groupID": conversation.group_id,
                "userID": u,
                "nickname": self.users[u]["nickname"],
                "roleLevel": conversation.members[u].role,
            }
            for u in chosen[offset : offset + count]
        ]
        return {"members": members, "total": len(chosen)}

    def _typing(self, user_id: str, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        if not conversation.members[user_id].current:
            raise NotGroupMemberError("you are no longer in this group")
        frame = {
            "type": "typing",
            "conversationID": cid,
            "userID": user_id,
            "focus": bool(body["focus"]),
            "expiresInMs": self.typing_ttl_ms,
        }
        for member in conversation.current():
            if member != user_id:
                self._publish(member, frame)
        return {}

    def _send(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        sent = self.users[user_id]["sent"]
        if body["clientMsgID"] in sent:
            message = sent[body["clientMsgID"]]
            conversation = self.conversations[message["conversationID"]]
            return {"message": message, "state": self._state(user_id, [conversation])}
        conversation = self._target(user_id, body)
        content_type = body.get("contentType") or (
            AT_TEXT if body.get("atUserIDList") is not None else 101
        )
        media: dict[str, Any] = {"pictureElem": None, "fileElem": None}
        shown: list[str] = []
        if content_type in (PICTURE, FILE):
            if body.get("text") or body.get("atUserIDList") is not None:
                raise ValidationFailedError("a picture or file message has no text")
            media, shown = self._media(user_id, content_type, body)
            at_elem = None
        else:
            at_elem = self._at_elem(conversation, body)
        conversation.max_seq += 1
        seq = conversation.max_seq
        peer = ""
        if conversation.conversation_type == 1:
            peer = next(m for m in conversation.members if m != user_id)
        message = {
            "serverMsgID": uuid.uuid4().hex,
            "clientMsgID": body["clientMsgID"],
            "conversationID": conversation.conversation_id,
            "seq": seq,
            "sendID": user_id,
            "recvID": peer,
            "groupID": conversation.group_id,
            "sessionType": conversation.conversation_type,
            "contentType": content_type if shown else AT_TEXT if at_elem else 101,
            "textElem": None if at_elem or shown else {"content": body["text"]},
            **media,
            "atTextElem": at_elem,
            "notificationElem": None,
            "sendTime": next(self._clock),
        }
        conversation.messages.append(message)
        self.message_files |= {(conversation.conversation_id, seq, sha) for sha in shown}
        if at_elem:
            conversation.mentions |= {(seq, target) for target in at_elem["atUserList"]}
        sent[body["clientMsgID"]] = message
        # Rule 2: the sender has read their own message; in a single chat the peer's
        # record knows it too.
        conversation.members[user_id].has_read_seq = seq
        if peer:
            conversation.members[peer].peer_has_read_seq = seq
        self._bump(conversation, conversation.current())
        for member in conversation.current():
            self._publish(
                member,
                {
                    "type": "message.new",
                    **self._head(member),
                    "conversation": self.record(member, conversation),
                    "message": message,
                },
            )
        return {"message": message, "state": self._state(user_id, [conversation])}

    def _at_elem(self, conversation: _Conversation, body: dict[str, Any]) -> dict[str, Any] | None:
        """The atTextElem of an @ message (groups only), checked as the server does."""
        at_ids, infos = body.get("atUserIDList"), body.get("atUsersInfo") or []
        if at_ids is None:
            if infos:
                raise ValidationFailedError("atUsersInfo needs atUserIDList")
            return None
        if not conversation.group_id:
            raise ValidationFailedError("an @ message goes to a group only")
        if not 1 <= len(at_ids) <= 100 or len(set(at_ids)) != len(at_ids):
            raise ValidationFailedError("atUserIDList: 1-100 user IDs, no repeats")
        for target in at_ids:
            if target != AT_ALL_TAG and target not in conversation.current():
                raise ValidationFailedError(f"{target!r} is not a member of this group")
        for info in infos:
            if info.get("atUserID") not in at_ids:
                raise ValidationFailedError(f"atUsersInfo: {info.get('atUserID')!r} not in list")
            if not 1 <= len(info.get("groupNickname") or "") <= 64:
                raise ValidationFailedError("atUsersInfo: groupNickname must be 1-64 characters")
        return {
            "text": body["text"],
            "atUserList": list(at_ids),
            "atUsersInfo": [
                {"atUserID": i["atUserID"], "groupNickname": i["groupNickname"]} for i in infos
            ],
        }

    def _target(self, user_id: str, body: dict[str, Any]) -> _Conversation:
        if body.get("groupID"):
            return self._operator(user_id, body["groupID"])[0]
        recv_id = body.get("recvID")
        if not recv_id or recv_id == user_id:
            raise ValidationFailedError("give exactly one of recvID and groupID")
        if recv_id not in self.users:
            raise UserNotFoundError(f"no user {recv_id!r}")
        first, second = sorted((user_id, recv_id))
        cid = f"si_{first}_{second}"
        if cid not in self.conversations:
            conversation = _Conversation(cid, 1, "", "", next(self._clock))
            conversation.members = {user_id: _Member(), recv_id: _Member()}
            self.conversations[cid] = conversation
        return self.conversations[cid]

    def _member_of(self, user_id: str, cid: str) -> _Conversation:
        conversation = self.conversations.get(cid)
        if conversation is None or user_id not in conversation.members:
            raise ConversationNotFoundError(f"no conversation {cid!r} for you")
        return conversation

    def _history(self, user_id: str, cid: str, query: dict[str, str]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        count = int(query.get("count", 20))
        before = int(query["beforeSeq"]) if "beforeSeq" in query else None
        me = conversation.members[user_id]
        found = [
            m
            for m in conversation.messages
            if (before is None or m["seq"] < before) and me.sees(m["seq"])
        ]
        found.reverse()
        return {"messages": found[:count], "isEnd": len(found) <= count}

    def _mark_read(self, user_id: str, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        visible = self._max_seq(conversation, me)
        target = visible if body.get("seq") is None else min(body["seq"], visible)
        version = body.get("version")
        if target <= me.has_read_seq and self._clears_flag(me, version):
            # Nothing moved, but the flag goes (rule 15): a change like any other.
            me.marked_unread_version = None
            self._bump(conversation, [user_id])
            self._publish(
                user_id, {"type": "conversation.changed", **self._state(user_id, [conversation])}
            )
        elif target > me.has_read_seq:  # positions only move forward (rule 3)
            if self._clears_flag(me, version):
                me.marked_unread_version = None
            self._move_read(user_id, conversation, target)
        return {"state": self._state(user_id, [conversation])}

    @staticmethod
    def _clears_flag(member: _Member, version: int | None) -> bool:
        """Rule 15: a mark-read clears the flag iff it comes after it, judged by the
        record version the client held (absent: it clears)."""
        flag = member.marked_unread_version
        return flag is not None and (version is None or version >= flag)

    def _move_read(
        self, user_id: str, conversation: _Conversation, target: int, *, bump: bool = True
    ) -> list[str]:
        """Move user_id's read position to ``target``: the peer's copy, then (``bump``)
        the versions, the user's ``conversation.changed`` and the receipts; without
        ``bump`` (read-all) the group receipt only, and the peers to bump are returned."""
        cid = conversation.conversation_id
        me = conversation.members[user_id]
        me.has_read_seq = target
        peers = [m for m in conversation.members if m != user_id]
        single = conversation.conversation_type == 1
        if single:
            conversation.members[peers[0]].peer_has_read_seq = target
        if bump:
            self._bump(conversation, [user_id, *peers] if single else [user_id])
            self._publish(
                user_id, {"type": "conversation.changed", **self._state(user_id, [conversation])}
            )
        if not single:
            readers = [{"userID": user_id, "hasReadSeq": target}]
            frame = {"type": "receipt.group", "conversationID": cid, "readers": readers}
            for member in conversation.current():
                self._publish(member, frame)
        if single and bump:
            self._receipt_c2c(user_id, conversation, peers[0], target)
        return peers if single else []

    def _receipt_c2c(
        self, user_id: str, conversation: _Conversation, peer: str, target: int
    ) -> None:
        receipt = {
            "conversationID": conversation.conversation_id,
            "userID": user_id,
            "hasReadSeq": target,
        }
        self._publish(
            peer,
            {
                "type": "receipt.c2c",
                **self._head(peer),
                "conversation": self.record(peer, conversation),
                "receipt": receipt,
            },
        )

    # -- issue 11: settings, mark unread, read-all, hide, revoke ------------------------

    def _own_change(self, user_id: str, conversation: _Conversation) -> dict[str, Any]:
        """Only the user's own record changed: one version, one event to their devices."""
        self._bump(conversation, [user_id])
        state = self._state(user_id, [conversation])
        self._publish(user_id, {"type": "conversation.changed", **state})
        return {"state": state}

    def _settings(self, user_id: str, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        known = {"recvMsgOpt", "isPinned", "groupAtType"}
        if not body or set(body) - known:
            raise ValidationFailedError("give recvMsgOpt, isPinned or groupAtType")
        opt, pinned, at_type = body.get("recvMsgOpt"), body.get("isPinned"), body.get("groupAtType")
        if opt == 1:
            raise ValidationFailedError(
                "recvMsgOpt 1 (not receive) is not supported: it would lose messages"
            )
        if opt not in (None, 0, 2) or pinned not in (None, True, False) or at_type not in (None, 0):
            raise ValidationFailedError("recvMsgOpt 0 or 2, isPinned a boolean, groupAtType 0")
        changed = False
        if opt is not None and opt != me.recv_msg_opt:
            me.recv_msg_opt, changed = opt, True
        if pinned is not None and pinned != me.is_pinned:
            me.is_pinned, changed = pinned, True
        if at_type is not None and self._mention_seqs(conversation, me, user_id)[0]:
            me.mention_read_seq, changed = self._max_seq(conversation, me), True
        if not changed:
            return {"state": self._state(user_id, [conversation])}
        return self._own_change(user_id, conversation)

    def _mark_unread(self, user_id: str, cid: str) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        if not me.current and not conversation.dismissed:
            raise NotGroupMemberError("you are no longer in this group")
        if me.marked_unread_version is not None:
            return {"state": self._state(user_id, [conversation])}
        me.marked_unread_version = self.users[user_id]["version"] + 1  # the bump's version
        me.hidden_seq = None
        return self._own_change(user_id, conversation)

    def _hide(self, user_id: str, cid: str) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        visible = self._max_seq(conversation, me)
        hidden = me.hidden_seq is not None and visible <= me.hidden_seq
        if hidden and me.has_read_seq >= visible and me.marked_unread_version is None:
            return {"state": self._state(user_id, [conversation])}
        me.marked_unread_version = None
        me.hidden_seq = visible
        if visible > me.has_read_seq:
            self._move_read(user_id, conversation, visible)
            return {"state": self._state(user_id, [conversation])}
        return self._own_change(user_id, conversation)

    def _read_all(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        version = body.get("version")
        changed: list[_Conversation] = []
        moved: list[tuple[_Conversation, list[str], int]] = []
        for conversation in self.conversations.values():
            me = conversation.members.get(user_id)
            if me is None:
                continue
            visible = self._max_seq(conversation, me)
            clears = self._clears_flag(me, version)
            if visible <= me.has_read_seq and not clears:
                continue
            changed.append(conversation)
            if clears:
                me.marked_unread_version = None
            if visible > me.has_read_seq:
                moved.append(
                    (
                        conversation,
                        self._move_read(user_id, conversation, visible, bump=False),
                        visible,
                    )
                )
        if not changed:
            return {"state": self._state(user_id, [])}
        # ONE version for the reader, once per peer whose copy moved.
        self.users[user_id]["version"] += 1
        for conversation in changed:
            conversation.members[user_id].version = self.users[user_id]["version"]
        peers = {peer for _, ps, _ in moved for peer in ps}
        for peer in sorted(peers):
            self.users[peer]["version"] += 1
        for conversation, ps, target in moved:
            for peer in ps:
                conversation.members[peer].version = self.users[peer]["version"]
                self._receipt_c2c(user_id, conversation, peer, target)
        state = self._state(user_id, changed)
        self._publish(user_id, {"type": "conversation.changed", **state})
        return {"state": state}

    def _revoke(self, user_id: str, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        me = conversation.members[user_id]
        group = conversation.conversation_type == 3
        if group and conversation.dismissed:
            raise GroupDismissedError("the group was dismissed")
        if not me.current:
            raise NotGroupMemberError("you are no longer in this group")
        found = [
            m
            for m in conversation.messages
            if m["clientMsgID"] == body.get("clientMsgID") and me.sees(m["seq"])
        ]
        if not found:
            raise MessageNotFoundError(f"no message {body.get('clientMsgID')!r} in {cid!r}")
        message = found[0]
        if message["contentType"] not in (101, AT_TEXT, PICTURE, FILE, REVOKED):
            raise NotRevocableError("notifications cannot be revoked")
        role = me.role if group else 0
        sender = conversation.members.get(message["sendID"])
        sender_role = sender.role if group and sender else 0
        now = next(self._clock)
        if not (role == OWNER or (role == ADMIN and sender_role != OWNER)):
            if message["sendID"] != user_id:
                raise RevokeNotAllowedError("you may revoke only your own messages")
            late = now - message["sendTime"] > self.revoke_window_seconds * 1000
            if message["contentType"] != REVOKED and late:
                raise RevokeTooLateError("the revoke window has passed")
        if message["contentType"] == REVOKED:  # a retry after a lost answer
            return {"state": self._state(user_id, [conversation]), "message": message}
        info = {
            "revokerID": user_id,
            "revokerRole": role,
            "revokerNickname": self.users[user_id]["nickname"],
            "clientMsgID": message["clientMsgID"],
            "revokeTime": now,
            "sourceMessageSendTime": message["sendTime"],
            "sourceMessageSendID": message["sendID"],
            "sourceMessageSenderNickname": self.users[message["sendID"]]["nickname"],
            "sessionType": message["sessionType"],
            "seq": message["seq"],
            "ex": "",
        }
        # The old text is gone from the server too: the row becomes the tombstone.
        message.update(
            contentType=REVOKED,
            textElem=None,
            pictureElem=None,
            fileElem=None,
            atTextElem=None,
            notificationElem={"detail": json.dumps(info)},
        )
        # Its blobs are no longer fetchable through it.
        self.message_files = {row for row in self.message_files if row[:2] != (cid, message["seq"])}
        conversation.mentions = {(s, t) for s, t in conversation.mentions if s != message["seq"]}
        viewers = sorted(u for u, m in conversation.members.items() if m.sees(message["seq"]))
        self._bump(conversation, viewers)
        for viewer in viewers:
            version = self.users[viewer]["version"]
            self.revocations.append((viewer, version, cid, message["seq"]))
            self._publish(
                viewer,
                {
                    "type": "message.revoked",
                    **self._head(viewer),
                    "conversation": self.record(viewer, conversation),
                    "message": message,
                },
            )
        return {"state": self._state(user_id, [conversation]), "message": message}

    def _mention_seqs(
        self, conversation: _Conversation, member: _Member, user_id: str
    ) -> tuple[int, int]:
        """(mentionCount, groupAtType) derived from the mention rows (rule 14)."""
        seen = max(member.has_read_seq, member.mention_read_seq)
        rows = [
            (s, t)
            for s, t in conversation.mentions
            if s > seen
            and t in (user_id, AT_ALL_TAG)
            and member.sees(s)
            and s <= self._max_seq(conversation, member)
        ]
        at_type = (1 if any(t == user_id for _, t in rows) else 0) + (
            2 if any(t == AT_ALL_TAG for _, t in rows) else 0
        )
        return len({s for s, _ in rows}), at_type

    # -- people, search and push (issue 12) ---------------------------------------------

    def public_user(self, user_id: str) -> dict[str, Any]:
        user = self.users[user_id]
        return {
            "userID": user_id,
            "nickname": user["nickname"],
            "faceURL": user["faceURL"],
            "ex": "",
        }

    def _set_self_info(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        nickname, face_url = body.get("nickname"), body.get("faceURL")
        if set(body) - {"nickname", "faceURL"} or (nickname is None and face_url is None):
            raise ValidationFailedError("give nickname and/or faceURL")
        if nickname is not None and not (isinstance(nickname, str) and 1 <= len(nickname) <= 64):
            raise ValidationFailedError("nickname: 1-64 characters")
        if face_url:
            found = _FILE_PATH.match(str(face_url))
            if not found or (user_id, found.group(1)) not in self.uploads:
                raise NoSuchFileError("faceURL: not a file you uploaded")
            if self.files[found.group(1)]["mime"] not in RASTER:
                raise FileTypeMismatchError("faceURL: an avatar is a PNG, JPEG, GIF or WebP")
        user = self.users[user_id]
        changed = {
            k: v for k, v in (("nickname", nickname), ("faceURL", face_url)) if v is not None
        }
        if all(user[k] == v for k, v in changed.items()):
            return self.public_user(user_id)
        user.update(changed)
        # Every single chat's peer: their record of me changed (showName, faceURL).
        chats = [
            c
            for c in self.conversations.values()
            if c.conversation_type == 1 and user_id in c.members
        ]
        for conversation in chats:
            peer = next(m for m in conversation.members if m != user_id)
            self._bump(conversation, [peer])
            self._publish(
                peer, {"type": "conversation.changed", **self._state(peer, [conversation])}
            )
        self._publish(user_id, {"type": "user.updated", "user": self.public_user(user_id)})
        return self.public_user(user_id)

    def _users_info(self, query: dict[str, str]) -> dict[str, Any]:
        ids = [u for u in query.get("userIDs", "").split(",") if u]
        if not 1 <= len(ids) <= 100:
            raise ValidationFailedError("userIDs: 1-100 user IDs")
        return {"users": [self.public_user(u) for u in dict.fromkeys(ids) if u in self.users]}

    def _search_users(self, query: dict[str, str]) -> dict[str, Any]:
        keyword = query.get("keyword", "").strip().lower()
        count = int(query.get("count", 20))
        if not 1 <= len(keyword) <= 64 or not 1 <= count <= 50:
            raise ValidationFailedError("keyword: 1-64 characters; count: 1-50")
        found = [
            u
            for u, user in self.users.items()
            if u.lower().startswith(keyword) or user["nickname"].lower().startswith(keyword)
        ]
        exact = [u for u in found if keyword in (u.lower(), self.users[u]["nickname"].lower())]
        ordered = exact + sorted(u for u in found if u not in exact)
        return {"users": [self.public_user(u) for u in ordered[:count]]}

    def _search(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        keywords = body.get("keywordList")
        if (
            not isinstance(keywords, list)
            or not 1 <= len(keywords) <= 5
            or not all(isinstance(k, str) and 1 <= len(k) <= 100 for k in keywords)
        ):
            raise ValidationFailedError("keywordList: 1-5 strings of 1-100 characters")
        match_all = body.get("keywordListMatchType", 0) == 1
        page, count = int(body.get("pageIndex", 1)), int(body.get("count", 20))
        if not 1 <= count <= 100 or page < 1:
            raise ValidationFailedError("count: 1-100; pageIndex from 1")
        wanted = [k.lower() for k in keywords]
        hits: list[dict[str, Any]] = []
        for cid, conversation in self.conversations.items():
            member = conversation.members.get(user_id)
            if member is None or body.get("conversationID") not in (None, "", cid):
                continue
            for message in conversation.messages:
                if not member.sees(message["seq"]) or message["seq"] > self._max_seq(
                    conversation, member
                ):
                    continue
                words = re.findall(r"\w+", _searchable(message).lower())
                found = [_matches(k, words) for k in wanted]
                if words and (all(found) if match_all else any(found)):
                    hits.append(message)
        hits.sort(key=lambda m: (m["sendTime"], m["seq"]), reverse=True)
        per_conversation: dict[str, int] = {}
        for hit in hits:
            per_conversation[hit["conversationID"]] = (
                per_conversation.get(hit["conversationID"], 0) + 1
            )
        items: dict[str, dict[str, Any]] = {}
        for hit in hits[(page - 1) * count : page * count]:
            cid = hit["conversationID"]
            if cid not in items:
                record = self.record(user_id, self.conversations[cid])
                items[cid] = {
                    "conversationID": cid,
                    "messageCount": per_conversation[cid],
                    "conversationType": record["conversationType"],
                    "showName": record["showName"],
                    "faceURL": record["faceURL"],
                    "messageList": [],
                }
            items[cid]["messageList"].append(copy.deepcopy(hit))
        return {"totalCount": len(hits), "searchResultItems": list(items.values())}

    def _subscribe(self, user_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        endpoint, keys = body.get("endpoint"), body.get("keys") or {}
        if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
            raise ValidationFailedError("endpoint: an https URL")
        if not isinstance(keys.get("p256dh"), str) or not isinstance(keys.get("auth"), str):
            raise ValidationFailedError("keys: p256dh and auth")
        previews = bool(body.get("previews", False))
        self.push_subscriptions[endpoint] = {
            "token": token,
            "user": user_id,
            "keys": dict(keys),
            "previews": previews,
        }
        return {"endpoint": endpoint, "previews": previews}

    # -- files (issue 12) --------------------------------------------------------------

    def upload(
        self, path: str, data: bytes, content_type: str, token: str | None
    ) -> dict[str, Any]:
        """``PUT /api/files?name=&kind=`` with ``data`` as the body."""
        user_id = self.authenticate(token)
        parts = urlsplit(path)
        self.requests.append(("PUT", parts.path))
        if parts.path != "/api/files":
            raise NotFoundError(f"no route PUT {parts.path}")
        self.upload_log.append((path, content_type, len(data)))
        query = dict(parse_qsl(parts.query))
        name, kind = query.get("name", ""), query.get("kind", "file")
        if not _FILE_NAME.match(name) or kind not in ("image", "file"):
            raise ValidationFailedError("name: 1-255 characters; kind: image or file")
        if len(data) > self.max_upload_bytes:
            raise FileTooLargeError(f"over the upload limit of {self.max_upload_bytes} bytes")
        if not data:
            raise FileEmptyError("the file is empty")
        mime, size = _sniff(data)
        claim = content_type.split(";", 1)[0].strip().lower()
        if claim not in ("", NO_CLAIM) and claim != mime:
            raise FileTypeMismatchError(f"the bytes are {mime}, not the declared {claim}")
        if kind == "image" and size is None:
            raise FileTypeMismatchError(f"kind=image: the bytes ({mime}) are not an image")
        sha = hashlib.sha256(data).hexdigest()
        thumbnail = None
        if sha not in self.files:
            thumb = None
            if size is not None:
                # A stand-in thumbnail, its own file (at most 320 px on the longer side).
                scale = min(1.0, 320 / max(size))
                thumb_data = b"thumbnail of " + sha.encode()
                thumb = hashlib.sha256(thumb_data).hexdigest()
                self.files[thumb] = {
                    "data": thumb_data,
                    "mime": "image/png",
                    "width": max(1, round(size[0] * scale)),
                    "height": max(1, round(size[1] * scale)),
                    "thumb": None,
                }
            self.files[sha] = {
                "data": data,
                "mime": mime,
                "width": size[0] if size else None,
                "height": size[1] if size else None,
                "thumb": thumb,
            }
        stored = self.files[sha]
        if stored["thumb"] is not None:
            self.uploads[(user_id, stored["thumb"])] = f"{name}-thumbnail.png"
            thumbnail = self._picture(stored["thumb"])
        self.uploads[(user_id, sha)] = name
        return {
            "uuid": sha,
            "url": f"/api/files/{sha}",
            "fileName": name,
            "type": stored["mime"],
            "size": len(stored["data"]),
            "width": stored["width"] or 0,
            "height": stored["height"] or 0,
            "thumbnail": thumbnail,
        }

    def download(self, path: str, token: str | None) -> bytes:
        """``GET /api/files/<sha256>[?download=1]``: the bytes, if the caller may."""
        user_id = self.authenticate(token)
        parts = urlsplit(path)
        self.requests.append(("GET", parts.path))
        found = _FILE_PATH.match(parts.path)
        sha = found.group(1) if found else ""
        if not found or sha not in self.files or not self.may_fetch(user_id, sha):
            raise NoSuchFileError(f"no file {sha!r} that you may fetch")
        return bytes(self.files[sha]["data"])

    def may_fetch(self, user_id: str, sha: str) -> bool:
        """The uploader; a message showing it in the caller's window; a current avatar."""
        if (user_id, sha) in self.uploads:
            return True
        for cid, seq, shown in self.message_files:
            member = self.conversations[cid].members.get(user_id)
            if shown == sha and member is not None and member.sees(seq):
                return True
        return any(u["faceURL"] == f"/api/files/{sha}" for u in self.users.values())

    def _picture(self, sha: str) -> dict[str, Any]:
        stored = self.files[sha]
        return {
            "uuid": sha,
            "type": stored["mime"],
            "size": len(stored["data"]),
            "width": stored["width"] or 0,
            "height": stored["height"] or 0,
            "url": f"/api/files/{sha}",
        }

    def _media(
        self, user_id: str, content_type: int, body: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """(pictureElem and fileElem, the blobs shown) of a picture or file message."""
        if content_type == PICTURE:
            sha = ((body.get("pictureElem") or {}).get("sourcePicture") or {}).get("uuid")
        else:
            sha = (body.get("fileElem") or {}).get("uuid")
        if not isinstance(sha, str) or sha not in self.files or not self.may_fetch(user_id, sha):
            raise NoSuchFileError(f"no file {sha!r} that you may fetch")
        stored = self.files[sha]
        if content_type == PICTURE:
            if stored["thumb"] is None:
                raise FileTypeMismatchError(f"pictureElem: file {sha} is not an image")
            source = self._picture(sha)
            elem = {
                "sourcePath": "",
                "sourcePicture": source,
                "bigPicture": source,
                "snapshotPicture": self._picture(stored["thumb"]),
            }
            return {"pictureElem": elem, "fileElem": None}, [sha, stored["thumb"]]
        name = body["fileElem"].get("fileName") or self.uploads.get((user_id, sha)) or sha[:16]
        elem = {
            "filePath": "",
            "uuid": sha,
            "sourceUrl": f"/api/files/{sha}",
            "fileName": name,
            "fileSize": len(stored["data"]),
            "fileType": stored["mime"],
        }
        return {"pictureElem": None, "fileElem": elem}, [sha]

    # -- state -------------------------------------------------------------------------

    def _bump(self, conversation: _Conversation, user_ids: list[str]) -> None:
        for user_id in user_ids:
            self.users[user_id]["version"] += 1
            conversation.members[user_id].version = self.users[user_id]["version"]

    def _publish(self, user_id: str, event: dict[str, Any]) -> None:
        if self.hold:
            self.held.setdefault(user_id, []).append(copy.deepcopy(event))
        else:
            self.deliver(user_id, event)

    def _head(self, user_id: str) -> dict[str, Any]:
        total = sum(
            self._contribution(c, c.members[user_id])
            for c in self.conversations.values()
            if user_id in c.members
        )
        return {
            "epoch": self.epoch,
            "version": self.users[user_id]["version"],
            "totalUnreadCount": total,
        }

    def _state(self, user_id: str, conversations: list[_Conversation]) -> dict[str, Any]:
        return {
            **self._head(user_id),
            "conversations": [self.record(user_id, c) for c in conversations],
        }

    def _contribution(self, conversation: _Conversation, member: _Member) -> int:
        """The spec's one definition: muted 0; else unread; else 1 if marked unread."""
        if member.recv_msg_opt != 0:
            return 0
        count = max(0, self._max_seq(conversation, member) - member.has_read_seq)
        return count or (1 if member.marked_unread_version is not None else 0)

    @staticmethod
    def _max_seq(conversation: _Conversation, member: _Member) -> int:
        """Rule 11: a member who left sees up to the seq that says so."""
        if member.left_seq is None:
            return conversation.max_seq
        return min(conversation.max_seq, member.left_seq)

    def record(self, user_id: str, conversation: _Conversation) -> dict[str, Any]:
        member = conversation.members[user_id]
        peer = ""
        if conversation.conversation_type == 1:
            peer = next(m for m in conversation.members if m != user_id)
        max_seq = self._max_seq(conversation, member)
        seen = [m for m in conversation.messages if member.sees(m["seq"]) and m["seq"] <= max_seq]
        latest = copy.deepcopy(seen[-1]) if seen else None
        mention_count, at_type = self._mention_seqs(conversation, member, user_id)
        return {
            "conversationID": conversation.conversation_id,
            "conversationType": conversation.conversation_type,
            "userID": peer,
            "groupID": conversation.group_id,
            "showName": self.users[peer]["nickname"] if peer else conversation.name,
            "faceURL": self.users[peer]["faceURL"] if peer else "",
            "unreadCount": max_seq - member.has_read_seq,
            "hasReadSeq": member.has_read_seq,
            "maxSeq": max_seq,
            "joinSeq": member.join_seq,
            "peerHasReadSeq": member.peer_has_read_seq,
            "latestMsg": latest,
            "latestMsgSendTime": latest["sendTime"] if latest else conversation.created_at,
            "version": member.version,
            "isNotInGroup": not member.current,
            "recvMsgOpt": member.recv_msg_opt,
            "isPinned": member.is_pinned,
            "groupAtType": at_type,
            "mentionCount": mention_count,
            "isMarkedUnread": member.marked_unread_version is not None,
            "isHidden": member.hidden_seq is not None and max_seq <= member.hidden_seq,
        }


def _matches(keyword: str, words: list[str]) -> bool:
    """The server's full-text rule, roughly: each word of the keyword is a word of the
    text, the last one as a prefix."""
    tokens = re.findall(r"\w+", keyword)
    if not tokens:
        return False
    *whole, last = tokens
    return all(t in words for t in whole) and any(w.startswith(last) for w in words)


def _searchable(message: dict[str, Any]) -> str:
    """What search looks at: a text's words, an @ message's text, a file's name."""
    if message["contentType"] == 101:
        return str((message.get("textElem") or {}).get("content", ""))
    if message["contentType"] == AT_TEXT:
        return str((message.get("atTextElem") or {}).get("text", ""))
    if message["contentType"] == FILE:
        return str((message.get("fileElem") or {}).get("fileName", ""))
    return ""


def _sniff(data: bytes) -> tuple[str, tuple[int, int] | None]:
    """(MIME type, (width, height) of an image that "decodes"): a stand-in for libmagic
    and Pillow that knows PNG and GIF headers (JPEG and WebP by their magic only, not
    measured: never an image here), UTF-8 text, and else octet-stream."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", ((width, height) if width and height else None)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "image/gif", ((width, height) if width and height else None)
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return NO_CLAIM, None
    return "text/plain", None


_CLOSED = object()


# A socket request's HTTP twin: the fake answers both through the same code.
_HTTP_TWIN = {
    "sendMessage": lambda body: ("POST", "/api/messages", body),
    "markRead": lambda body: (
        "POST",
        f"/api/conversations/{body['conversationID']}/read",
        {k: v for k, v in body.items() if k != "conversationID"},
    ),
    "changeInputStates": lambda body: (
        "POST",
        f"/api/conversations/{body['conversationID']}/typing",
        {"focus": body["focus"]},
    ),
}


class FakeConnection:
    def __init__(self, server: FakeServer, transport: FakeTransport) -> None:
        self.server = server
        self.transport = transport
        self.token: str | None = None
        self.user_id = ""
        self.closed = False
        self.sent: list[dict[str, Any]] = []
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()

    def push(self, frame: dict[str, Any]) -> None:
        self._inbox.put_nowait(frame)

    def push_close(self) -> None:
        self.closed = True
        self._inbox.put_nowait(_CLOSED)

    @property
    def idle(self) -> bool:
        return self._inbox.empty()

    async def send(self, frame: Mapping[str, Any]) -> None:
        if self.closed:
            raise NetworkError("WebSocket closed")
        self.sent.append(dict(frame))
        if frame.get("type") == "auth":
            self.token = frame.get("token")
            try:
                self.user_id = self.server.authenticate(self.token)
            except SdkError as error:
                self.push({"type": "error", **error.to_json()})
                self.push_close()
                return
            self.push(
                {
                    "type": "hello",
                    "userID": self.user_id,
                    "epoch": self.server.epoch,
                    "version": self.server.users[self.user_id]["version"],
                }
            )
        elif frame.get("type") == "ping":
            self.push({"type": "pong"})
        elif frame.get("type") == "request":
            task = asyncio.get_running_loop().create_task(self._answer(copy.deepcopy(dict(frame))))
            self.transport.answering.add(task)
            task.add_done_callback(self.transport.answering.discard)

    async def _answer(self, frame: dict[str, Any]) -> None:
        method, path, body = _HTTP_TWIN[frame["op"]](frame["body"])
        try:
            data = await self.transport.answer(method, path, body, self.token, socket=True)
        except NetworkError:
            self.push_close()  # the socket is lost before its answer
            return
        except SdkError as error:
            self.push({"type": "response", "id": frame["id"], **error.to_json()})
            return
        if not self.closed:
            self.push({"type": "response", "id": frame["id"], "data": data})

    async def receive(self) -> dict[str, Any]:
        item = await self._inbox.get()
        if item is _CLOSED:
            self._inbox.put_nowait(_CLOSED)  # every later call fails too
            raise NetworkError("WebSocket closed")
        frame: dict[str, Any] = item
        return frame

    async def close(self) -> None:
        if not self.closed:
            self.push_close()
        if self in self.server.connections:
            self.server.connections.remove(self)


class FakeTransport:
    """The Transport protocol over a :class:`FakeServer`, with failure injection."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.offline = False
        # path prefix -> error to raise once, or an Event to wait for before answering.
        # Socket requests go by their HTTP twin's path; a NetworkError loses the socket
        # and stays armed for the HTTP retry (the network is down, not just the socket).
        self.failures: dict[str, SdkError] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.http: list[tuple[str, str]] = []  # what went over HTTP, not the socket
        self.answering: set[asyncio.Task[None]] = set()

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        self.http.append((method, path))
        return await self.answer(method, path, body, token)

    async def answer(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        token: str | None,
        *,
        socket: bool = False,
    ) -> dict[str, Any]:
        for prefix, gate in list(self.gates.items()):
            if path.startswith(prefix):
                await gate.wait()
        if self.offline:
            raise NetworkError(f"{method} {path}: offline")
        for prefix, failure in list(self.failures.items()):
            if path.startswith(prefix):
                if not (socket and isinstance(failure, NetworkError)):
                    del self.failures[prefix]
                raise failure
        # Answers travel as JSON: the client must never share objects with the server.
        return copy.deepcopy(self.server.handle(method, path, copy.deepcopy(body), token))

    async def _gate(self, method: str, path: str) -> None:
        for prefix, gate in list(self.gates.items()):
            if path.startswith(prefix):
                await gate.wait()
        if self.offline:
            raise NetworkError(f"{method} {path}: offline")
        for prefix, failure in list(self.failures.items()):
            if path.startswith(prefix):
                del self.failures[prefix]
                raise failure

    async def upload(
        self,
        path: str,
        file: Any,
        content_type: str,
        token: str,
        on_progress: Any = None,
    ) -> dict[str, Any]:
        self.http.append(("PUT", path))
        data = await file.read()
        await self._gate("PUT", path)
        # The body goes out in quarters, the loop turning between them.
        for quarter in (25, 50, 75):
            if on_progress is not None:
                on_progress(quarter)
            await asyncio.sleep(0)
        answer = copy.deepcopy(self.server.upload(path, data, content_type, token))
        if on_progress is not None:
            on_progress(100)
        return answer

    async def download(self, path: str, token: str) -> bytes:
        self.http.append(("GET", path))
        await self._gate("GET", path)
        return self.server.download(path, token)

    async def connect(self) -> FakeConnection:
        await asyncio.sleep(0)
        if self.offline:
            raise NetworkError("WebSocket: offline")
        connection = FakeConnection(self.server, self)
        self.server.connections.append(connection)
        return connection
