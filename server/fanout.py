"""Delivering events to WebSocket connections: a small interface, two engines.

The in-process hub serves one server process. With several processes a Redis hub
(same interface) carries each event to the process holding the user's connections.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Connection:
    """One WebSocket as the hub sees it: frames are written by the publishing thread.

    Until :meth:`open` has sent the greeting, frames are held back, so a client always
    hears ``hello`` first. A failed write is dropped: the connection's own handler
    notices the closed socket and unsubscribes it.
    """

    def __init__(self, user_id: str, send: Callable[[str], None]) -> None:
        self.user_id = user_id
        self._send = send
        self._lock = threading.Lock()
        self._held: list[str] | None = []

    def open(self, greeting: str) -> None:
        with self._lock:
            for frame in [greeting, *(self._held or [])]:
                self._write(frame)
            self._held = None

    def deliver(self, frame: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(frame)
            else:
                self._write(frame)

    def _write(self, frame: str) -> None:
        try:
            self._send(frame)
        except Exception:
            log.debug("dropping a frame for a closed connection of %s", self.user_id)


class Hub(Protocol):
    def subscribe(self, connection: Connection) -> None: ...
    def unsubscribe(self, connection: Connection) -> None: ...
    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Send each (user_id, event) to every connection of that user."""
        ...

    def close(self) -> None: ...


class LocalHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: defaultdict[str, set[Connection]] = defaultdict(set)

    def subscribe(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.user_id].add(connection)

    def unsubscribe(self, connection: Connection) -> None:
        with self._lock:
            user_connections = self._connections.get(connection.user_id)
            if user_connections is not None:
                user_connections.discard(connection)
                if not user_connections:
                    del self._connections[connection.user_id]

    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for user_id, event in events:
            self.deliver_local(user_id, json.dumps(event, separators=(",", ":")))

    def deliver_local(self, user_id: str, frame: str) -> None:
        with self._lock:
            targets = list(self._connections.get(user_id, ()))
        for connection in targets:
            connection.deliver(frame)

    def connection_count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._connections.values())

    def close(self) -> None:
        pass


def create_hub(redis_url: str) -> Hub:
    if not redis_url:
        return LocalHub()
    raise NotImplementedError(
        "Redis fan-out is not built yet; leave TIDEMARK_REDIS_URL empty for in-process fan-out"
    )
