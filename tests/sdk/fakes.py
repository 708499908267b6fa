"""An in-memory fake of the server's README protocol, and a Transport that talks to it.

Small on purpose: the semantics that matter to the SDK (versions, epochs, absolute state,
positions that only move forward, events after commit to every member) and no more.
Tests can hold events back and deliver them duplicated, reordered or not at all, make
requests fail or wait, and act as other users directly through :meth:`FakeServer.call`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tidemark_sdk import (
    BadCredentialsError,
    ConversationNotFoundError,
    NetworkError,
    NotFoundError,
    SdkError,
    TokenExpiredError,
    UnauthorizedError,
    UserExistsError,
    UserNotFoundError,
    ValidationFailedError,
)


@dataclass
class _Member:
    has_read_seq: int = 0
    peer_has_read_seq: int = 0
    version: int = 0


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
        self._clock = itertools.count(1_700_000_000_000, 1000)

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
            return {}
        if (method, route) == ("GET", "/api/sync"):
            return self._sync(user, query)
        if (method, route) == ("POST", "/api/groups"):
            return self._create_group(user, body)
        if (method, route) == ("POST", "/api/messages"):
            return self._send(user, body)
        segments = route.split("/")
        if len(segments) == 5 and segments[:3] == ["", "api", "conversations"]:
            cid = unquote(segments[3])
            if (method, segments[4]) == ("GET", "messages"):
                return self._history(user, cid, query)
            if (method, segments[4]) == ("POST", "read"):
                return self._mark_read(user, cid, body)
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
        return {**self._head(user_id), "full": full, "conversations": records}

    def _create_group(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        members = sorted({user_id, *body["memberUserIDs"]})
        missing = [m for m in members if m not in self.users]
        if missing:
            raise UserNotFoundError(f"no such users: {', '.join(missing)}")
        group_id = uuid.uuid4().hex[:16]
        conversation = _Conversation(
            f"sg_{group_id}", 3, group_id, body["groupName"], next(self._clock)
        )
        conversation.members = {m: _Member() for m in members}
        self.conversations[conversation.conversation_id] = conversation
        self._bump(conversation, members)
        for member in members:
            self._publish(
                member, {"type": "conversation.changed", **self._state(member, [conversation])}
            )
        state = self._state(user_id, [conversation])
        return {"groupID": group_id, "conversationID": conversation.conversation_id, "state": state}

    def _send(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        sent = self.users[user_id]["sent"]
        if body["clientMsgID"] in sent:
            message = sent[body["clientMsgID"]]
            conversation = self.conversations[message["conversationID"]]
            return {"message": message, "state": self._state(user_id, [conversation])}
        conversation = self._target(user_id, body)
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
            "contentType": 101,
            "textElem": {"content": body["text"]},
            "sendTime": next(self._clock),
        }
        conversation.messages.append(message)
        sent[body["clientMsgID"]] = message
        # Rule 2: the sender has read their own message; in a single chat the peer's
        # record knows it too.
        conversation.members[user_id].has_read_seq = seq
        if peer:
            conversation.members[peer].peer_has_read_seq = seq
        self._bump(conversation, list(conversation.members))
        for member in conversation.members:
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

    def _target(self, user_id: str, body: dict[str, Any]) -> _Conversation:
        if body.get("groupID"):
            return self._member_of(user_id, f"sg_{body['groupID']}")
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
        found = [m for m in conversation.messages if before is None or m["seq"] < before]
        found.reverse()
        return {"messages": found[:count], "isEnd": len(found) <= count}

    def _mark_read(self, user_id: str, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self._member_of(user_id, cid)
        target = (
            conversation.max_seq
            if body.get("seq") is None
            else min(body["seq"], conversation.max_seq)
        )
        me = conversation.members[user_id]
        if target > me.has_read_seq:  # positions only move forward (rule 3)
            me.has_read_seq = target
            peers = [m for m in conversation.members if m != user_id]
            single = conversation.conversation_type == 1
            if single:
                conversation.members[peers[0]].peer_has_read_seq = target
            self._bump(conversation, [user_id, *peers] if single else [user_id])
            self._publish(
                user_id, {"type": "conversation.changed", **self._state(user_id, [conversation])}
            )
            if single:
                receipt = {"conversationID": cid, "userID": user_id, "hasReadSeq": target}
                self._publish(
                    peers[0],
                    {
                        "type": "receipt.c2c",
                        **self._head(peers[0]),
                        "conversation": self.record(peers[0], conversation),
                        "receipt": receipt,
                    },
                )
        return {"state": self._state(user_id, [conversation])}

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
            c.max_seq - c.members[user_id].has_read_seq
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

    def record(self, user_id: str, conversation: _Conversation) -> dict[str, Any]:
        member = conversation.members[user_id]
        peer = ""
        if conversation.conversation_type == 1:
            peer = next(m for m in conversation.members if m != user_id)
        latest = copy.deepcopy(conversation.messages[-1]) if conversation.messages else None
        return {
            "conversationID": conversation.conversation_id,
            "conversationType": conversation.conversation_type,
            "userID": peer,
            "groupID": conversation.group_id,
            "showName": self.users[peer]["nickname"] if peer else conversation.name,
            "unreadCount": conversation.max_seq - member.has_read_seq,
            "hasReadSeq": member.has_read_seq,
            "maxSeq": conversation.max_seq,
            "peerHasReadSeq": member.peer_has_read_seq,
            "latestMsg": latest,
            "latestMsgSendTime": latest["sendTime"] if latest else conversation.created_at,
            "version": member.version,
        }


_CLOSED = object()


# A socket request's HTTP twin: the fake answers both through the same code.
_HTTP_TWIN = {
    "sendMessage": lambda body: ("POST", "/api/messages", body),
    "markRead": lambda body: (
        "POST",
        f"/api/conversations/{body['conversationID']}/read",
        {k: v for k, v in body.items() if k != "conversationID"},
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

    async def connect(self) -> FakeConnection:
        await asyncio.sleep(0)
        if self.offline:
            raise NetworkError("WebSocket: offline")
        connection = FakeConnection(self.server, self)
        self.server.connections.append(connection)
        return connection
