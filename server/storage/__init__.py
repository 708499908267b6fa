"""Storage engines: one SQLAlchemy Core code path for SQLite and PostgreSQL.

:class:`Database` owns the engine and hands out transactions. A write transaction
collects ``on_commit`` callbacks and runs them only after a successful commit — that is
how events are pushed after commit and never for a rolled-back write (rule 7).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from server import metrics
from server.errors import ApiError, ErrorCode
from server.storage import tables

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


# Time inside each transaction (metrics.DB_TRANSACTIONS), by kind.
_WRITE_TIME = metrics.DB_TRANSACTIONS.labels("write")
_READ_TIME = metrics.DB_TRANSACTIONS.labels("read")


class MissingDriverError(RuntimeError):
    """A configured engine needs a driver that is not installed."""


class Unavailable(ApiError):
    """The database connection dropped or could not be made.

    ``retry_safe``: nothing can have been committed (the failure came before COMMIT was
    sent), so the whole unit of work may run again. A failure during COMMIT is not: its
    outcome is unknown, and the client is told to try again (the writes are idempotent).
    """

    def __init__(self, retry_safe: bool) -> None:
        super().__init__(
            ErrorCode.UNAVAILABLE, "the database is unavailable: try again shortly", retry_after=1
        )
        self.retry_safe = retry_safe


class Tx:
    """A write transaction: its connection and what to do once it has committed."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)


class Database:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _create_engine(url)
        self._writer: AbstractContextManager[Any] = (
            threading.Lock() if self.is_sqlite else nullcontext()
        )
        # SQLite's one writer connection, kept open: no pool checkout per write.
        self._writer_connection: Connection | None = None
        self._epoch: str | None = None
        self._commits = threading.local()  # per thread: how many writes it has committed

    def retrying[T](self, work: Callable[[], T]) -> T:
        """Run ``work`` (any reads, then at most its writes), once more if a dropped
        connection interrupted it before anything of it could have been committed."""
        committed = self._committed()
        try:
            return work()
        except Unavailable as error:
            if not error.retry_safe or self._committed() != committed:
                raise
            log.warning("database connection lost; running the request once more")
        return work()

    def _committed(self) -> int:
        count: int = getattr(self._commits, "count", 0)
        return count

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One serializable unit of writing; commits durably or rolls back whole."""
        # SQLite has one writer at a time. Threads of this process queue here, woken at
        # once, rather than in SQLite's busy handler, which sleeps in growing steps.
        committing = False
        try:
            with self._writer, self._write_connection() as conn:
                tx = Tx(conn)
                with _WRITE_TIME.time(), conn.begin():
                    yield tx
                    committing = True  # from here on, COMMIT may have reached the server
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            raise Unavailable(retry_safe=not committing) from error
        self._commits.count = self._committed() + 1
        for callback in tx._after_commit:
            callback()

    def _write_connection(self) -> AbstractContextManager[Connection]:
        if not self.is_sqlite:
            return self._connect().execution_options(tidemark_write=True)
        # Only the thread holding self._writer gets here.
        if self._writer_connection is None or self._writer_connection.invalidated:
            if self._writer_connection is not None:
                self._writer_connection.close()
            connection = self._connect().execution_options(tidemark_write=True)
            self._writer_connection = connection
        return nullcontext(self._writer_connection)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that sees one consistent snapshot."""
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            options["isolation_level"] = "REPEATABLE READ"
        try:
            with (
                self._connect().execution_options(**options) as conn,
                _READ_TIME.time(),
                conn.begin(),
            ):
                yield conn
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            raise Unavailable(retry_safe=True) from error

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except OperationalError as error:  # the server is down, restarting, refusing
            raise Unavailable(retry_safe=True) from error

    @property
    def epoch(self) -> str:
        if self._epoch is None:
            with self.read() as conn:
                value = conn.scalar(select(tables.meta.c.value).where(tables.meta.c.key == "epoch"))
            if value is None:
                raise RuntimeError("database has no epoch: run the migrations")
            self._epoch = value
        return self._epoch

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest revision."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect().execution_options(tidemark_write=True) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()

    def dispose(self) -> None:
        with self._writer:
            if self._writer_connection is not None:
                self._writer_connection.close()
                self._writer_connection = None
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise MissingDriverError(
                "PostgreSQL needs psycopg: pip install 'tidemark[postgres]'"
            ) from None
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {parsed!r}: use sqlite:/// or postgresql://")


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("SQLite needs a file (sqlite:///path/to/file.db): data must survive")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=10,
        max_overflow=40,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the sqlite3 module so writers can say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it is acknowledged (rule 8).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades.
        write = conn.get_execution_options().get("tidemark_write", False)
        # Straight to the driver: the statement needs none of SQLAlchemy's execution.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]

    return engine
