"""Prometheus metrics (``GET /metrics``), one definition of each series.

With ``--workers N`` every worker counts in its own process; ``tidemark serve`` then sets
``PROMETHEUS_MULTIPROC_DIR`` so a scrape of any worker reports the sum of all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

HTTP_REQUESTS = Counter(
    "tidemark_http_requests",
    "HTTP requests answered by the app, by route pattern, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tidemark_http_request_duration_seconds",
    "Time from a request reaching the app to its answer, by route pattern",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
SOCKETS = Gauge(
    "tidemark_websocket_connections",
    "Authenticated WebSocket connections open now",
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter(
    "tidemark_events_published", "Events handed to the fan-out hub (one per user and event)"
)
EVENTS_DELIVERED = Counter(
    "tidemark_events_delivered", "Event frames queued on a WebSocket (one per connection)"
)
FANOUT_LAG = Histogram(
    "tidemark_fanout_lag_seconds",
    "Time from publishing an event (after its commit) to queueing it on a socket",
    buckets=_LATENCY_BUCKETS,
)
FANOUT_FAILURES = Counter(
    "tidemark_fanout_failures",
    "Redis fan-out failures: a publish lost (its users' sockets here resync) or the"
    " subscription lost (every socket here resyncs once it is back)",
    ["kind"],
)
DB_TRANSACTIONS = Histogram(
    "tidemark_db_transaction_duration_seconds",
    "Time inside a database transaction, from its first statement to its commit",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)
PUSH_NOTIFICATIONS = Counter(
    "tidemark_push_notifications",
    "Web Push notifications by result: sent (accepted by the push service), gone (404/410:"
    " subscription deleted), failed (refused, unreachable, timed out), dropped (queue full)",
    ["result"],
)


def exposition() -> tuple[bytes, str]:
    """The metrics page and its content type: this process's, or every worker's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
