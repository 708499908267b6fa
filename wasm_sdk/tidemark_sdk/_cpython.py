"""A :class:`~tidemark_sdk.Transport` for CPython: ``httpx`` for HTTP, ``websockets`` for
the WebSocket (install ``tidemark-sdk[cpython]``). Used by tests, bots and load generators.

Library errors are converted here, at the boundary, into SDK errors (STYLE.md point 9).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from tidemark_sdk._errors import NetworkError, ProtocolError, error_from_response
from tidemark_sdk._files import FileSource

#: Upload progress is reported per chunk of this many bytes sent.
UPLOAD_CHUNK = 64 * 1024


class HttpTransport:
    """Talks to the server at ``base_url`` (e.g. ``http://127.0.0.1:8000``).

    Close it with :meth:`aclose` (or ``async with``) to release its connection pool.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._ws_url = "ws" + self._base_url.removeprefix("http") + "/api/ws"
        self._client = httpx.AsyncClient(base_url=self._base_url, timeout=timeout)

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._client.request(
                method, path, json=dict(body) if body is not None else None, headers=headers
            )
        except httpx.HTTPError as error:
            raise NetworkError(f"{method} {path}: {error!r}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not response.is_success:
            raise error_from_response(response.status_code, payload)
        if not isinstance(payload, dict):
            raise ProtocolError(f"{method} {path}: the answer is not a JSON object")
        return payload

    async def upload(
        self,
        path: str,
        file: FileSource,
        content_type: str,
        token: str,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        data = await file.read()
        total = len(data)

        async def chunks() -> AsyncIterator[bytes]:
            # httpx pulls the next chunk once it has written the previous one: "sent" is
            # what left for the socket, as close as httpx lets one see progress.
            for start in range(0, total, UPLOAD_CHUNK):
                yield data[start : start + UPLOAD_CHUNK]
                if on_progress is not None:
                    on_progress(min(total, start + UPLOAD_CHUNK) * 100 // total)

        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            # A length, not chunked encoding: the server refuses an oversized body at once.
            "Content-Length": str(total),
        }
        try:
            response = await self._client.request(
                "PUT", path, content=chunks() if total else b"", headers=headers
            )
        except httpx.HTTPError as error:
            raise NetworkError(f"PUT {path}: {error!r}") from None
        payload = _json_of(response)
        if not response.is_success:
            raise error_from_response(response.status_code, payload)
        if not isinstance(payload, dict):
            raise ProtocolError(f"PUT {path}: the answer is not a JSON object")
        if on_progress is not None:
            on_progress(100)
        return payload

    async def download(self, path: str, token: str) -> bytes:
        try:
            response = await self._client.get(path, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise NetworkError(f"GET {path}: {error!r}") from None
        if not response.is_success:
            raise error_from_response(response.status_code, _json_of(response))
        return response.content

    async def connect(self) -> WebSocketConnection:
        try:
            # The SDK runs its own heartbeat (the server expects {"type": "ping"} frames).
            socket = await ws_connect(self._ws_url, ping_interval=None, open_timeout=10)
        except (OSError, TimeoutError, WebSocketException) as error:
            raise NetworkError(f"WebSocket {self._ws_url}: {error!r}") from None
        return WebSocketConnection(socket)


def _json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class WebSocketConnection:
    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket

    async def send(self, frame: Mapping[str, Any]) -> None:
        try:
            await self._socket.send(json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed as error:
            raise NetworkError(f"WebSocket closed: {error}") from None

    async def receive(self) -> dict[str, Any]:
        try:
            raw = await self._socket.recv()
        except ConnectionClosed as error:
            raise NetworkError(f"WebSocket closed: {error}") from None
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            raise ProtocolError("WebSocket frame is not a JSON object")
        return frame

    async def close(self) -> None:
        await self._socket.close()
