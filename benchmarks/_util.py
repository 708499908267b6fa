"""Shared pieces: percentiles, a server process, logging in as a seeded user."""

from __future__ import annotations

import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.seed import PASSWORD, Seeded, seed
from server.storage import Database
from tests.serving import ServerProcess


@contextmanager
def scratch_database(postgres_url: str | None, folder: str) -> Iterator[str]:
    """A new empty database: an SQLite file in ``folder``, or a PostgreSQL database
    created next to ``postgres_url`` and dropped afterwards (never that database itself)."""
    if postgres_url is None:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(postgres_url)
    name = f"tidemark_bench_{uuid.uuid4().hex[:10]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
