"""The browser side of the SDK, for Pyodide in a Web Worker: the only module touching ``js``.

- :class:`IndexedDBStore`: the :class:`~tidemark_sdk.Store` over ``web/idb-store.js``,
  whose functions each run one whole IndexedDB transaction (STYLE.md point 9);
- :class:`FetchTransport` / :class:`BrowserWebSocket`: the
  :class:`~tidemark_sdk.Transport` over ``fetch`` and ``WebSocket``;
- :class:`BrowserSDK`: what ``web/worker.js`` exposes to the page: OpenIM-named calls in,
  ``{errCode, errMsg, data}`` out, events to one JS callback.

Everything crossing the boundary is converted here: values go through JSON both ways
(``JSON.parse`` / ``JSON.stringify``), so no JS proxy leaks into the core and ``None`` is
``null`` (not ``undefined``) on the JS side; JS errors become SDK errors, raised
``from None``. Importing this module in CPython works (for type checking and tooling);
creating anything from it there raises :class:`RuntimeError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from tidemark_sdk._client import EVENTS, LoginStatus, TextMessage, TidemarkClient
from tidemark_sdk._errors import (
    ErrorCode,
    MethodNotAllowedError,
    NetworkError,
    NotLoggedInError,
    ProtocolError,
    SdkError,
    StorageError,
    ValidationFailedError,
    error_from_response,
)
from tidemark_sdk._models import (
    Applied,
    CacheMeta,
    Change,
    Conversation,
    Message,
    Session,
    unread,
)

try:
    import js
    from pyodide.ffi import JsException, create_proxy
except ImportError:  # CPython: see the module docstring
    IN_PYODIDE = False
else:
    IN_PYODIDE = True

__all__ = [
    "BrowserSDK",
    "BrowserWebSocket",
    "FetchTransport",
    "IndexedDBStore",
    "create_browser_sdk",
]

logger = logging.getLogger("tidemark_sdk")

REQUEST_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT = 10.0
_WS_OPEN = 1  # WebSocket.OPEN


def _require_pyodide() -> None:
    if not IN_PYODIDE:
        raise RuntimeError("tidemark_sdk._browser runs only inside Pyodide")


def _to_js(value: Any) -> Any:
    """A JSON-shaped Python value as a plain JS value (``None`` is ``null``)."""
    return js.JSON.parse(json.dumps(value))


def _to_py(value: Any) -> Any:
    """A plain JS value (a proxy, or a primitive Pyodide already converted) as Python."""
    if value is None:  # undefined (or null, as Pyodide gives it)
        return None
    text = js.JSON.stringify(value)
    return None if text is None else json.loads(text)


def _copy[T](value: T) -> T:
    """A deep copy of a JSON-shaped value: the caller may modify what it is given."""
    return cast(T, json.loads(json.dumps(value)))


def _js_error(error: Any) -> str:
    """A readable ``Name: message`` for a JsException."""
    js_error = getattr(error, "js_error", None)
    name = getattr(js_error, "name", None)
    message = getattr(js_error, "message", None)
    if isinstance(name, str) and isinstance(message, str):
        return f"{name}: {message}"
    return str(error)


# -- storage --------------------------------------------------------------------------


class IndexedDBStore:
    """The cache in IndexedDB, through ``web/idb-store.js`` (``idb_store``: that module,
    already given ``openDB`` by ``configure``).

    There is one cache database per user; the store works on the database of the user
    whose session it last saved or loaded, or whose cache it last reset — which, in the
    client, is always the user logging in or logged in.

    Several tabs share the database, each with its own store object. The version guard
    keeps the records right whoever writes first; but the client decides which events to
    emit from what :meth:`apply` reports, and a record another tab stored first would
    look unchanged. So each store object keeps its own *view*: the record versions it has
    reported (starting from :meth:`load` or :meth:`reset`), and :meth:`apply` reports
    ``changes`` and ``messages`` relative to that view — what is new to this client —
    instead of relative to the database. With one store object alone on the database
    both are the same thing.
    """

    def __init__(self, idb_store: Any) -> None:
        _require_pyodide()
        self._js = idb_store
        self._user: str | None = None
        self._session: Session | None = None
        self._view: dict[str, Conversation] = {}  # conversationID -> last reported record

    @property
    def user_id(self) -> str | None:
        """Whose cache this store currently reads and writes."""
        return self._user

    @property
    def session(self) -> Session | None:
        """The session this store last saved or loaded (another tab may have saved a
        newer one since: this one is still ours)."""
        return self._session

    async def _call(self, name: str, *args: Any) -> Any:
        try:
            result = await getattr(self._js, name)(*[_to_js(arg) for arg in args])
        except JsException as error:
            raise StorageError(f"IndexedDB {name}: {_js_error(error)}") from None
        return _to_py(result)

    async def load(self) -> CacheMeta | None:
        if self._user is None:
            return None
        loaded = await self._call("load", self._user)
        self._view = {r["conversationID"]: r for r in loaded["conversations"]}
        return cast(CacheMeta | None, loaded["meta"])

    async def reset(
        self, meta: CacheMeta, conversations: Sequence[Conversation], messages: Sequence[Message]
    ) -> None:
        self._user = meta["userID"]
        await self._call("reset", meta, list(conversations), list(messages))
        self._view = {r["conversationID"]: _copy(r) for r in conversations}

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        if self._user is None:
            raise StorageError("apply() before reset(): there is no cache")
        result = await self._call("apply", self._user, version, list(conversations), list(messages))
        # maxSeq known before this call, of the conversations of these messages only (not
        # a copy of the whole view: that would cost O(conversations) per event).
        known_seq: dict[str, int] = {}
        for message in messages:
            cid = message["conversationID"]
            if cid not in known_seq:
                record = self._view.get(cid)
                known_seq[cid] = record["maxSeq"] if record is not None else 0
        changes: list[Change] = []
        for record in cast(list[Conversation | None], result["records"]):
            if record is None:  # not stored: nothing newer than what we hold was given
                continue
            old = self._view.get(record["conversationID"])
            if old is None or old["version"] < record["version"]:
                self._view[record["conversationID"]] = record
                changes.append(Change(old=old, new=_copy(record)))
        # New to this client: added now, or added by another tab beyond what we knew.
        added = {(m["conversationID"], m["seq"]) for m in result["messages"]}
        fresh: list[Message] = []
        reported: set[tuple[str, int]] = set()
        for message in messages:
            key = (message["conversationID"], message["seq"])
            if key in reported:
                continue
            if key in added or message["seq"] > known_seq.get(message["conversationID"], 0):
                reported.add(key)
                fresh.append(_copy(message))
        return Applied(version=int(result["version"]), changes=changes, messages=fresh)

    async def conversations(self) -> list[Conversation]:
        if self._user is None:
            return []
        return cast(list[Conversation], await self._call("conversations", self._user))

    async def messages(
        self, conversation_id: str, before_seq: int | None, count: int
    ) -> list[Message]:
        if self._user is None:
            return []
        return cast(
            list[Message],
            await self._call("messages", self._user, conversation_id, before_seq, count),
        )

    async def peek_session(self) -> Session | None:
        """The saved session, without making its user this store's user."""
        return cast(Session | None, await self._call("loadSession"))

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        """``user_id``'s cached conversations (empty if none), whoever this store's user
        is; leaves this store's view alone."""
        loaded = await self._call("load", user_id)
        meta = cast(CacheMeta | None, loaded["meta"])
        if meta is None or meta["userID"] != user_id:
            return []
        return cast(list[Conversation], loaded["conversations"])

    async def load_session(self) -> Session | None:
        session = cast(Session | None, await self._call("loadSession"))
        self._session = session
        self._user = session["userID"] if session else None
        return session

    async def save_session(self, session: Session | None) -> None:
        own_token = self._session["token"] if self._session else None
        await self._call("saveSession", session, own_token)
        self._session = session
        self._user = session["userID"] if session else None


