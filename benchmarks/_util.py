"""Shared pieces: percentiles, a server process, logging in as a seeded user."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.seed import PASSWORD, Seeded, seed
from server.storage import Database
from tests.serving import ServerProcess


@contextmanager
def seeded_server(conversations: int, messages: int) -> Iterator[tuple[ServerProcess, Seeded]]:
    """``tidemark serve`` on a fresh SQLite file bulk-loaded by :func:`seed`."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        db = Database(url)
        db.migrate()
        seeded = seed(db, conversations, messages)
        db.dispose()
        server = ServerProcess(url, Path(folder) / "server.log").start()
        try:
            yield server, seeded
        finally:
            server.stop()


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pct(p: int) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "runs": len(samples),
        "median": statistics.median(samples),
        "p90": pct(90),
        "p99": pct(99),
    }


def login(base_url: str, user_id: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base_url}/api/auth/login", json={"userID": user_id, "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}
