"""The ASGI application that ``tidemark serve`` runs: the WebSocket and the Flask app.

The WebSocket (``/api/ws``) is served by asyncio tasks (:mod:`server.ws`). Every other
request goes to the Flask app, run by a bounded thread pool (a2wsgi), but only once its
whole body has arrived: the body is read here, up to the size limit and within a time
limit, so a slow or oversized upload never holds a thread.

A file upload (``PUT /api/files``) is the one body that is not small JSON: up to
``MAX_UPLOAD_BYTES``, refused at once from its Content-Length or as soon as it grows
past it. Its token is checked first (in the socket pool), so only a logged-in user's
bytes are read at all; they are spooled to a temporary file and hashed as they arrive,
each chunk within ``BODY_TIMEOUT`` of the last and the whole at no less than
``UPLOAD_MIN_RATE``, and handed to the app in the scope rather than replayed through it.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask

from server import observability, ws
from server.actions.files import too_large
from server.actions.users import authenticate
from server.app import create_app
from server.errors import ApiError, ErrorCode
from server.files.spool import Spool, TooLarge
from server.routes.files import SCOPE_KEY
from server.security import security_headers

type Scope = dict[str, Any]
type Message = dict[str, Any]

BODY_TIMEOUT = 10.0  # seconds for a whole request body to arrive (uploads: for each chunk)
UPLOAD_PATH = "/api/files"
# An upload may take BODY_TIMEOUT plus its size at this rate: 25 MiB in about 7 minutes.
UPLOAD_MIN_RATE = 64 * 1024  # bytes per second


class TidemarkASGI:
    def __init__(self, flask_app: Flask, http_threads: int = 16, socket_threads: int = 8) -> None:
        self.flask_app = flask_app
        self.services = flask_app.extensions["tidemark"]
        self.max_body = int(flask_app.config["MAX_CONTENT_LENGTH"])
        self.max_upload = int(flask_app.config["MAX_UPLOAD_BYTES"])
        self.public_origin = str(flask_app.config["PUBLIC_ORIGIN"])
        self.security_headers = security_headers(flask_app.config)
        self._wsgi = WSGIMiddleware(flask_app, workers=http_threads)  # type: ignore[arg-type]
        self._socket_executor = ThreadPoolExecutor(socket_threads, "tidemark-ws")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await ws.serve(
                scope, receive, send, self.services, self._socket_executor, self.public_origin
            )
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Any, plain_send: Any) -> None:
        async def send(message: Message) -> None:
            # Every answer, the app's and this layer's own errors, carries them; a header
            # the app set itself (a file's own CSP) is kept, not doubled.
            if message["type"] == "http.response.start":
                own = {name.lower() for name, _ in message["headers"]}
                added = [(n, v) for n, v in self.security_headers if n not in own]
                message = {**message, "headers": [*message["headers"], *added]}
            await plain_send(message)

        if scope["method"] == "PUT" and scope["path"] == UPLOAD_PATH:
            await self._upload(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _error(send, ApiError(ErrorCode.BODY_TOO_LARGE, self._too_large()))
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive), BODY_TIMEOUT)
        except TimeoutError:
            await _error(send, ApiError(ErrorCode.REQUEST_TIMEOUT, "request body too slow"))
            return
        except _TooLarge:
            await _error(send, ApiError(ErrorCode.BODY_TOO_LARGE, self._too_large()))
            return
        except _Disconnected:
            return
        # The app sees the body as read: whole, with its length (chunked or not on the wire).
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.lower() not in (b"content-length", b"transfer-encoding")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        replayed = {**scope, "headers": headers}
        await self._wsgi(replayed, _replay(body, receive), send)  # type: ignore[arg-type]

    async def _upload(self, scope: Scope, receive: Any, send: Any) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_upload:
            await _error(send, too_large(self.max_upload))
            return
        try:
            await self._authenticate(scope)
        except ApiError as error:
            await _error(send, error)
            return
        with Spool(self.max_upload) as spool:
            try:
                await self._spool(receive, spool, declared)
            except TimeoutError:
                await _error(send, ApiError(ErrorCode.REQUEST_TIMEOUT, "upload too slow"))
                return
            except TooLarge:
                await _error(send, too_large(self.max_upload))
                return
            except _Disconnected:
                return
            headers = [
                (name, value)
                for name, value in scope["headers"]
                if name.lower() not in (b"content-length", b"transfer-encoding")
            ]
            headers.append((b"content-length", b"0"))  # the body is in the scope
            replayed = {**scope, "headers": headers, SCOPE_KEY: spool}
            await self._wsgi(replayed, _replay(b"", receive), send)  # type: ignore[arg-type]

    async def _authenticate(self, scope: Scope) -> None:
        """Refuse an upload from anyone but a logged-in user before reading its body."""
        header = b""
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                header = value
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(ErrorCode.UNAUTHORIZED, "missing bearer token")
        loop = asyncio.get_running_loop()
        db = self.services.db
        await loop.run_in_executor(self._socket_executor, authenticate, db, token.strip())

    async def _spool(self, receive: Any, spool: Spool, declared: int | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BODY_TIMEOUT + (declared or self.max_upload) / UPLOAD_MIN_RATE
        while True:
            wait = min(BODY_TIMEOUT, deadline - loop.time())
            if wait <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(receive(), wait)
            if message["type"] == "http.disconnect":
                raise _Disconnected
            spool.write(message.get("body", b""))
            if not message.get("more_body", False):
                return

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body} bytes"

    async def _read_body(self, receive: Any) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                print(f"Tidemark worker ready (pid {os.getpid()})", flush=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Finish the writes in flight, then release the database and the hub."""
        self._socket_executor.shutdown(wait=True)
        self.services.receipts.close()
        self.services.hub.close()
        self.services.db.dispose()


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands over the body read already, then waits for the disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: Message = await receive()
        return message

    return replay


async def _error(send: Any, error: ApiError) -> None:
    body = json.dumps(error.to_json()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    status = error.code.http_status
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_asgi_app() -> TidemarkASGI:
    """The factory ``tidemark serve`` runs in each worker: settings from ``TIDEMARK_*``."""
    observability.configure_logging()
    return TidemarkASGI(create_app())
