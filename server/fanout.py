"""Delivering events to WebSocket connections: a small interface, two engines.

The in-process hub serves one server process. With several processes a Redis hub
(same interface) carries each event to the process holding the user's connections.
"""

from __future__ import annotations

import json
import logging
import threading
import time
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

    def __init__(
        self,
        user_id: str,
        send: Callable[[str], None],
        token_hash: str,
        end: Callable[[], None],
    ) -> None:
        self.user_id = user_id
        self.token_hash = token_hash
        self._send = send
        self._end = end
        self._lock = threading.Lock()
        self._held: list[str] | None = []
        self.revoked = False

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

    def revoke(self) -> None:
        """Its token was revoked: end the session now, between two frames."""
        with self._lock:
            self.revoked = True
            try:
                self._end()
            except Exception:
                log.debug("ending an already closed connection of %s", self.user_id)

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

    def revoke(self, user_id: str, token_hash: str) -> None:
        """End every connection of this user that authenticated with this token."""
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

    def revoke(self, user_id: str, token_hash: str) -> None:
        self.revoke_local(user_id, token_hash)

    def revoke_local(self, user_id: str, token_hash: str) -> None:
        with self._lock:
            targets = list(self._connections.get(user_id, ()))
        for connection in targets:
            if connection.token_hash == token_hash:
                connection.revoke()

    def connection_count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._connections.values())

    def close(self) -> None:
        pass


class RedisHub(LocalHub):
    """Fan-out across server processes: every event goes through one Redis channel and
    each process delivers it to the connections it holds."""

    CHANNEL = "tidemark:events"

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        try:
            import redis
        except ImportError:
            raise RuntimeError(
                "Redis fan-out needs redis-py: pip install 'tidemark[redis]'"
            ) from None
        self._redis = redis.Redis.from_url(redis_url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(**{self.CHANNEL: self._on_message})
        self._thread = self._pubsub.run_in_thread(
            sleep_time=0.2, daemon=True, exception_handler=self._on_error
        )

    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        with self._redis.pipeline(transaction=False) as pipe:
            for user_id, event in events:
                envelope = {"u": user_id, "f": json.dumps(event, separators=(",", ":"))}
                pipe.publish(self.CHANNEL, json.dumps(envelope))
            pipe.execute()

    def revoke(self, user_id: str, token_hash: str) -> None:
        self._redis.publish(self.CHANNEL, json.dumps({"u": user_id, "r": token_hash}))

    def _on_message(self, message: dict[str, Any]) -> None:
        envelope = json.loads(message["data"])
        if "r" in envelope:
            self.revoke_local(envelope["u"], envelope["r"])
        else:
            self.deliver_local(envelope["u"], envelope["f"])

    @staticmethod
    def _on_error(error: BaseException, pubsub: Any, thread: Any) -> None:
        # Clients missing events here recover through their version-gap sync.
        log.error("Redis fan-out failed, reconnecting: %s", error)
        time.sleep(1.0)

    def close(self) -> None:
        self._thread.stop()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._redis.close()


def create_hub(redis_url: str) -> Hub:
    return RedisHub(redis_url) if redis_url else LocalHub()
