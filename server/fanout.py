"""Delivering events to WebSocket connections: a small interface, two engines.

The in-process hub serves one server process. With several processes a Redis hub
(same interface) carries each event to the process holding the user's connections.
"""

from __future__ import annotations

import json
import queue
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol


class Connection:
    """One WebSocket's outbox: events queued here are written by its own handler thread."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.outbox: queue.SimpleQueue[str] = queue.SimpleQueue()

    def deliver(self, frame: str) -> None:
        self.outbox.put(frame)


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
