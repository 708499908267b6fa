"""Per-request observability: the metrics of every answer, one JSON log line per request
with its request ID, and the ``/metrics`` page.

The request ID is the proxy's ``X-Request-ID`` when it sends a sane one, else a new one;
it is echoed in the answer's ``X-Request-ID`` so a user's report finds its log line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from server import metrics

access_log = logging.getLogger("tidemark.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields
    given as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def configure_logging(level: int = logging.INFO) -> None:
    """Every log line of the process (Tidemark's, uvicorn's, SQLAlchemy's) as JSON on
    stderr: what ``tidemark serve`` runs with."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)

    @app.get("/metrics")
    def metrics_page() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _start() -> None:
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    started = getattr(g, "started", None)
    if started is None:  # a hook before ours answered first
        return response
    elapsed = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    metrics.HTTP_LATENCY.labels(route).observe(elapsed)
    response.headers["X-Request-ID"] = g.request_id
    access_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "fields": {
                "requestID": g.request_id,
                "method": request.method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "durationMs": round(elapsed * 1000, 2),
                "client": request.remote_addr,
            }
        },
    )
    return response
