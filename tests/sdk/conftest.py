"""Fixtures for the SDK tests: stores of both kinds, a fake server, a controllable clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from tidemark_sdk import EVENTS, MemoryStore, SqliteStore, Store, TidemarkClient

from tests.sdk.fakes import FakeServer, FakeTransport

PASSWORD = "correct horse battery"


def run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one test's coroutine; the library itself never calls asyncio.run."""
    return asyncio.run(coroutine)


class FakeClock:
    """Backoff sleeps wait here until the test releases them, and record their delays."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._waiting: list[asyncio.Future[None]] = []

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        await future

    def release(self) -> None:
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)


class Recorder:
    """Every event a client emits, in order."""

    def __init__(self, client: TidemarkClient) -> None:
        self.events: list[tuple[str, Any]] = []
        for name in EVENTS:
            client.on(name, lambda data, name=name: self.events.append((name, data)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    def data_events(self) -> list[tuple[str, Any]]:
        """The events about data (not connection or sync status)."""
        status = {"OnConnecting", "OnConnectSuccess", "OnConnectFailed"}
        status |= {"OnSyncServerStart", "OnSyncServerFinish", "OnSyncServerFailed"}
        return [(name, data) for name, data in self.events if name not in status]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture(params=["memory", "sqlite"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Makes the store of a client: for SQLite, each call opens the same file anew,
    like a reloaded page opening the same IndexedDB."""
    if request.param == "memory":
        store = MemoryStore()
        return lambda: store
    path = tmp_path / "cache.sqlite"
    opened: list[SqliteStore] = []

    def open_store() -> Store:
        opened.append(SqliteStore(path))
        return opened[-1]

    request.addfinalizer(lambda: [s.close() for s in opened])
    return open_store


class World:
    """A fake server with users, and SDK clients against it."""

    def __init__(self, store_factory: Callable[[], Store]) -> None:
        self.server = FakeServer()
        self.store_factory = store_factory
        self.clock = FakeClock()
        self.transports: list[FakeTransport] = []
        self._numbers = itertools.count()
        for user_id in ("alice", "bob", "carol"):
            self.server.handle(
                "POST",
                "/api/users",
                {"userID": user_id, "password": PASSWORD, "nickname": user_id.title()},
                None,
            )

    def client(self, store: Store | None = None) -> tuple[TidemarkClient, FakeTransport]:
        transport = FakeTransport(self.server)
        self.transports.append(transport)
        client = TidemarkClient(
            transport,
            store or self.store_factory(),
            sleep=self.clock.sleep,
            random=lambda: 0.5,
            receive_timeout=5.0,
        )
        return client, transport

    async def logged_in(self, user_id: str = "alice") -> tuple[TidemarkClient, FakeTransport]:
        client, transport = self.client()
        await client.login(user_id, PASSWORD)
        await self.settle()
        return client, transport

    def send(self, sender: str, text: str = "hi", **target: str) -> dict[str, Any]:
        """``sender`` sends through the server directly (recvID=… or groupID=…)."""
        body = {"clientMsgID": f"m{next(self._numbers)}", "text": text, **target}
        return self.server.call(sender, "POST", "/api/messages", body)

    async def settle(self) -> None:
        """Let clients process everything delivered so far (fakes never really wait)."""
        quiet = 0
        for _ in range(5000):
            await asyncio.sleep(0)
            idle = all(c.idle for c in self.server.connections)
            quiet = quiet + 1 if idle else 0
            if quiet >= 30:
                return


@pytest.fixture
def world(store_factory: Callable[[], Store]) -> World:
    return World(store_factory)
