"""Scratch databases, and a server started on one already seeded."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.storage import Database
from server.testing.process import ServerProcess
from server.testing.seed import Seeded, seed


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
