"""The WebSocket: authenticate, then push events, answer heartbeats and requests.

Events are written to the socket by the thread that publishes them (after commit);
each connection's handler thread reads: heartbeats, requests, and the close. A bad frame
or bad auth closes only that connection.

Requests are the hot writes (send, mark read) carried by the socket the client already
holds, as OpenIM's SDK does: no HTTP request, TCP connection or thread per message. They
run the same actions, with the same models and errors, as their HTTP routes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_sock import Sock
from pydantic import BaseModel
from simple_websocket import ConnectionClosed

from server.actions import messages, read_state
from server.actions.users import CurrentUser, authenticate, now_ms
from server.api import parse
from server.errors import ApiError, ErrorCode
from server.fanout import Connection
from server.schemas import MarkReadRequest, SendMessageRequest, SocketMarkReadRequest
from server.storage import users as user_store

log = logging.getLogger(__name__)

sock = Sock()

AUTH_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_IDLE = 4408
# A request carries up to 4,000 characters of text, escaped as JSON.
MAX_FRAME = 32 * 1024

type _Handler = Callable[[Any, CurrentUser, Any], dict[str, Any]]

# op -> (body model, action): the socket's requests, each the twin of an HTTP route.
REQUESTS: dict[str, tuple[type[BaseModel], _Handler]] = {
    "sendMessage": (
        SendMessageRequest,
        lambda services, user, body: messages.send_message(services.db, services.hub, user, body),
    ),
    "markRead": (
        SocketMarkReadRequest,
        lambda services, user, body: read_state.mark_read(
            services.db,
            services.hub,
            user,
            body.conversationID,
            MarkReadRequest(seq=body.seq),
        ),
    ),
}


class _Closing(Exception):
    def __init__(self, code: int, error: ApiError) -> None:
        super().__init__(error.message)
        self.code = code
        self.error = error


@sock.route("/api/ws")  # type: ignore[untyped-decorator]
def websocket(ws: Any) -> None:
    services = current_app.extensions["tidemark"]
    try:
        token = _auth_token(ws)
        user = _authenticate(services.db, token)
    except _Closing as closing:
        _close(ws, closing)
        return
    except ConnectionClosed:
        return
    connection = Connection(user.user_id, ws.send, user.token_hash, lambda: _end_revoked(ws))
    # Subscribe before reading the version: no event can fall between the two. And the
    # token again: a logout that committed before the subscription revoked nothing here.
    services.hub.subscribe(connection)
    try:
        user = _authenticate(services.db, token)
        with services.db.read() as conn:
            version = user_store.user_version(conn, user.user_id)
        hello = {"type": "hello", "userID": user.user_id, "epoch": services.db.epoch}
        connection.open(_dump({**hello, "version": version}))
        _serve(ws, connection, services, user, token)
    except _Closing as closing:
        _close(ws, closing)
    except ConnectionClosed:
        pass
    finally:
        services.hub.unsubscribe(connection)


def _serve(ws: Any, connection: Connection, services: Any, user: CurrentUser, token: str) -> None:
    """Answer heartbeats and requests until the client goes away or falls silent.

    A logout revokes the socket through the hub (:meth:`Connection.revoke`); each
    heartbeat also checks the token in the database, in case a revocation was missed.
    """
    while True:
        raw = ws.receive(timeout=IDLE_TIMEOUT)
        if raw is None:
            # Not an error of the session: the client may reconnect with the same token.
            ws.close(reason=CLOSE_IDLE, message="no heartbeat")
            return
        frame = _frame(raw)
        kind = frame.get("type")
        if kind == "ping":
            _authenticate(services.db, token)  # the database's word on the token
            connection.deliver(_dump({"type": "pong"}))
        elif kind == "request":
            connection.deliver(
                _dump({"type": "response", **_request(services, connection, user, frame)})
            )
        else:
            raise _Closing(
                CLOSE_BAD_FRAME,
                ApiError(ErrorCode.VALIDATION_FAILED, "expected a ping or a request frame"),
            )


def _request(
    services: Any, connection: Connection, user: CurrentUser, frame: dict[str, Any]
) -> dict[str, Any]:
    """A request's answer: ``{"id", "data"}`` or ``{"id", errCode…}``."""
    request_id = frame.get("id")
    if type(request_id) is not int or request_id < 0:
        raise _Closing(
            CLOSE_BAD_FRAME,
            ApiError(ErrorCode.VALIDATION_FAILED, "a request needs an integer id >= 0"),
        )
    try:
        _check_session(connection, user)
    except ApiError as error:
        connection.deliver(_dump({"type": "response", "id": request_id, **error.to_json()}))
        raise _Closing(CLOSE_UNAUTHORIZED, error) from None
    return {"id": request_id, **_answer(services, user, frame)}


def _check_session(connection: Connection, user: CurrentUser) -> None:
    if connection.revoked:
        raise ApiError(ErrorCode.UNAUTHORIZED, "unknown or revoked token")
    if user.expires_at <= now_ms():
        raise ApiError(ErrorCode.TOKEN_EXPIRED, "token expired: log in again")


def _end_revoked(ws: Any) -> None:
    """Called by the hub's thread when a logout revoked this socket's token."""
    error = ApiError(ErrorCode.UNAUTHORIZED, "logged out")
    ws.send(_dump({"type": "error", **error.to_json()}))
    ws.close(reason=CLOSE_UNAUTHORIZED, message=error.message)


def _answer(services: Any, user: CurrentUser, frame: dict[str, Any]) -> dict[str, Any]:
    """``{"data": …}`` or the error, exactly as the HTTP route would answer."""
    try:
        op = REQUESTS.get(frame.get("op"))  # type: ignore[arg-type]
        if op is None:
            names = ", ".join(sorted(REQUESTS))
            raise ApiError(ErrorCode.VALIDATION_FAILED, f"op: expected one of {names}")
        model, handler = op
        return {"data": handler(services, user, parse(model, frame.get("body", {})))}
    except ApiError as error:
        return error.to_json()
    except Exception:
        log.exception("unhandled error in a socket request")
        return ApiError(ErrorCode.INTERNAL, "internal server error").to_json()


def _auth_token(ws: Any) -> str:
    raw = ws.receive(timeout=AUTH_TIMEOUT)
    if raw is None:
        raise _Closing(CLOSE_UNAUTHORIZED, ApiError(ErrorCode.UNAUTHORIZED, "no auth frame"))
    frame = _frame(raw)
    token = frame.get("token")
    if frame.get("type") != "auth" or not isinstance(token, str) or not token:
        raise _Closing(
            CLOSE_UNAUTHORIZED,
            ApiError(ErrorCode.UNAUTHORIZED, 'first frame must be {"type": "auth", "token": ...}'),
        )
    return token


def _authenticate(db: Any, token: str) -> CurrentUser:
    try:
        return authenticate(db, token)
    except ApiError as error:
        raise _Closing(CLOSE_UNAUTHORIZED, error) from None


def _frame(raw: str | bytes) -> dict[str, Any]:
    try:
        if len(raw) > MAX_FRAME:
            raise ValueError("frame too large")
        frame = json.loads(raw)
        if not isinstance(frame, dict):
            raise ValueError("frame is not an object")
    except ValueError as error:
        raise _Closing(
            CLOSE_BAD_FRAME, ApiError(ErrorCode.INVALID_JSON, f"bad frame: {error}")
        ) from None
    return frame


def _dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def _close(ws: Any, closing: _Closing) -> None:
    try:
        ws.send(_dump({"type": "error", **closing.error.to_json()}))
        ws.close(reason=closing.code, message=closing.error.message[:100])
    except ConnectionClosed:
        pass