# -- network --------------------------------------------------------------------------


class FetchTransport:
    """HTTP with ``fetch`` and the WebSocket with ``WebSocket``, to the server at
    ``base_url`` (in the worker: the page's origin)."""

    def __init__(self, base_url: str, *, timeout_ms: int = REQUEST_TIMEOUT_MS) -> None:
        _require_pyodide()
        self._base_url = base_url.rstrip("/")
        self._ws_url = "ws" + self._base_url.removeprefix("http") + "/api/ws"
        self._timeout_ms = timeout_ms

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        init: dict[str, Any] = {"method": method}
        if body is not None:
            headers["Content-Type"] = "application/json"
            init["body"] = json.dumps(dict(body))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        init["headers"] = headers
        options = _to_js(init)
        # A request that never answers must end: the SDK would otherwise wait forever.
        options.signal = js.AbortSignal.timeout(self._timeout_ms)
        try:
            response = await js.fetch(self._base_url + path, options)
            text = str(await response.text())
        except JsException as error:
            raise NetworkError(f"{method} {path}: {_js_error(error)}") from None
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if not response.ok:
            raise error_from_response(int(response.status), payload)
        if not isinstance(payload, dict):
            raise ProtocolError(f"{method} {path}: the answer is not a JSON object")
        return payload

    async def connect(self) -> BrowserWebSocket:
        try:
            socket = js.WebSocket.new(self._ws_url)
        except JsException as error:
            raise NetworkError(f"WebSocket {self._ws_url}: {_js_error(error)}") from None
        connection = BrowserWebSocket(socket)
        try:
            await asyncio.wait_for(connection.opened(), CONNECT_TIMEOUT)
        except BaseException as error:
            await connection.close()
            if isinstance(error, TimeoutError):
                raise NetworkError(f"WebSocket {self._ws_url}: no answer") from None
            raise
        return connection


