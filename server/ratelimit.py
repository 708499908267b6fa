"""Rate limits outside Flask-Limiter's per-route ones: messages per sender, uploads per
user.

The WebSocket carries sends too, so the send limit is checked by the send path itself
(HTTP route and socket request alike) rather than by a route decorator; uploads are
streamed by the ASGI layer before Flask sees them, so theirs is checked by the route.

With Redis as the counters' store, a Redis that is down (restarting) must not refuse
every send: the counting goes on in this process, logged, until Redis answers again —
as Flask-Limiter's in-memory fallback does for the per-route limits.
"""

from __future__ import annotations

import logging
import math
import time

from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from server.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)


def _storage_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ImportError:
        return (OSError,)
    return (redis.RedisError, OSError)


class KeyedRateLimit:
    """One limit (``"100 per 10 seconds;1000 per 10 minutes"``) counted per key (a user
    ID), in memory or in Redis (``redis://…``) so the counts hold across processes."""

    def __init__(
        self, limit: str, storage_uri: str = "memory://", name: str = "send", what: str = "messages"
    ) -> None:
        self._limits = parse_many(limit)
        self._name = name
        self._what = what
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._fallback = (
            None if storage_uri.startswith("memory://") else FixedWindowRateLimiter(MemoryStorage())
        )
        self._errors = _storage_errors()

    def check(self, key: str) -> None:
        """Count one for ``key``; RATE_LIMITED (nothing counted) past a limit."""
        try:
            self._check(self._limiter, key)
        except self._errors as error:
            if self._fallback is None:
                raise
            log.warning("rate-limit store unreachable, counting in this process: %s", error)
            self._check(self._fallback, key)

    def _check(self, limiter: FixedWindowRateLimiter, key: str) -> None:
        for limit in self._limits:
            if not limiter.test(limit, self._name, key):
                reset_at, _ = limiter.get_window_stats(limit, self._name, key)
                raise ApiError(
                    ErrorCode.RATE_LIMITED,
                    f"too many {self._what}: at most {limit}",
                    retry_after=max(1, math.ceil(reset_at - time.time())),
                )
        for limit in self._limits:
            limiter.hit(limit, self._name, key)
