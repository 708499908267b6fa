"""Rate limits outside Flask-Limiter's per-route ones: messages per sender.

The WebSocket carries sends too, so the limit is checked by the send path itself (HTTP
route and socket request alike) rather than by a route decorator.

With Redis as the counters' store, a Redis that is down (restarting) must not refuse
every send: the counting goes on in this process, logged, until Redis answers again —
as Flask-Limiter's in-memory fallback does for the per-route limits.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
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


class RateLimits:
    """Counters in memory, or in Redis (``redis://…``) so they hold across processes."""

    def __init__(self, send_limit: str, storage_uri: str = "memory://") -> None:
        self._send = parse_many(send_limit)
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._fallback = (
            None if storage_uri.startswith("memory://") else FixedWindowRateLimiter(MemoryStorage())
        )
        self._errors = _storage_errors()

    def check_send(self, user_id: str) -> None:
        """Count one message from ``user_id``; RATE_LIMITED (nothing counted) past a limit."""
        try:
            self._check(self._limiter, self._send, "send", user_id)
        except self._errors as error:
            if self._fallback is None:
                raise
            log.warning("rate-limit store unreachable, counting in this process: %s", error)
            self._check(self._fallback, self._send, "send", user_id)

    @staticmethod
    def _check(
        limiter: FixedWindowRateLimiter, limits: list[RateLimitItem], name: str, key: str
    ) -> None:
        for limit in limits:
            if not limiter.test(limit, name, key):
                reset_at, _ = limiter.get_window_stats(limit, name, key)
                raise ApiError(
                    ErrorCode.RATE_LIMITED,
                    f"too many messages: at most {limit}",
                    retry_after=max(1, math.ceil(reset_at - time.time())),
                )
        for limit in limits:
            limiter.hit(limit, name, key)
