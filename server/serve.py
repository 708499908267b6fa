"""Serving over the network: uvicorn, with the limits that an exposed server needs.

uvicorn (asyncio) holds every connection, so an idle WebSocket or a half-sent request
costs a file descriptor and a little memory, never a thread. On top of uvicorn's own
protocols this module adds what it lacks:

- a deadline on request headers (a slowloris client is closed after ``HEADER_TIMEOUT``);
- WebSockets that can be dropped at once (``tidemark.abort``) when their client stops
  reading, that drop their unread backlog when the peer goes, and that end a closing
  handshake the peer does not finish by cutting the connection;
- no compression (a small deflated frame can inflate to gigabytes), a frame limit read
  from the frame header, and close code 1001 ("going away") on shutdown.

With ``workers`` above 1, uvicorn's supervisor runs that many processes on one socket
and starts a new one whenever one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from prometheus_client import multiprocess
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.supervisors import Multiprocess

from server import observability, ws
from server.protocol import CLOSE_CODES

HEADER_TIMEOUT = 10.0  # seconds from the first byte of a request to its last header line
GOING_AWAY = CLOSE_CODES["GOING_AWAY"]  # on shutdown: clients reconnect at once
CLOSE_TIMEOUT = 2.0  # seconds for the peer to answer our close frame
SEND_BUFFER = 128 * 1024  # bytes of kernel send buffer per WebSocket
GRACEFUL_SHUTDOWN = 8  # seconds for requests in flight after SIGTERM (exit within 10 s)


class HttpProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline on the request line and headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # asyncio turns Nagle's algorithm off only for sockets it created itself; on a
        # listening socket handed over (workers, tests) every answer would wait for the
        # client's delayed ACK: about 40 ms.
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm()  # still waiting for the whole head of a request
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (websockets' sans-I/O core), made safe to drop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_TIMEOUT

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        # A socket whose client stops reading is dropped once its queue is full; a small
        # kernel buffer makes "full" come soon, and bounds the memory it holds.
        connection = transport.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake was accepted; the app has not run yet
            scope["extensions"]["tidemark.abort"] = self.transport.abort

    def connection_lost(self, exc: Exception | None) -> None:
        # Frames the peer sent before it went are not processed: they would only make
        # the server work for a client that is gone.
        while not self.queue.empty():
            self.queue.get_nowait()
        super().connection_lost(exc)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            # A peer that does not answer the close is cut off, not waited for: close()
            # would wait for it to read what we wrote.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent and not self.transport.is_closing():
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()
            self.loop.call_later(self.close_timeout, self.transport.abort)
            return
        super().shutdown()


def config(host: str, port: int, workers: int = 1, **options: Any) -> uvicorn.Config:
    settings: dict[str, Any] = {
        "app": "server.asgi:create_asgi_app",
        "factory": True,
        "http": HttpProtocol,
        "ws": WebSocketProtocol,
        "ws_max_size": ws.MAX_FRAME,
        "ws_per_message_deflate": False,
        "ws_ping_interval": None,  # the client's own heartbeat frames keep a socket alive
        "ws_ping_timeout": None,
        "lifespan": "on",
        "server_header": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
        "access_log": False,
        "log_level": logging.INFO,
    }
    return uvicorn.Config(host=host, port=port, workers=workers, **{**settings, **options})


@contextlib.contextmanager
def in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free port of 127.0.0.1 from a thread: its base URL (tests)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(config("127.0.0.1", port, app=app, factory=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server thread ended before it started serving")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


def run(host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM or SIGINT; settings come from ``TIDEMARK_*`` variables."""
    print(f"Tidemark serving on http://{host}:{port} (pid {os.getpid()})", flush=True)
    observability.configure_logging()
    # Logging is JSON, set up by us in every process (the workers: create_asgi_app).
    server_config = config(host, port, workers, log_config=None)
    if workers == 1:
        uvicorn.Server(server_config).run()
        return
    made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if made_metrics_dir:
        # Each worker writes its metrics here; a scrape of any one reports all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tidemark-metrics-")
    try:
        _Supervisor(server_config, sockets=[server_config.bind_socket()]).run()
    finally:
        if made_metrics_dir:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, which also forgets a dead worker's live gauges (its open
    sockets) so that ``/metrics`` counts only the processes that still serve."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