class BrowserWebSocket:
    """A :class:`~tidemark_sdk.Connection` over a JS ``WebSocket``.

    JS calls the event handlers; they only queue what happened, and the awaiting Python
    side picks it up in order. The handler proxies are destroyed on :meth:`close`.
    """

    _CLOSED = object()  # queued once the socket is closed; stays at the queue's end

    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frames: asyncio.Queue[object] = asyncio.Queue()
        self._close_reason = ""
        self._handlers = {
            "onopen": create_proxy(self._on_open),
            "onmessage": create_proxy(self._on_message),
            "onclose": create_proxy(self._on_close),
            "onerror": create_proxy(self._on_error),
        }
        for name, handler in self._handlers.items():
            setattr(socket, name, handler)

    async def opened(self) -> None:
        await self._open

    def _on_open(self, _event: Any) -> None:
        if not self._open.done():
            self._open.set_result(None)

    def _on_message(self, event: Any) -> None:
        data = event.data
        self._frames.put_nowait(data if isinstance(data, str) else None)

    def _on_error(self, _event: Any) -> None:
        # A close event always follows an error event; only the connecting side cares.
        if not self._open.done():
            self._open.set_exception(NetworkError("WebSocket could not connect"))

    def _on_close(self, event: Any) -> None:
        self._close_reason = f"code {event.code}" + (f": {event.reason}" if event.reason else "")
        if not self._open.done():
            self._open.set_exception(NetworkError(f"WebSocket closed ({self._close_reason})"))
        self._frames.put_nowait(self._CLOSED)

    async def send(self, frame: Mapping[str, Any]) -> None:
        if self._socket.readyState != _WS_OPEN:
            raise NetworkError("WebSocket is not open")
        try:
            self._socket.send(json.dumps(dict(frame), separators=(",", ":")))
        except JsException as error:
            raise NetworkError(f"WebSocket send: {_js_error(error)}") from None

    async def receive(self) -> dict[str, Any]:
        item = await self._frames.get()
        if item is self._CLOSED:
            self._frames.put_nowait(item)  # every later call fails the same way
            raise NetworkError(f"WebSocket closed ({self._close_reason or 'by the client'})")
        try:
            frame = json.loads(item) if isinstance(item, str) else None
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            raise ProtocolError("WebSocket frame is not a JSON object")
        return frame

    async def close(self) -> None:
        if not self._handlers:
            return
        if not self._open.done():
            self._open.set_exception(NetworkError("WebSocket closed by the client"))
            self._open.exception()  # retrieved: nobody may be waiting for it
        # Detach before destroying: JS must never call a destroyed proxy.
        for name, handler in self._handlers.items():
            setattr(self._socket, name, None)
            handler.destroy()
        self._handlers = {}
        with contextlib.suppress(JsException):  # already closing
            self._socket.close(1000)
        self._frames.put_nowait(self._CLOSED)


# -- the worker's API -----------------------------------------------------------------


Handler = Callable[[Any], Awaitable[Any]]


