"""Probes for process managers and load balancers: alive, and ready to serve.

Plain routes outside ``/api``: no token, no rate limit, nothing stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from server.api import services
from server.fanout import FanoutUnavailable
from server.storage import Unavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers: it is alive (restart it if this fails)."""
    return _answer(200, {"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """The database and the fan-out hub (Redis, when configured) are reachable: route
    traffic here. 503 names what is not."""
    checks: dict[str, str] = {}
    try:
        with services().db.read() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Unavailable as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        services().hub.ping()
        checks["fanout"] = "ok"
    except FanoutUnavailable as error:
        checks["fanout"] = f"unreachable: {error}"
    ready = all(value == "ok" for value in checks.values())
    return _answer(200 if ready else 503, {"status": "ready" if ready else "not ready", **checks})


def _answer(status: int, body: dict[str, str]) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
