"""Fixtures of the probe suite: real ``tidemark serve`` processes, stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.probe._server import ProbeServer

StartServer = Callable[..., ProbeServer]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(database_url=None, env=None, extra_args=(), port=None)``; SQLite in
    tmp_path unless a database URL is given. Every server (and any process of its tree
    left behind) is gone after the test."""
    servers: list[ProbeServer] = []

    def start(
        database_url: str | None = None,
        env: dict[str, str | None] | None = None,
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
    ) -> ProbeServer:
        name = f"server{len(servers)}"
        url = database_url or f"sqlite:///{tmp_path}/{name}.db"
        server = ProbeServer(
            url, tmp_path / f"{name}.log", port=port, extra_args=extra_args, env=env
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
