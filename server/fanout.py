"""Delivering events to WebSocket connections: a small interface, two engines.

The in-process hub serves one server process. With several processes a Redis hub
(same interface) carries each event to the process holding the user's connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from server import metrics
from server.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)


class FanoutUnavailable(Exception):
    """The fan-out's broker (Redis) cannot be reached."""


class Connection:
    """One WebSocket as the hub sees it: any thread may deliver, none ever waits.

    Frames go to the socket's own event loop (``push`` runs there). Until :meth:`open` has
    queued the greeting, frames are held back, so a client always hears ``hello`` first.
    The token's expiry and a logout end the connection (``end`` with the error); ``end``
    with ``None`` drops a connection that fell too far behind.
    """

    MAX_HELD = 512

    def __init__(
        self,
        user_id: str,
        token_hash: str,
        expires_at: int,
        loop: asyncio.AbstractEventLoop,
        push: Callable[[str], None],
        end: Callable[[ApiError | None], None],
    ) -> None:
        self.user_id = user_id
        self.token_hash = token_hash
        self.expires_at = expires_at  # ms
        self.revoked = False
        self._loop = loop
        self._push = push
        self._end = end
        self._held: list[str] | None = []
        self._closed = False
        self._expiry: asyncio.TimerHandle | None = None

    def deliver(self, frame: str, published_at: float) -> None:
        """Queue a frame for the socket; from any thread, without blocking.
        ``published_at``: when it was published (``time.time()``), for the lag metric."""
        if self._closed:
            return
        try:
            self._loop.call_soon_threadsafe(self._arrive, frame, published_at)
        except RuntimeError:  # the loop has stopped: the server is going down
            self._closed = True

    def revoke(self) -> None:
        """Its token was revoked: end the session now, between two frames."""
        self.revoked = True
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish, _LOGGED_OUT)

    def resync(self) -> None:
        """Events for it may have been lost (the broker restarted): end the session with
        "going away", so the client reconnects at once and catches up by sync (rule 5)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish, FANOUT_LOST)

    def check_session(self) -> None:
        """Raise if the token behind this socket no longer holds."""
        if self.revoked:
            raise ApiError(ErrorCode.UNAUTHORIZED, "unknown or revoked token")
        if self.expires_at <= _now_ms():
            raise _expired()

    # On the event loop only, from here on.

    def open(self, greeting: str) -> None:
        held, self._held = self._held or [], None
        for frame in [greeting, *held]:
            self._push(frame)
        delay = max(0.0, (self.expires_at - _now_ms()) / 1000)
        self._expiry = self._loop.call_later(delay, self._finish, None)

    def close(self) -> None:
        self._closed = True
        if self._expiry is not None:
            self._expiry.cancel()

    def _arrive(self, frame: str, published_at: float) -> None:
        if self._closed:
            return
        if self.expires_at <= _now_ms():
            self._finish(None)  # nothing more reaches a socket whose token has expired
            return
        metrics.EVENTS_DELIVERED.inc()
        metrics.FANOUT_LAG.observe(max(0.0, time.time() - published_at))
        if self._held is None:
            self._push(frame)
        elif len(self._held) < self.MAX_HELD:
            self._held.append(frame)
        else:
            self._closed = True
            self._end(None)

    def _finish(self, error: ApiError | None) -> None:
        """End the session with ``error``, or with token expiry when ``None``."""
        if self._closed:
            return
        self._closed = True
        self._end(error or _expired())


_LOGGED_OUT = ApiError(ErrorCode.UNAUTHORIZED, "logged out")
#: Why a socket is closed with 1001 after the fan-out lost events (ws.py tells it apart).
FANOUT_LOST = ApiError(
    ErrorCode.UNAVAILABLE, "events may have been lost in the fan-out: reconnect and sync"
)


def _expired() -> ApiError:
    return ApiError(ErrorCode.TOKEN_EXPIRED, "token expired: log in again")


def _now_ms() -> int:
    return int(time.time() * 1000)


#: Called with the (user_id, event) pairs of each publish, after the commit, in the
#: publishing process only (so once per event however many processes run): Web Push
#: delivery watches events this way. An observer must not block; what it raises is logged.
Observer = Callable[[list[tuple[str, dict[str, Any]]]], None]


class Hub(Protocol):
    def subscribe(self, connection: Connection) -> None: ...
    def unsubscribe(self, connection: Connection) -> None: ...
    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Send each (user_id, event) to every connection of that user."""
        ...

    def revoke(self, user_id: str, token_hash: str) -> None:
        """End every connection of this user that authenticated with this token."""
        ...

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer`` with every later publish's (user_id, event) pairs."""
        ...

    def ping(self) -> None:
        """Raise :class:`FanoutUnavailable` if the hub cannot deliver (its broker is
        unreachable)."""
        ...

    def close(self) -> None: ...


class LocalHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: defaultdict[str, set[Connection]] = defaultdict(set)
        self._observers: list[Observer] = []

    def add_observer(self, observer: Observer) -> None:
        self._observers.append(observer)

    def _observe(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for observer in self._observers:
            try:
                observer(events)
            except Exception:
                log.exception("event observer %r failed", observer)

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
        now = time.time()
        events = list(events)
        for user_id, event in events:
            metrics.EVENTS_PUBLISHED.inc()
            self.deliver_local(user_id, json.dumps(event, separators=(",", ":")), now)
        self._observe(events)

    def deliver_local(self, user_id: str, frame: str, published_at: float) -> None:
        with self._lock:
            targets = list(self._connections.get(user_id, ()))
        for connection in targets:
            connection.deliver(frame, published_at)

    def revoke(self, user_id: str, token_hash: str) -> None:
        self.revoke_local(user_id, token_hash)

    def revoke_local(self, user_id: str, token_hash: str) -> None:
        with self._lock:
            targets = list(self._connections.get(user_id, ()))
        for connection in targets:
            if connection.token_hash == token_hash:
                connection.revoke()

    def resync_local(self, user_ids: Iterable[str] | None = None) -> None:
        """End these users' sockets (all, without ``user_ids``) so that they sync."""
        with self._lock:
            if user_ids is None:
                targets = [c for cs in self._connections.values() for c in cs]
            else:
                targets = [c for u in set(user_ids) for c in self._connections.get(u, ())]
        for connection in targets:
            connection.resync()

    def ping(self) -> None:
        """In-process: always reachable."""

    def connection_count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._connections.values())

    def close(self) -> None:
        pass


class RedisHub(LocalHub):
    """Fan-out across server processes: every event goes through one Redis channel and
    each process delivers it to the connections it holds."""

    def __init__(self, redis_url: str, channel: str = "tidemark:events") -> None:
        super().__init__()
        # Pub/sub ignores Redis's database numbers: deployments (and test servers) that
        # share a Redis keep apart by channel.
        self._channel = channel
        try:
            import redis
        except ImportError:
            raise RuntimeError(
                "Redis fan-out needs redis-py: pip install 'tidemark[redis]'"
            ) from None
        self._redis = redis.Redis.from_url(redis_url)
        self._errors = (redis.RedisError, OSError)
        self._closing = threading.Event()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(**{self._channel: self._on_message})
        self._thread = self._pubsub.run_in_thread(
            sleep_time=0.2, daemon=True, exception_handler=self._on_error
        )

    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """After the commit: a failure here must not fail the write (it is stored), so it
        is logged, and this process's sockets of those users are sent to sync; the other
        processes lost their subscription too and do the same when it is back."""
        now = time.time()
        events = list(events)
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for user_id, event in events:
                    metrics.EVENTS_PUBLISHED.inc()
                    frame = json.dumps(event, separators=(",", ":"))
                    envelope = {"u": user_id, "f": frame, "t": now}
                    pipe.publish(self._channel, json.dumps(envelope))
                pipe.execute()
        except self._errors as error:
            metrics.FANOUT_FAILURES.labels("publish").inc()
            log.error("Redis publish failed, %d events lost: %s", len(events), error)
            self.resync_local(user_id for user_id, _ in events)
        self._observe(events)

    def ping(self) -> None:
        try:
            self._redis.ping()
        except self._errors as error:
            raise FanoutUnavailable(f"Redis: {type(error).__name__}") from error

    def revoke(self, user_id: str, token_hash: str) -> None:
        try:
            self._redis.publish(self._channel, json.dumps({"u": user_id, "r": token_hash}))
        except self._errors as error:
            # The token is gone from the database: the sockets' next request frame and
            # their heartbeat recheck (ws.TOKEN_RECHECK_SECONDS) end them.
            metrics.FANOUT_FAILURES.labels("publish").inc()
            log.error("Redis publish of a logout failed: %s", error)
            self.revoke_local(user_id, token_hash)

    def _on_message(self, message: dict[str, Any]) -> None:
        envelope = json.loads(message["data"])
        if "r" in envelope:
            self.revoke_local(envelope["u"], envelope["r"])
        else:
            self.deliver_local(envelope["u"], envelope["f"], envelope["t"])

    def _on_error(self, error: BaseException, pubsub: Any, thread: Any) -> None:
        """The subscription broke (Redis restarted or the network did): whatever was
        published until it is back never reaches this process. Subscribe again first, then
        send every local socket to sync, so no event falls between the two."""
        metrics.FANOUT_FAILURES.labels("subscription").inc()
        log.error("Redis fan-out subscription lost, reconnecting: %s", error)
        while not self._closing.is_set():
            self._closing.wait(1.0)
            try:
                pubsub.ping()  # reconnects; redis-py subscribes again before sending it
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:  # the PONG: SUBSCRIBE ran before it
                    message = pubsub.get_message(timeout=1.0)  # deliveries run meanwhile
                    if message is not None and message["type"] == "pong":
                        break
                else:
                    continue
            except self._errors:
                continue
            log.warning("Redis fan-out subscribed again: every socket here resyncs")
            self.resync_local()
            return

    def close(self) -> None:
        self._closing.set()
        self._thread.stop()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._redis.close()


def create_hub(redis_url: str, channel: str = "tidemark:events") -> Hub:
    return RedisHub(redis_url, channel) if redis_url else LocalHub()
