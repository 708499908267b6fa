"""The client: rules 2-10 of DESIGN.md over a :class:`Store` and a :class:`Transport`.

Sans-I/O: this module imports neither ``js`` nor any network or database library, starts
no thread and never blocks; it only awaits its store and transport and uses asyncio
primitives that Pyodide's event loop provides (tasks, locks, events, ``wait_for``).

How state moves (rule 4): a request goes to the server; the server answers with the
absolute state it committed; that state is written to the store in one version-guarded
transaction; only then are events emitted. WebSocket events and syncs go the same way.

Sends and mark-reads can travel as request frames on the WebSocket while it is open (no
HTTP round trip per message, as OpenIM's SDK does), over HTTP otherwise; both are
idempotent on the server, so one that loses its socket midway is asked again over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random as _random
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from enum import IntEnum
from typing import Any, TypedDict, cast
from urllib.parse import quote, urlencode

from tidemark_sdk._errors import (
    AlreadyLoggedInError,
    AuthError,
    ConversationNotFoundError,
    NetworkError,
    NotLoggedInError,
    ProtocolError,
    SdkError,
    ValidationFailedError,
    error_from_code,
)
from tidemark_sdk._interfaces import Connection, Store, Transport
from tidemark_sdk._models import (
    CACHE_SCHEMA,
    GROUP_CHAT,
    SINGLE_CHAT,
    CacheMeta,
    Change,
    Conversation,
    Message,
    Receipt,
    Session,
    group_conversation_id,
    single_conversation_id,
    unread,
)

logger = logging.getLogger("tidemark_sdk")

EVENTS = frozenset(
    {
        "OnConnecting",
        "OnConnectSuccess",
        "OnConnectFailed",
        "OnUserTokenExpired",
        "OnSyncServerStart",
        "OnSyncServerFinish",
        "OnSyncServerFailed",
        "OnNewConversation",
        "OnConversationChanged",
        "OnTotalUnreadMessageCountChanged",
        "OnRecvNewMessages",
        "OnRecvC2CReadReceipt",
    }
)

Listener = Callable[[Any], None]


class LoginStatus(IntEnum):
    """OpenIM's values for ``getLoginStatus``."""

    LOGGED_OUT = 1
    LOGGING_IN = 2
    LOGGED_IN = 3


class TextMessage(TypedDict):
    """A message created locally, before ``send_message`` gives it a seq."""

    clientMsgID: str
    sendID: str
    contentType: int
    textElem: dict[str, str]
    createTime: int


class HistoryPage(TypedDict):
    messageList: list[Message]  # oldest first
    isEnd: bool
    lastMinSeq: int


