"""Rate limits outside Flask-Limiter's per-route ones: messages per sender.

The WebSocket carries sends too, so the limit is checked by the send path itself (HTTP
route and socket request alike) rather than by a route decorator.
"""

from __future__ import annotations

import math
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from server.errors import ApiError, ErrorCode


class RateLimits:
    """Counters in memory, or in Redis (``redis://…``) so they hold across processes."""

    def __init__(self, send_limit: str, storage_uri: str = "memory://") -> None:
        self._send = parse_many(send_limit)
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def check_send(self, user_id: str) -> None:
        """Count one message from ``user_id``; RATE_LIMITED (nothing counted) past a limit."""
        for limit in self._send:
            if not self._limiter.test(limit, "send", user_id):
                reset_at, _ = self._limiter.get_window_stats(limit, "send", user_id)
                raise ApiError(
                    ErrorCode.RATE_LIMITED,
                    f"too many messages: at most {limit}",
                    retry_after=max(1, math.ceil(reset_at - time.time())),
                )
        for limit in self._send:
            self._limiter.hit(limit, "send", user_id)
