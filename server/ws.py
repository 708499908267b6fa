"""The WebSocket: authenticate, then push events, answer heartbeats and requests.

One asyncio task per connection reads; one writes, draining a bounded outbound queue.
No thread is held by a socket, idle or not: database work (the token check, requests)
runs in a small shared thread pool. Publishing never blocks: the hub hands each frame to
the connection's event loop, and a connection whose queue is full — a client that stopped
reading — is dropped at once; it reconnects and catches up by version (rule 5).

Requests are the hot writes (send, mark read) carried by the socket the client already
holds, as OpenIM's SDK does: no HTTP request, TCP connection or thread per message. They
run the same actions, with the same models and errors, as their HTTP routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from server import metrics
from server.actions import messages, read_state, typing
from server.actions.users import CurrentUser, authenticate
from server.api import parse
from server.errors import ApiError, ErrorCode
from server.fanout import Connection
from server.protocol import CLOSE_CODES, FRAMES, OPS
from server.schemas import (
    MarkReadRequest,
    SendMessageRequest,
    SocketMarkReadRequest,
    SocketTypingRequest,
)
from server.storage import users as user_store

log = logging.getLogger(__name__)

type Receive = Callable[[], Awaitable[dict[str, Any]]]
type Send = Callable[[dict[str, Any]], Awaitable[None]]

PATH = "/api/ws"
AUTH_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
# A logout reaches its sockets through the hub at once; the database is asked again about
# the token on a heartbeat at most this often (a backstop for a revocation the hub missed,
# e.g. while Redis restarted), and on every request frame, as over HTTP.
TOKEN_RECHECK_SECONDS = 300.0
CLOSE_BAD_FRAME = CLOSE_CODES["BAD_FRAME"]
CLOSE_UNAUTHORIZED = CLOSE_CODES["UNAUTHORIZED"]
CLOSE_IDLE = CLOSE_CODES["IDLE"]
CLOSE_POLICY = CLOSE_CODES["POLICY"]  # too many frames, a refused Origin
GOING_AWAY = CLOSE_CODES["GOING_AWAY"]  # shutdown, or events lost in the fan-out: resync
AUTH, PING, REQUEST = FRAMES["AUTH"], FRAMES["PING"], FRAMES["REQUEST"]
HELLO, PONG, RESPONSE, ERROR = FRAMES["HELLO"], FRAMES["PONG"], FRAMES["RESPONSE"], FRAMES["ERROR"]
# A request carries up to 4,000 characters of text, escaped as JSON. The server protocol
# refuses a longer frame from its header, before reading it (close 1009).
MAX_FRAME = 32 * 1024
# Frames waiting to be written to one socket. A client that reads keeps this near 0; one
# that stopped reading is dropped when it fills, instead of holding memory or a writer.
OUTBOUND_QUEUE = 512
# Inbound frames per connection: a burst, then a steady rate (a token bucket). A client
# sends a heartbeat every 30 s and its own requests; a flood is closed, not processed.
# Seconds for the frames queued before a close to go out, before the socket is cut off.
WRITER_GRACE = 5.0
FRAME_BURST = 200
FRAME_RATE = 100.0

type _Handler = Callable[[Any, CurrentUser, Any], dict[str, Any]]


def _send_message(services: Any, user: CurrentUser, body: SendMessageRequest) -> dict[str, Any]:
    services.rate_limits.check(user.user_id)
    return messages.send_message(services.db, services.hub, user, body)


def _mark_read(services: Any, user: CurrentUser, body: SocketMarkReadRequest) -> dict[str, Any]:
    request = MarkReadRequest(seq=body.seq, version=body.version)
    return read_state.mark_read(
        services.db, services.hub, user, body.conversationID, request, services.receipts
    )


def _typing(services: Any, user: CurrentUser, body: SocketTypingRequest) -> dict[str, Any]:
    typing.change_input_states(services.db, services.hub, user, body.conversationID, body.focus)
    return {}


# op -> (body model, action): the socket's requests, each the twin of an HTTP route.
REQUESTS: dict[str, tuple[type[BaseModel], _Handler]] = {
    OPS["SEND_MESSAGE"]: (SendMessageRequest, _send_message),
    OPS["MARK_READ"]: (SocketMarkReadRequest, _mark_read),
    OPS["CHANGE_INPUT_STATES"]: (SocketTypingRequest, _typing),
}


class _Closing(Exception):
    def __init__(self, code: int, error: ApiError) -> None:
        super().__init__(error.message)
        self.code = code
        self.error = error


class _Gone(Exception):
    """The client went away: nothing more to say to it."""


def origin_allowed(scope: dict[str, Any], public_origin: str) -> bool:
    """A browser's cross-site socket is refused; clients that send no Origin are not browsers.

    With ``PUBLIC_ORIGIN`` set, the Origin must be exactly it; otherwise it must name the
    host the request was sent to.
    """
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    origin: str | None = headers.get("origin")
    if origin is None:
        return True
    if public_origin:
        return origin.rstrip("/") == public_origin.rstrip("/")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == headers.get("host")


async def serve(
    scope: dict[str, Any],
    receive: Receive,
    send: Send,
    services: Any,
    executor: Executor,
    public_origin: str = "",
) -> None:
    """The ASGI handler of one WebSocket, from the upgrade to the close."""
    if (await receive())["type"] != "websocket.connect":
        return
    if scope["path"] != PATH or not origin_allowed(scope, public_origin):
        await send({"type": "websocket.close", "code": CLOSE_POLICY})  # answered as HTTP 403
        return
    await send({"type": "websocket.accept"})
    session = _Session(scope, receive, send, services, executor)
    await session.run()


class _Session:
    def __init__(
        self, scope: dict[str, Any], receive: Receive, send: Send, services: Any, executor: Executor
    ) -> None:
        self._receive = receive
        self._send = send
        self._services = services
        self._executor = executor
        self._loop = asyncio.get_running_loop()
        self._abort: Callable[[], None] | None = scope.get("extensions", {}).get("tidemark.abort")
        self._outbound: asyncio.Queue[str | _Closing | None] = asyncio.Queue()
        self._tokens = float(FRAME_BURST)
        self._refilled = time.monotonic()
        self._token_checked = time.monotonic()

    async def _db[T](self, function: Callable[..., T], *args: Any) -> T:
        return await self._loop.run_in_executor(self._executor, function, *args)

    async def run(self) -> None:
        try:
            token = await self._auth_token()
            user = await self._authenticate(token)
        except _Closing as closing:
            await self._close_now(closing)
            return
        except _Gone:
            return
        connection = Connection(
            user.user_id, user.token_hash, user.expires_at, self._loop, self._push, self._end
        )
        # Subscribe before reading the version: no event can fall between the two. And the
        # token again: a logout that committed before the subscription revoked nothing here.
        self._services.hub.subscribe(connection)
        metrics.SOCKETS.inc()
        writer = asyncio.create_task(self._write())
        try:
            user = await self._authenticate(token)
            version = await self._db(self._version, user.user_id)
            connection.open(_hello(user.user_id, self._services.db.epoch, version))
            await self._read(connection, user, token)
        except _Closing as closing:
            self._push(closing)
        except _Gone:
            self._push(None)
        finally:
            self._services.hub.unsubscribe(connection)
            metrics.SOCKETS.dec()
            connection.close()
        try:
            # What is queued goes out, unless the client stopped reading: then it is cut off.
            await asyncio.wait_for(writer, WRITER_GRACE)
        except TimeoutError:
            self._drop()

    def _version(self, user_id: str) -> int:
        with self._services.db.read() as conn:
            return user_store.user_version(conn, user_id)

    # --- writing -----------------------------------------------------------------------

    def _push(self, item: str | _Closing | None) -> None:
        """Queue a frame, a close (``_Closing``) or the end (``None``); on the loop only."""
        if isinstance(item, str) and self._outbound.qsize() >= OUTBOUND_QUEUE:
            log.warning(
                "dropping a WebSocket that stopped reading (%d frames queued)", OUTBOUND_QUEUE
            )
            self._drop()
            return
        self._outbound.put_nowait(item)

    def _end(self, error: ApiError | None) -> None:
        """The hub ends this session: logout, token expiry, or ``None``: it fell behind."""
        if error is None:
            self._drop()
        elif error.code == ErrorCode.UNAVAILABLE:  # events lost in the fan-out: resync
            self._push(_Closing(GOING_AWAY, error))
        else:
            self._push(_Closing(CLOSE_UNAUTHORIZED, error))

    def _drop(self) -> None:
        """End the connection without a closing handshake: its client is not reading."""
        if self._abort is not None:
            self._abort()
        self._outbound.put_nowait(None)

    async def _write(self) -> None:
        while True:
            item = await self._outbound.get()
            try:
                if item is None:
                    return
                if isinstance(item, _Closing):
                    await self._close_now(item)
                    return
                await self._send({"type": "websocket.send", "text": item})
            except OSError:  # uvicorn's ClientDisconnected too: the client is gone
                return

    async def _close_now(self, closing: _Closing) -> None:
        with contextlib.suppress(OSError):  # the client went first: nothing to say to it
            await self._send({"type": "websocket.send", "text": _error_frame(closing.error)})
            reason = closing.error.message[:100]
            await self._send({"type": "websocket.close", "code": closing.code, "reason": reason})

    # --- reading -----------------------------------------------------------------------

    async def _next_frame(self, timeout: float) -> dict[str, Any] | None:
        """The next frame as a dict; ``None`` after ``timeout`` seconds of silence."""
        try:
            message = await asyncio.wait_for(self._receive(), timeout)
        except TimeoutError:
            return None
        if message["type"] == "websocket.disconnect":
            raise _Gone
        self._spend_token()
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        return _frame(raw)

    def _spend_token(self) -> None:
        now = time.monotonic()
        self._tokens = min(FRAME_BURST, self._tokens + (now - self._refilled) * FRAME_RATE)
        self._refilled = now
        if self._tokens < 1:
            raise _Closing(
                CLOSE_POLICY, ApiError(ErrorCode.RATE_LIMITED, "too many frames: slow down")
            )
        self._tokens -= 1

    async def _auth_token(self) -> str:
        frame = await self._next_frame(AUTH_TIMEOUT)
        if frame is None:
            raise _Closing(CLOSE_UNAUTHORIZED, ApiError(ErrorCode.UNAUTHORIZED, "no auth frame"))
        token = frame.get("token")
        if frame.get("type") != AUTH or not isinstance(token, str) or not token:
            raise _Closing(
                CLOSE_UNAUTHORIZED,
                ApiError(
                    ErrorCode.UNAUTHORIZED, 'first frame must be {"type": "auth", "token": ...}'
                ),
            )
        return token

    async def _authenticate(self, token: str) -> CurrentUser:
        try:
            return await self._db(authenticate, self._services.db, token)
        except ApiError as error:
            raise _Closing(CLOSE_UNAUTHORIZED, error) from None

    async def _read(self, connection: Connection, user: CurrentUser, token: str) -> None:
        """Answer heartbeats and requests until the client goes away or falls silent.

        A logout revokes the socket through the hub (:meth:`Connection.revoke`); in case a
        revocation was missed, a heartbeat checks the token in the database every
        ``TOKEN_RECHECK_SECONDS`` and every request frame does (its write would otherwise
        outlive the logout). 400 heartbeats a second (10,000 sockets) cost a database
        read each before: a quarter of a core (B7).
        """
        while True:
            frame = await self._next_frame(IDLE_TIMEOUT)
            if frame is None:
                # Not an error of the session: the client may reconnect with the same token.
                self._push(_Closing(CLOSE_IDLE, ApiError(ErrorCode.UNAUTHORIZED, "no heartbeat")))
                return
            kind = frame.get("type")
            if kind == PING:
                if time.monotonic() - self._token_checked >= TOKEN_RECHECK_SECONDS:
                    await self._authenticate(token)  # the database's word on the token
                    self._token_checked = time.monotonic()
                self._push(_dump({"type": PONG}))
            elif kind == REQUEST:
                answer = await self._request(connection, user, token, frame)
                self._push(_dump({"type": RESPONSE, **answer}))
            else:
                raise _Closing(
                    CLOSE_BAD_FRAME,
                    ApiError(ErrorCode.VALIDATION_FAILED, "expected a ping or a request frame"),
                )

    async def _request(
        self, connection: Connection, user: CurrentUser, token: str, frame: dict[str, Any]
    ) -> dict[str, Any]:
        """A request's answer: ``{"id", "data"}`` or ``{"id", errCode…}``."""
        request_id = frame.get("id")
        if type(request_id) is not int or request_id < 0:
            raise _Closing(
                CLOSE_BAD_FRAME,
                ApiError(ErrorCode.VALIDATION_FAILED, "a request needs an integer id >= 0"),
            )
        try:
            connection.check_session()
        except ApiError as error:
            self._push(_dump({"type": RESPONSE, "id": request_id, **error.to_json()}))
            raise _Closing(CLOSE_UNAUTHORIZED, error) from None
        op = frame.get("op")
        handler = REQUESTS.get(op) if isinstance(op, str) else None
        if handler is None:
            names = ", ".join(sorted(REQUESTS))
            refused = ApiError(ErrorCode.VALIDATION_FAILED, f"op: expected one of {names}")
            return {"id": request_id, **refused.to_json()}
        try:
            answer = await self._db(self._answer, token, handler, user, frame)
        except ApiError as error:  # the token no longer holds: nothing was done
            raise _Closing(CLOSE_UNAUTHORIZED, error) from None
        self._token_checked = time.monotonic()
        return {"id": request_id, **answer}

    def _answer(
        self,
        token: str,
        handler: tuple[type[BaseModel], _Handler],
        user: CurrentUser,
        frame: dict[str, Any],
    ) -> dict[str, Any]:
        """``{"data": …}`` or the error, exactly as the HTTP route would answer; first the
        database's word on the token (in the same thread hop), raised if it is gone."""
        authenticate(self._services.db, token)
        model, action = handler
        try:
            body = parse(model, frame.get("body", {}))
            # As over HTTP: run once more if a dropped database connection cut it short.
            return {"data": self._services.db.retrying(lambda: action(self._services, user, body))}
        except ApiError as error:
            return error.to_json()
        except Exception:
            log.exception("unhandled error in a socket request")
            return ApiError(ErrorCode.INTERNAL, "internal server error").to_json()


def _hello(user_id: str, epoch: str, version: int) -> str:
    return _dump({"type": HELLO, "userID": user_id, "epoch": epoch, "version": version})


def _error_frame(error: ApiError) -> str:
    return _dump({"type": ERROR, **error.to_json()})


def _frame(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)  # its size was checked from its header (MAX_FRAME)
        if not isinstance(frame, dict):
            raise ValueError("frame is not an object")
    except (ValueError, RecursionError) as error:
        raise _Closing(
            CLOSE_BAD_FRAME, ApiError(ErrorCode.INVALID_JSON, f"bad frame: {error}")
        ) from None
    return frame


def _dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))
