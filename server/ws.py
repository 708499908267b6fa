"""The WebSocket: authenticate, then push events and answer heartbeats.

Events are written to the socket by the thread that publishes them (after commit);
each connection's handler thread only reads: heartbeats, and the close. A bad frame or
bad auth closes only that connection.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from server.actions.users import CurrentUser, authenticate
from server.errors import ApiError, ErrorCode
from server.fanout import Connection
from server.storage import users as user_store

sock = Sock()

AUTH_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_IDLE = 4408
MAX_FRAME = 4096


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
    connection = Connection(user.user_id, ws.send)
    # Subscribe before reading the version: no event can fall between the two.
    services.hub.subscribe(connection)
    try:
        with services.db.read() as conn:
            version = user_store.user_version(conn, user.user_id)
        hello = {"type": "hello", "userID": user.user_id, "epoch": services.db.epoch}
        connection.open(_dump({**hello, "version": version}))
        _serve(ws, connection, services.db, token)
    except _Closing as closing:
        _close(ws, closing)
    except ConnectionClosed:
        pass
    finally:
        services.hub.unsubscribe(connection)


def _serve(ws: Any, connection: Connection, db: Any, token: str) -> None:
    """Answer heartbeats until the client goes away or falls silent."""
    while True:
        raw = ws.receive(timeout=IDLE_TIMEOUT)
        if raw is None:
            # Not an error of the session: the client may reconnect with the same token.
            ws.close(reason=CLOSE_IDLE, message="no heartbeat")
            return
        if _frame(raw).get("type") != "ping":
            raise _Closing(
                CLOSE_BAD_FRAME, ApiError(ErrorCode.VALIDATION_FAILED, "expected a ping frame")
            )
        # A revoked or expired token ends the session on its next heartbeat.
        _authenticate(db, token)
        connection.deliver(_dump({"type": "pong"}))


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
