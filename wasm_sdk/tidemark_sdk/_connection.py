"""The WebSocket of one login: connect and authenticate, heartbeats, requests matched to
their answers by id, reconnects with backoff.

:class:`Link` knows frames, not state: what a frame means for the cache, and what to do
once greeted, are the callbacks it is given (the client wires them to its
:class:`~tidemark_sdk._sync.Replica`). It does no I/O of its own either, only awaits the
:class:`~tidemark_sdk.Transport` and its :class:`~tidemark_sdk.Connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tidemark_sdk._errors import (
    AuthError,
    NetworkError,
    ProtocolError,
    SdkError,
    error_from_code,
)
from tidemark_sdk._interfaces import Connection, Transport
from tidemark_sdk._protocol import FRAMES

logger = logging.getLogger("tidemark_sdk")


def backoff_delay(attempt: int, random: Callable[[], float], base: float, cap: float) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, so reconnecting
    clients spread out but never retry in a tight loop."""
    ceiling: float = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + random() * ceiling / 2


class Link:
    """Stay connected while :meth:`run` runs (cancel it to stop).

    Callbacks: ``emit(event, data)`` for OnConnecting / OnConnectSuccess / OnConnectFailed;
    ``on_hello(hello)`` once greeted, before frames are served; ``on_event(frame)`` for
    every frame of ``event_frames``; ``token_still_valid()`` after the server refused the
    token on the socket — False ends :meth:`run` (the session is over).
    """

    def __init__(
        self,
        transport: Transport,
        token: str,
        *,
        emit: Callable[[str, Any], None],
        on_hello: Callable[[dict[str, Any]], Awaitable[None]],
        on_event: Callable[[dict[str, Any]], Awaitable[None]],
        event_frames: frozenset[str],
        token_still_valid: Callable[[], Awaitable[bool]],
        ping_interval: float,
        receive_timeout: float,
        backoff_base: float,
        backoff_max: float,
        sleep: Callable[[float], Awaitable[None]],
        random: Callable[[], float],
    ) -> None:
        self._transport = transport
        self._token = token
        self._emit = emit
        self._on_hello = on_hello
        self._on_event = on_event
        self._event_frames = event_frames
        self._token_still_valid = token_still_valid
        self._ping_interval = ping_interval
        self._receive_timeout = receive_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._random = random
        # The greeted WebSocket while it serves, and its requests waiting for an answer.
        self._socket: Connection | None = None
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._call_ids = itertools.count(1)

    @property
    def serving(self) -> bool:
        """Whether a greeted socket is open for :meth:`call`."""
        return self._socket is not None

    async def call(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request frame and its answer, matched by id; NetworkError when there is no
        socket, it closes first, or the answer does not come in time."""
        socket = self._socket
        if socket is None:
            raise NetworkError("the WebSocket is not open")
        call_id = next(self._call_ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = answer
        try:
            await socket.send({"type": FRAMES["REQUEST"], "id": call_id, "op": op, "body": body})
            return await asyncio.wait_for(answer, self._receive_timeout)
        except TimeoutError:
            raise NetworkError(f"no answer to {op} on the WebSocket") from None
        finally:
            self._calls.pop(call_id, None)

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff, until cancelled or logged out."""
        attempt = 0
        while True:
            self._emit("OnConnecting", None)
            connection: Connection | None = None
            try:
                connection = await self._transport.connect()
                await connection.send({"type": FRAMES["AUTH"], "token": self._token})
                hello = await self._receive(connection)
                if hello.get("type") != FRAMES["HELLO"]:
                    raise frame_error(hello)
                self._emit("OnConnectSuccess", None)
                attempt = 0
                await self._on_hello(hello)
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

    async def _serve(self, connection: Connection) -> None:
        pinger = asyncio.get_running_loop().create_task(self._ping(connection))
        self._socket = connection
        try:
            while True:
                frame = await self._receive(connection)
                kind = frame.get("type")
                if kind in self._event_frames:
                    await self._on_event(frame)
                elif kind == FRAMES["RESPONSE"]:
                    self._on_response(frame)
                elif kind == FRAMES["ERROR"]:
                    raise frame_error(frame)
                # pong, and frame types newer than this SDK, need nothing.
        finally:
            self._socket = None
            self._drop_calls()
            pinger.cancel()
            await asyncio.wait({pinger})

    async def _receive(self, connection: Connection) -> dict[str, Any]:
        return await asyncio.wait_for(connection.receive(), self._receive_timeout)

    async def _ping(self, connection: Connection) -> None:
        with contextlib.suppress(SdkError):  # a dead socket shows up in receive()
            while True:
                await asyncio.sleep(self._ping_interval)
                await connection.send({"type": FRAMES["PING"]})

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


def frame_error(frame: dict[str, Any]) -> SdkError:
    """The error an ``error`` frame reports, or a ProtocolError for any other frame."""
    if frame.get("type") == FRAMES["ERROR"] and isinstance(frame.get("errCode"), int):
        return error_from_code(frame["errCode"], str(frame.get("errMsg", "")))
    return ProtocolError(f"unexpected frame {frame.get('type')!r}")
