"""The :class:`~tidemark_sdk.Transport` for the browser: ``fetch`` for HTTP, ``WebSocket``
for the socket, to the server at the page's origin.

Plain Python: the JS calls, events and errors go through :mod:`tidemark_sdk._jsbridge`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from tidemark_sdk._errors import NetworkError, ProtocolError, error_from_response
from tidemark_sdk._files import FileSource
from tidemark_sdk._jsbridge import JsBlob, JsWebSocket, download, fetch, require_pyodide, upload

__all__ = ["BrowserWebSocket", "FetchTransport"]

REQUEST_TIMEOUT_MS = 30_000
#: An upload or download of up to 25 MiB on a slow link: generous, but it ends.
FILE_TIMEOUT_MS = 300_000
CONNECT_TIMEOUT = 10.0


class FetchTransport:
    """HTTP with ``fetch`` and the WebSocket with ``WebSocket``, to the server at
    ``base_url`` (in the worker: the page's origin); uploads and downloads of files
    through ``files_js``, the ``web/files.js`` module (XHR for upload progress)."""

    def __init__(
        self, base_url: str, *, timeout_ms: int = REQUEST_TIMEOUT_MS, files_js: Any = None
    ) -> None:
        require_pyodide("FetchTransport")
        self._base_url = base_url.rstrip("/")
        self._ws_url = "ws" + self._base_url.removeprefix("http") + "/api/ws"
        self._timeout_ms = timeout_ms
        self._files_js = files_js

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, ok, text = await fetch(
            self._base_url + path,
            method=method,
            headers=headers,
            body=None if body is None else json.dumps(dict(body)),
            timeout_ms=self._timeout_ms,
            what=f"{method} {path}",
        )
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if not ok:
            raise error_from_response(status, payload)
        if not isinstance(payload, dict):
            raise ProtocolError(f"{method} {path}: the answer is not a JSON object")
        return payload

    def _files(self) -> Any:
        if self._files_js is None:
            raise NetworkError("no file transport: give FetchTransport files_js (web/files.js)")
        return self._files_js

    async def upload(
        self,
        path: str,
        file: FileSource,
        content_type: str,
        token: str,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        status, text = await upload(
            self._files(),
            self._base_url + path,
            token=token,
            file=file,
            content_type=content_type,
            timeout_ms=FILE_TIMEOUT_MS,
            on_progress=on_progress,
            what=f"PUT {path}",
        )
        payload = _json(text)
        if not 200 <= status < 300:
            raise error_from_response(status, payload)
        if not isinstance(payload, dict):
            raise ProtocolError(f"PUT {path}: the answer is not a JSON object")
        if on_progress is not None:
            on_progress(100)
        return payload

    async def download(self, path: str, token: str) -> JsBlob:
        status, blob, text = await download(
            self._files(),
            self._base_url + path,
            token=token,
            timeout_ms=FILE_TIMEOUT_MS,
            what=f"GET {path}",
        )
        if blob is None:
            raise error_from_response(status, _json(text))
        return blob

    async def connect(self) -> BrowserWebSocket:
        connection = BrowserWebSocket(self._ws_url)
        try:
            await asyncio.wait_for(connection.opened(), CONNECT_TIMEOUT)
        except BaseException as error:
            await connection.close()
            if isinstance(error, TimeoutError):
                raise NetworkError(f"WebSocket {self._ws_url}: no answer") from None
            raise
        return connection


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class BrowserWebSocket:
    """A :class:`~tidemark_sdk.Connection` over a browser ``WebSocket``.

    The socket's event callbacks only queue what happened; the awaiting Python side picks
    it up in order.
    """

    _CLOSED = object()  # queued once the socket is closed; stays at the queue's end

    def __init__(self, url: str) -> None:
        self._open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frames: asyncio.Queue[object] = asyncio.Queue()
        self._close_reason = ""
        self._closed = False
        self._socket = JsWebSocket(
            url,
            on_open=self._on_open,
            on_message=self._frames.put_nowait,
            on_close=self._on_close,
            on_error=self._on_error,
        )

    async def opened(self) -> None:
        await self._open

    def _on_open(self) -> None:
        if not self._open.done():
            self._open.set_result(None)

    def _on_error(self) -> None:
        # A close event always follows an error event; only the connecting side cares.
        if not self._open.done():
            self._open.set_exception(NetworkError("WebSocket could not connect"))

    def _on_close(self, code: int, reason: str) -> None:
        self._close_reason = f"code {code}" + (f": {reason}" if reason else "")
        if not self._open.done():
            self._open.set_exception(NetworkError(f"WebSocket closed ({self._close_reason})"))
        self._frames.put_nowait(self._CLOSED)

    async def send(self, frame: Mapping[str, Any]) -> None:
        self._socket.send(json.dumps(dict(frame), separators=(",", ":")))

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
        if self._closed:
            return
        self._closed = True
        if not self._open.done():
            self._open.set_exception(NetworkError("WebSocket closed by the client"))
            self._open.exception()  # retrieved: nobody may be waiting for it
        self._socket.close()
        self._frames.put_nowait(self._CLOSED)