def backoff_delay(attempt: int, random: Callable[[], float], base: float, cap: float) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, so reconnecting
    clients spread out but never retry in a tight loop."""
    ceiling: float = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + random() * ceiling / 2


class TidemarkClient:
    """One user's session against one server, with OpenIM's method names in snake_case.

    ``sleep`` and ``random`` drive the reconnect backoff (tests inject fakes);
    ``ping_interval`` and ``receive_timeout`` (seconds) pace the WebSocket heartbeat;
    ``requests_over_socket`` sends messages and mark-reads on the WebSocket when it is open.
    """

    def __init__(
        self,
        transport: Transport,
        store: Store,
        *,
        ping_interval: float = 25.0,
        receive_timeout: float = 70.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        requests_over_socket: bool = True,
    ) -> None:
        self._transport = transport
        self._store = store
        self._ping_interval = ping_interval
        self._receive_timeout = receive_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._random = random
        self._requests_over_socket = requests_over_socket
        self._listeners: dict[str, list[Listener]] = {}
        self._status = LoginStatus.LOGGED_OUT
        self._session: Session | None = None
        self._meta: CacheMeta | None = None
        # conversationID -> (hasReadSeq, unread) of the record this client last stored or
        # loaded (rule 2's unread() per record); the total is their sum, kept without
        # reading every record back from the store on every event or query.
        self._positions: dict[str, tuple[int, int]] = {}
        self._total = 0
        # Set once the first sync after login/restore has ended, however it ended (rule 9).
        self._synced = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        # Serializes "apply to the store, then emit", so events leave in commit order.
        self._apply_lock = asyncio.Lock()
        self._sync_task: asyncio.Task[None] | None = None
        self._resync = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Messages this client is sending: their WebSocket echo may beat the answer, and
        # the page must not receive its own message as a new one.
        self._sending: set[str] = set()
        # The greeted WebSocket while it serves, and its requests waiting for an answer.
        self._socket: Connection | None = None
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._call_ids = itertools.count(1)

    # -- events ------------------------------------------------------------------------

    def on(self, event: str, listener: Listener) -> None:
        """Call ``listener(data)`` on ``event`` (one of :data:`EVENTS`)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.get(event, []).remove(listener)

    def _emit(self, event: str, data: Any) -> None:
        for listener in list(self._listeners.get(event, ())):
            try:
                listener(data)
            except Exception:
                # A page's handler must not break the SDK's state machine.
                logger.exception("listener for %s failed", event)

    # -- session -----------------------------------------------------------------------

    async def register(self, user_id: str, password: str, nickname: str) -> dict[str, Any]:
        body = {"userID": user_id, "password": password, "nickname": nickname}
        return await self._transport.request("POST", "/api/users", body)

    async def login(self, user_id: str, password: str) -> dict[str, Any]:
        """Log in; returns ``{userID, nickname}`` once the first sync has ended (rule 9)."""
        self._begin_login()
        try:
            answer = await self._transport.request(
                "POST", "/api/auth/login", {"userID": user_id, "password": password}
            )
            session = Session(
                userID=str(answer["userID"]),
                nickname=str(answer["nickname"]),
                token=str(answer["token"]),
                expiresAt=int(answer["expiresAt"]),
            )
        except BaseException as error:
            self._end_login()
            if isinstance(error, KeyError | TypeError | ValueError):
                raise ProtocolError(f"bad login answer: {error!r}") from None
            raise
        await self._start(session, save=True)
        return {"userID": session["userID"], "nickname": session["nickname"]}

    async def restore_session(self) -> bool:
        """Log back in from the saved session after a reload; True once logged in.

        False when there is no saved session or the server no longer accepts its token
        (then ``OnUserTokenExpired`` has fired). Like :meth:`login`, returns only after
        the first sync has ended.
        """
        self._begin_login()
        try:
            session = await self._store.load_session()
        except BaseException:
            self._end_login()
            raise
        if session is None:
            self._end_login()
            return False
        try:
            await self._start(session, save=False)
        except AuthError:
            return False
        return True

    async def logout(self) -> None:
        """Revoke the token (best effort: offline, the session still ends here)."""
        session = self._session
        await self._stop()
        await self._store.save_session(None)
        if session is not None:
            with contextlib.suppress(SdkError):
                await self._transport.request("POST", "/api/auth/logout", None, session["token"])

    async def close(self) -> None:
        """Stop (connection, syncs) without logging out: the saved session stays, as
        when a tab closes; :meth:`restore_session` on a new client picks it up."""
        await self._stop()

    async def get_login_status(self) -> int:
        return int(self._status)

    def _begin_login(self) -> None:
        if self._status != LoginStatus.LOGGED_OUT:
            raise AlreadyLoggedInError("already logged in or logging in: log out first")
        self._status = LoginStatus.LOGGING_IN
        self._synced.clear()

    def _end_login(self) -> None:
        self._status = LoginStatus.LOGGED_OUT
        self._session = None
        self._synced.set()  # wake waiting queries: they now fail with NotLoggedInError

    async def _start(self, session: Session, *, save: bool) -> None:
        """Open the cache for this user, connect, and run the first sync."""
        self._session = session
        try:
            if save:
                await self._store.save_session(session)
            meta = await self._store.load()
            if (
                meta is None
                or meta["userID"] != session["userID"]
                or meta["schema"] != CACHE_SCHEMA
            ):
                # Another user's cache, or an old layout: never show it. The empty epoch
                # makes the first sync a full snapshot.
                meta = CacheMeta(userID=session["userID"], epoch="", version=0, schema=CACHE_SCHEMA)
                await self._store.reset(meta, [], [])
            self._meta = meta
            self._positions.clear()
            self._note(await self._store.conversations())
            self._total = self._unread_sum()
            self._spawn(self._connection_loop(session))
            try:
                await self._sync()
            except AuthError:
                raise  # _request already logged out and emitted OnUserTokenExpired
            except SdkError:
                pass  # rule 9: answer from the cache; OnSyncServerFailed has fired
            if self._session is not session:
                raise NotLoggedInError("logged out while logging in")
        except BaseException:
            if self._session is session:
                await self._stop()
            raise
        self._status = LoginStatus.LOGGED_IN
        self._synced.set()

    async def _stop(self) -> None:
        self._end_login()
        self._meta = None
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _expire(self, error: AuthError) -> None:
        """The server refused our token (1101/1102): we are logged out."""
        if self._session is None:
            return
        await self._stop()
        await self._store.save_session(None)
        self._emit("OnUserTokenExpired", error.to_json())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        op: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """An authenticated request; an auth failure logs us out (OnUserTokenExpired).

        With ``op`` (the socket's name for it, and its body) it goes over the open
        WebSocket if there is one. Only idempotent requests may name an ``op``: one whose
        socket is lost before the answer is asked again over HTTP.
        """
        session = self._session
        if session is None:
            raise NotLoggedInError("not logged in")
        try:
            socket = self._socket
            if op is not None and socket is not None and self._requests_over_socket:
                try:
                    return await self._call(socket, *op)
                except NetworkError as error:
                    logger.info("%s: %s; asking again over HTTP", op[0], error)
            return await self._transport.request(method, path, body, session["token"])
        except AuthError as error:
            if self._session is session:
                await self._expire(error)
            raise

    async def _call(self, socket: Connection, op: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request frame and its answer, matched by id."""
        call_id = next(self._call_ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = answer
        try:
            await socket.send({"type": "request", "id": call_id, "op": op, "body": body})
            return await asyncio.wait_for(answer, self._receive_timeout)
        except TimeoutError:
            raise NetworkError(f"no answer to {op} on the WebSocket") from None
        finally:
            self._calls.pop(call_id, None)

    def _on_response(self, frame: dict[str, Any]) -> None:
        answer = self._calls.get(frame.get("id"))  # type: ignore[arg-type]
        if answer is None or answer.done():
            return  # the caller gave up waiting
        data = frame.get("data")
        if isinstance(frame.get("errCode"), int):
            answer.set_exception(error_from_code(frame["errCode"], str(frame.get("errMsg", ""))))
        elif isinstance(data, dict):
            answer.set_result(data)
        else:
            answer.set_exception(ProtocolError("a response without data"))

    def _drop_calls(self) -> None:
        for answer in self._calls.values():
            if not answer.done():
                answer.set_exception(NetworkError("the WebSocket closed before answering"))

    async def _ready(self) -> CacheMeta:
        """Wait for the first sync (rule 9); fail if not logged in."""
        if self._status == LoginStatus.LOGGING_IN:
            await self._synced.wait()
        if self._status != LoginStatus.LOGGED_IN or self._meta is None:
            raise NotLoggedInError("not logged in")
        return self._meta

    # -- messages and conversations ---------------------------------------------------

    async def create_text_message(self, text: str) -> TextMessage:
        return TextMessage(
            clientMsgID=uuid.uuid4().hex,
            sendID=self._session["userID"] if self._session else "",
            contentType=101,
            textElem={"content": text},
            createTime=int(time.time() * 1000),
        )

    async def send_message(
        self, message: TextMessage, recv_id: str = "", group_id: str = ""
    ) -> Message:
        """Send to a user (``recv_id``) or a group (``group_id``); the stored message."""
        await self._ready()
        body: dict[str, Any] = {
            "clientMsgID": message["clientMsgID"],
            "text": message["textElem"]["content"],
        }
        if recv_id:
            body["recvID"] = recv_id
        if group_id:
            body["groupID"] = group_id
        self._sending.add(message["clientMsgID"])
        try:
            answer = await self._request("POST", "/api/messages", body, op=("sendMessage", body))
            sent = cast(Message, answer.get("message"))
            if not isinstance(sent, dict):
                raise ProtocolError("bad send answer: no message")
            await self._apply_answer(answer.get("state"), [sent])
        finally:
            self._sending.discard(message["clientMsgID"])
        return sent

    async def create_group(self, group_name: str, member_user_ids: Sequence[str]) -> dict[str, str]:
        await self._ready()
        body = {"groupName": group_name, "memberUserIDs": list(member_user_ids)}
        answer = await self._request("POST", "/api/groups", body)
        await self._apply_answer(answer.get("state"), [])
        return {
            "groupID": str(answer.get("groupID", "")),
            "conversationID": str(answer.get("conversationID", "")),
        }

    async def mark_conversation_message_as_read(self, conversation_id: str) -> None:
        """Mark everything read, server first (rule 4).

        Always asks the server, even when the cache shows nothing unread: the cache may
        be the stale one. A failure raises and leaves the cache and the page untouched.
        """
        await self._ready()
        answer = await self._request(
            "POST",
            f"/api/conversations/{_segment(conversation_id)}/read",
            op=("markRead", {"conversationID": conversation_id}),
        )
        await self._apply_answer(answer.get("state"), [])

    async def get_all_conversation_list(self) -> list[Conversation]:
        await self._ready()
        records = await self._store.conversations()
        # Newest activity first; the ID breaks ties so the order is stable.
        records.sort(key=lambda c: c["conversationID"])
        records.sort(key=lambda c: c["latestMsgSendTime"], reverse=True)
        return records

    async def get_conversation_list_split(self, offset: int, count: int) -> list[Conversation]:
        return (await self.get_all_conversation_list())[max(0, offset) : max(0, offset) + count]

    async def get_one_conversation(self, source_id: str, session_type: int) -> Conversation:
        meta = await self._ready()
        if session_type == SINGLE_CHAT:
            wanted = single_conversation_id(meta["userID"], source_id)
        elif session_type == GROUP_CHAT:
            wanted = group_conversation_id(source_id)
        else:
            raise ValidationFailedError(f"sessionType must be 1 or 3, not {session_type!r}")
        for record in await self._store.conversations():
            if record["conversationID"] == wanted:
                return record
        raise ConversationNotFoundError(f"no conversation {wanted!r}")

    async def get_total_unread_msg_count(self) -> int:
        await self._ready()
        # The records this client stored or loaded, as its events reported them: no
        # reading every record back from the store (O(conversations)) for one number.
        return self._unread_sum()

    async def get_advanced_history_message_list(
        self, conversation_id: str, count: int = 20, last_min_seq: int = 0
    ) -> HistoryPage:
        """A page of history below ``last_min_seq`` (0: the newest), oldest first.

        Asks the server and caches what it answers; offline, answers from the cache.
        """
        await self._ready()
        query: dict[str, int] = {"count": count}
        if last_min_seq > 0:
            query["beforeSeq"] = last_min_seq
        path = f"/api/conversations/{_segment(conversation_id)}/messages?{urlencode(query)}"
        try:
            answer = await self._request("GET", path)
        except NetworkError:
            cached = await self._store.messages(conversation_id, last_min_seq or None, count)
            first = cached[0]["seq"] if cached else last_min_seq
            return HistoryPage(messageList=cached, isEnd=first <= 1, lastMinSeq=first)
        try:
            page = list(reversed(cast(list[Message], answer["messages"])))
            is_end = bool(answer["isEnd"])
        except (KeyError, TypeError) as error:
            raise ProtocolError(f"bad history answer: {error!r}") from None
        if page:
            async with self._apply_lock:
                await self._store.apply(None, [], page)
        first = page[0]["seq"] if page else last_min_seq
        return HistoryPage(messageList=page, isEnd=is_end, lastMinSeq=first)

    # -- sync (rule 5) -----------------------------------------------------------------

    async def _sync(self) -> None:
        """One sync since the cache's (epoch, version); raises what failed it."""
        async with self._sync_lock:
            meta = self._meta
            if meta is None:
                raise NotLoggedInError("not logged in")
            self._emit("OnSyncServerStart", None)
            try:
                path = "/api/sync"
                if meta["epoch"]:
                    path += "?" + urlencode({"epoch": meta["epoch"], "version": meta["version"]})
                answer = await self._request("GET", path)
                await self._apply_sync(answer)
            except SdkError as error:
                self._emit("OnSyncServerFailed", error.to_json())
                raise
            self._emit("OnSyncServerFinish", None)

    def _schedule_sync(self) -> None:
        """Sync in the background; requests while one runs coalesce into one more."""
        if self._sync_task is not None and not self._sync_task.done():
            self._resync = True
            return
        self._sync_task = self._spawn(self._background_sync())

    async def _background_sync(self) -> None:
        while True:
            self._resync = False
            with contextlib.suppress(SdkError):  # reported by OnSyncServerFailed
                await self._sync()
            if not self._resync or self._session is None:
                return

    async def _apply_sync(self, answer: dict[str, Any]) -> None:
        try:
            records = [_normalized(r) for r in answer["conversations"]]
            epoch, version, full = str(answer["epoch"]), int(answer["version"]), answer["full"]
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(f"bad sync answer: {error!r}") from None
        latest = _latest_messages(records, [])
        async with self._apply_lock:
            meta = self._meta
            if meta is None:
                return
            if not full:
                applied = await self._store.apply(version, records, latest)
                self._advance(meta, applied["version"])
                # A catch-up announces unread messages only: one read on another device
                # while we were away is not news (Element's "notified after refresh").
                await self._announce(applied["changes"], applied["messages"], mine_too=False)
                return
            # Full snapshot: the server says our cache cannot be patched (new epoch,
            # unknown version, or no cache yet). Replace it wholesale, in one transaction.
            before = {c["conversationID"]: c for c in await self._store.conversations()}
            fresh = CacheMeta(
                userID=meta["userID"], epoch=epoch, version=version, schema=CACHE_SCHEMA
            )
            await self._store.reset(fresh, records, latest)
            if self._meta is meta:
                self._meta = fresh
            self._positions.clear()  # what the snapshot dropped is gone; _announce notes the rest
            changes = [Change(old=before.get(r["conversationID"]), new=r) for r in records]
            # Nothing in a snapshot is announced as a new message; conversations may
            # also have gone, so the total is recounted even without changes.
            await self._announce(changes, [], mine_too=False, recount=True)

    def _advance(self, meta: CacheMeta, version: int) -> None:
        # Only if nobody logged out or replaced the cache while the store was busy.
        if self._meta is meta:
            self._meta = {**meta, "version": version}

    # -- applying answers and events (rules 4, 6, 10) ----------------------------------

    async def _apply_answer(self, state: Any, messages: list[Message]) -> None:
        if not await self._apply_state(state, messages, live=False, receipts=False):
            # Another epoch: the cache must be replaced before the caller looks at it.
            self._schedule_sync()
            task = self._sync_task
            if task is not None:
                await asyncio.wait({task})  # its failure is reported by OnSyncServerFailed

    async def _apply_state(
        self, state: Any, messages: list[Message], *, live: bool, receipts: bool
    ) -> bool:
        """Apply absolute state; False if it belongs to another epoch (not applied).

        ``live``: an event, whose new messages are announced; an answer's are not (the
        caller has them already).
        """
        try:
            records = [_normalized(r) for r in state["conversations"]]
            epoch, version = str(state["epoch"]), int(state["version"])
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(f"bad state: {error!r}") from None
        gap = False
        async with self._apply_lock:
            meta = self._meta
            if meta is None:
                return True
            if epoch != meta["epoch"]:
                return False
            # The global version may advance only when we provably hold every change up
            # to it: the payload is the very next version AND carries the record that
            # change stamped. (An idempotent answer reports the current version without
            # having caused it; that change may be one we have not seen.)
            caused = any(r["version"] == version for r in records)
            gap = version > meta["version"] and not (version == meta["version"] + 1 and caused)
            # Records' latest messages are stored too: a message that reached the cache
            # inside a record (say, in a mark-read answer) is not announced when its own
            # event comes late.
            applied = await self._store.apply(
                None if gap else version, records, _latest_messages(records, messages)
            )
            self._advance(meta, applied["version"])
            keys = {(m["conversationID"], m["seq"]) for m in messages} if live else set()
            fresh = [m for m in applied["messages"] if (m["conversationID"], m["seq"]) in keys]
            await self._announce(applied["changes"], fresh, mine_too=True, receipts=receipts)
        if gap:
            self._schedule_sync()
        return True

    async def _announce(
        self,
        changes: list[Change],
        messages: list[Message],
        *,
        mine_too: bool,
        receipts: bool = False,
        recount: bool = False,
    ) -> None:
        """Emit events for what really changed, after it is stored.

        ``messages`` are the ones just stored; of those, announced are the unread ones,
        and (``mine_too``) my own sent from elsewhere — never one this client is sending.
        """
        created = [c["new"] for c in changes if c["old"] is None]
        changed = [
            c["new"]
            for c in changes
            if c["old"] is not None and _visible(c["old"]) != _visible(c["new"])
        ]
        self._note([c["new"] for c in changes])
        if created:
            self._emit("OnNewConversation", created)
        if changed:
            self._emit("OnConversationChanged", changed)
        if messages:
            me = self._session["userID"] if self._session else ""
            read = self._positions
            news = [
                m
                for m in messages
                if m["clientMsgID"] not in self._sending
                and (
                    m["seq"] > read.get(m["conversationID"], (0, 0))[0]
                    or (mine_too and m["sendID"] == me)
                )
            ]
            if news:
                news.sort(key=lambda m: (m["sendTime"], m["seq"]))
                self._emit("OnRecvNewMessages", news)
        if receipts:
            read_receipts = [
                Receipt(
                    conversationID=c["new"]["conversationID"],
                    userID=c["new"]["userID"],
                    hasReadSeq=c["new"]["peerHasReadSeq"],
                )
                for c in changes
                if c["new"]["peerHasReadSeq"] > (c["old"]["peerHasReadSeq"] if c["old"] else 0)
            ]
            if read_receipts:
                self._emit("OnRecvC2CReadReceipt", read_receipts)
        if changes or recount:
            total = self._unread_sum()
            if total != self._total:
                self._total = total
                self._emit("OnTotalUnreadMessageCountChanged", total)

    def _note(self, records: list[Conversation]) -> None:
        """Remember the read position and unread count of records as stored."""
        for record in records:
            self._positions[record["conversationID"]] = (record["hasReadSeq"], unread(record))

    def _unread_sum(self) -> int:
        return sum(count for _, count in self._positions.values())

    # -- the WebSocket -----------------------------------------------------------------

    async def _connection_loop(self, session: Session) -> None:
        """Stay connected while logged in: reconnect with backoff, catch up on connect."""
        attempt = 0
        while True:
            self._emit("OnConnecting", None)
            connection: Connection | None = None
            try:
                connection = await self._transport.connect()
                await connection.send({"type": "auth", "token": session["token"]})
                hello = await self._receive(connection)
                if hello.get("type") != "hello":
                    raise _frame_error(hello)
                self._emit("OnConnectSuccess", None)
                attempt = 0
                await self._synced.wait()
                meta = self._meta
                if meta is not None and (hello.get("epoch"), hello.get("version")) != (
                    meta["epoch"],
                    meta["version"],
                ):
                    self._schedule_sync()  # changes while we were away (rule 5)
                await self._serve(connection)
            except Exception as error:
                if isinstance(error, SdkError):
                    failure = error
                elif isinstance(error, TimeoutError):
                    failure = NetworkError("the server went silent")
                else:
                    # A bug (ours or a store's) must not end the session: log, reconnect.
                    logger.exception("connection failed")
                    failure = NetworkError(f"connection failed: {error!r}")
                self._emit("OnConnectFailed", failure.to_json())
                if isinstance(failure, AuthError) and not await self._token_still_valid():
                    return
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()
            await self._sleep(
                backoff_delay(attempt, self._random, self._backoff_base, self._backoff_max)
            )
            attempt += 1

    async def _token_still_valid(self) -> bool:
        """The socket closes with an auth code for a bad token and for an idle timeout
        alike; an HTTP sync tells them apart (and logs out if the token is bad)."""
        try:
            await self._sync()
        except AuthError:
            return False
        except SdkError:
            pass
        return True

    async def _serve(self, connection: Connection) -> None:
        pinger = self._spawn(self._ping(connection))
        self._socket = connection
        try:
            while True:
                frame = await self._receive(connection)
                kind = frame.get("type")
                if kind in ("message.new", "conversation.changed", "receipt.c2c"):
                    await self._on_event(frame)
                elif kind == "response":
                    self._on_response(frame)
                elif kind == "error":
                    raise _frame_error(frame)
                # pong, and frame types newer than this SDK, need nothing.
        finally:
            self._socket = None
            self._drop_calls()
            pinger.cancel()

    async def _receive(self, connection: Connection) -> dict[str, Any]:
        return await asyncio.wait_for(connection.receive(), self._receive_timeout)

    async def _ping(self, connection: Connection) -> None:
        with contextlib.suppress(SdkError):  # a dead socket shows up in receive()
            while True:
                await asyncio.sleep(self._ping_interval)
                await connection.send({"type": "ping"})

    async def _on_event(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "conversation.changed":
            state = frame
            messages: list[Message] = []
        else:
            state = {**frame, "conversations": [frame.get("conversation")]}
            messages = []
            if kind == "message.new":
                message = frame.get("message")
                if not isinstance(message, dict):
                    raise ProtocolError("message.new without a message")
                messages = [cast(Message, message)]
        if not await self._apply_state(state, messages, live=True, receipts=kind == "receipt.c2c"):
            self._schedule_sync()  # another epoch: only a snapshot can fix the cache


def _frame_error(frame: dict[str, Any]) -> SdkError:
    if frame.get("type") == "error" and isinstance(frame.get("errCode"), int):
        return error_from_code(frame["errCode"], str(frame.get("errMsg", "")))
    return ProtocolError(f"unexpected frame {frame.get('type')!r}")


def _normalized(record: Any) -> Conversation:
    """A server record as cached: unreadCount recomputed from positions (rule 2)."""
    if not isinstance(record, dict):
        raise TypeError("conversation record is not an object")
    conversation = cast(Conversation, dict(record))
    conversation["unreadCount"] = unread(conversation)
    return conversation


def _visible(record: Conversation) -> dict[str, Any]:
    """A record minus its version: a new version alone is not news for the page."""
    return {k: v for k, v in record.items() if k != "version"}


def _latest_messages(records: list[Conversation], messages: list[Message]) -> list[Message]:
    latest = [r["latestMsg"] for r in records if r["latestMsg"] is not None]
    return [*messages, *latest]


def _segment(conversation_id: str) -> str:
    return quote(conversation_id, safe="")