class BrowserSDK:
    """The client as ``web/worker.js`` exposes it to the page (see ``web/imsdk.js``).

    :meth:`call` takes an OpenIM method name and its one argument (a JS value) and
    resolves to a plain JS object ``{errCode: 0, errMsg: "", data}`` or ``{errCode,
    errMsg}`` (it never rejects: the worker turns errCode ≠ 0 into a rejection).
    """

    def __init__(self, client: TidemarkClient, store: IndexedDBStore) -> None:
        self._client = client
        self._store = store
        self._listener: Any = None
        self._syncing = False
        # True until start() has restored the saved session (or found none). Set from the
        # beginning: a call may reach this object before start()'s coroutine has run.
        self._restoring = True
        for event in sorted(EVENTS):
            client.on(event, self._forwarder(event))
        self._methods: dict[str, Handler] = {
            "register": self._register,
            "login": self._login,
            "logout": self._no_arg(client.logout),
            "getLoginStatus": self._no_arg(client.get_login_status),
            "createGroup": self._create_group,
            "createTextMessage": self._create_text_message,
            "sendMessage": self._send_message,
            "getAllConversationList": self._no_arg(client.get_all_conversation_list),
            "getConversationListSplit": self._conversation_list_split,
            "getOneConversation": self._one_conversation,
            "getTotalUnreadMsgCount": self._no_arg(client.get_total_unread_msg_count),
            "markConversationMessageAsRead": self._mark_read,
            "getAdvancedHistoryMessageList": self._history,
            # Tidemark extensions (documented in web/imsdk.js).
            "getCachedConversationList": self._cached_conversation_list,
            "getSelfUserInfo": self._self_user_info,
        }

    # -- JS-facing ---------------------------------------------------------------------

    def set_listener(self, listener: Any) -> None:
        """``listener(event, data)``, a JS function, receives every SDK event."""
        self._listener = listener

    async def start(self) -> Any:
        """Log back in from the saved session, if any. Resolves after its first sync (rule
        9) to ``{errCode: 0, errMsg: "", data: {loginStatus, userID, restoreError}}``;
        ``restoreError`` is ``{errCode, errMsg}`` if the restore failed, else null."""
        failure: dict[str, Any] | None = None
        try:
            await self._client.restore_session()
        except SdkError as error:
            failure = error.to_json()
        except Exception as error:
            logger.exception("restoring the session failed")
            failure = SdkError(f"restore: internal error: {error!r}", ErrorCode.INTERNAL).to_json()
        finally:
            self._restoring = False
        status = await self._client.get_login_status()
        user = self._store.user_id if status != LoginStatus.LOGGED_OUT else None
        data = {"loginStatus": int(status), "userID": user or "", "restoreError": failure}
        return _to_js({"errCode": 0, "errMsg": "", "data": data})

    async def call(self, method: str, arg: Any = None) -> Any:
        handler = self._methods.get(str(method))
        if handler is None:
            return _to_js(MethodNotAllowedError(f"no IMSDK method {method!r}").to_json())
        return await self._envelope(str(method), handler, _to_py(arg))

    # -- plumbing ----------------------------------------------------------------------

    async def _envelope(self, name: str, handler: Handler, arg: Any) -> Any:
        try:
            data = await handler(arg)
        except SdkError as error:
            return _to_js(error.to_json())
        except Exception as error:
            logger.exception("%s failed", name)  # a bug: keep the traceback in the console
            failure = SdkError(f"{name}: internal error: {error!r}", ErrorCode.INTERNAL)
            return _to_js(failure.to_json())
        return _to_js({"errCode": 0, "errMsg": "", "data": data})

    def _forwarder(self, event: str) -> Callable[[Any], None]:
        def forward(data: Any) -> None:
            if event == "OnSyncServerStart":
                self._syncing = True
            elif event in ("OnSyncServerFinish", "OnSyncServerFailed"):
                self._syncing = False
            if self._listener is not None:
                self._listener(event, _to_js(data))

        return forward

    @staticmethod
    def _no_arg(method: Callable[[], Awaitable[Any]]) -> Handler:
        async def handler(_arg: Any) -> Any:
            return await method()

        return handler

    # -- the methods (argument checks; the client does the rest) -----------------------

    async def _register(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.register(
            _string(fields, "userID"), _string(fields, "password"), _string(fields, "nickname")
        )

    async def _login(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.login(_string(fields, "userID"), _string(fields, "password"))

    async def _create_group(self, arg: Any) -> Any:
        fields = _object(arg)
        members = fields.get("memberUserIDs", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ValidationFailedError("memberUserIDs must be a list of user IDs")
        return await self._client.create_group(_string(fields, "groupName"), members)

    async def _create_text_message(self, arg: Any) -> Any:
        if not isinstance(arg, str):
            raise ValidationFailedError("createTextMessage(text): text must be a string")
        return await self._client.create_text_message(arg)

    async def _send_message(self, arg: Any) -> Any:
        fields = _object(arg)
        message = fields.get("message")
        if not (
            isinstance(message, dict)
            and isinstance(message.get("clientMsgID"), str)
            and isinstance(message.get("textElem"), dict)
            and isinstance(message["textElem"].get("content"), str)
        ):
            raise ValidationFailedError("message must come from createTextMessage")
        recv_id = _string(fields, "recvID", "")
        group_id = _string(fields, "groupID", "")
        if bool(recv_id) == bool(group_id):
            raise ValidationFailedError("give exactly one of recvID and groupID")
        return await self._client.send_message(
            cast(TextMessage, message), recv_id=recv_id, group_id=group_id
        )

    async def _conversation_list_split(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_conversation_list_split(
            _integer(fields, "offset", 0), _integer(fields, "count", 20)
        )

    async def _one_conversation(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_one_conversation(
            _string(fields, "sourceID"), _integer(fields, "sessionType")
        )

    async def _mark_read(self, arg: Any) -> Any:
        if not isinstance(arg, str) or not arg:
            raise ValidationFailedError("markConversationMessageAsRead(conversationID)")
        await self._client.mark_conversation_message_as_read(arg)
        return None

    async def _history(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_advanced_history_message_list(
            _string(fields, "conversationID"),
            _integer(fields, "count", 20),
            _integer(fields, "lastMinSeq", 0),
        )

    async def _self_user_info(self, _arg: Any) -> Any:
        session = self._store.session
        if await self._client.get_login_status() != LoginStatus.LOGGED_IN or session is None:
            raise NotLoggedInError("not logged in")
        return {"userID": session["userID"], "nickname": session["nickname"]}

    async def _cached_conversation_list(self, _arg: Any) -> Any:
        """What the cache holds right now, without waiting for a sync (unlike
        getAllConversationList, rule 9): for painting at once after a reload, marked as
        syncing while ``syncing`` is true."""
        status = await self._client.get_login_status()
        user = self._store.user_id if status != LoginStatus.LOGGED_OUT else None
        if user is None and self._restoring:
            # The restore has not read the saved session yet: read it too.
            session = await self._store.peek_session()
            user = session["userID"] if session else None
        records = await self._store.cached_conversations(user) if user else []
        # The same order as getAllConversationList: newest activity first, then by ID.
        records.sort(key=lambda c: c["conversationID"])
        records.sort(key=lambda c: c["latestMsgSendTime"], reverse=True)
        return {
            "userID": user or "",
            "syncing": status == LoginStatus.LOGGING_IN or self._syncing,
            "totalUnreadCount": sum(unread(record) for record in records),
            "conversationList": records,
        }


def _object(arg: Any) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise ValidationFailedError("expected an object argument")
    return arg


def _string(fields: dict[str, Any], name: str, default: str | None = None) -> str:
    value = fields.get(name, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise ValidationFailedError(f"{name} must be a string")
    return value


def _integer(fields: dict[str, Any], name: str, default: int | None = None) -> int:
    value = fields.get(name, default)
    if value is None:
        value = default
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JS numbers arrive as floats when they went through JSON
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailedError(f"{name} must be an integer")
    return value


def create_browser_sdk(idb_store: Any, origin: str) -> BrowserSDK:
    """The worker's entry point: the client over IndexedDB (``idb_store``: the configured
    ``web/idb-store.js`` module) and ``fetch``/``WebSocket`` to ``origin``."""
    store = IndexedDBStore(idb_store)
    # A tab sends a few requests a minute, and over HTTP they stay visible to the
    # browser's network tools and tests, which cannot see into a worker's WebSocket.
    client = TidemarkClient(FetchTransport(str(origin)), store, requests_over_socket=False)
    return BrowserSDK(client, store)
