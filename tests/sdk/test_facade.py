"""The OpenIM facade under CPython: the cases of ``facade_cases`` (the same ones run
inside Pyodide by ``tests/pyodide/test_facade_in_pyodide.py``), on SQLite, against the
fake server and against the real ``tidemark serve``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tidemark_sdk import BytesFile, HttpTransport, SqliteStore, TidemarkClient, Transport
from tidemark_sdk._facade import OpenIMFacade

from server.testing import ServerProcess
from tests.sdk import facade_cases
from tests.sdk.conftest import run
from tests.sdk.fakes import FakeServer, FakeTransport


def _json(value: Any) -> Any:
    """As the worker boundary does it: every value crosses as JSON."""
    return json.loads(json.dumps(value))


_NONE = object()


class CpythonSdk:
    def __init__(self, facade: OpenIMFacade) -> None:
        self.facade = facade
        self.events: list[tuple[str, Any]] = []
        facade.set_listener(lambda event, data: self.events.append((event, _json(data))))

    async def call(self, method: str, arg: Any = None) -> dict[str, Any]:
        # A file is not JSON: it crosses as itself (in the browser, a structured clone).
        if isinstance(arg, dict):
            arg = dict(arg)
        file = arg.pop("file") if isinstance(arg, dict) and "file" in arg else _NONE
        value = _json(arg)
        if file is not _NONE:
            value["file"] = file
        answer = await self.facade.call(method, value)
        if isinstance(answer.get("data"), bytes):  # getFileURL
            return {**_json({**answer, "data": None}), "data": answer["data"]}
        return _json(answer)

    async def start(self) -> dict[str, Any]:
        return _json(await self.facade.start())


class CpythonEnv(facade_cases.Env):
    """SDK instances on one SQLite file (a reload opens it anew), requests over HTTP as
    in the worker."""

    def __init__(self, directory: Path, server: FakeServer | str) -> None:
        super().__init__(uuid.uuid4().hex[:8])
        self.path = directory / "cache.sqlite"
        self.server = server
        self.stores: list[SqliteStore] = []
        self.http: list[HttpTransport] = []

    def file(self, data: bytes, name: str, type: str = "") -> Any:
        return BytesFile(data, name, type)

    def transport(self) -> Transport:
        if isinstance(self.server, FakeServer):
            return FakeTransport(self.server)
        self.http.append(HttpTransport(self.server))
        return self.http[-1]

    async def make_sdk(self) -> CpythonSdk:
        store = SqliteStore(self.path)
        self.stores.append(store)
        client = TidemarkClient(self.transport(), store, requests_over_socket=False)
        return CpythonSdk(OpenIMFacade(client, store))

    async def close(self) -> None:
        for transport in self.http:
            await transport.aclose()
        for store in self.stores:
            store.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("facade")
    server = ServerProcess(f"sqlite:///{directory}/db.sqlite", directory / "server.log").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["fake", "server"])
def backend(request: pytest.FixtureRequest) -> FakeServer | str:
    if request.param == "fake":
        return FakeServer()
    return str(request.getfixturevalue("server_url"))


@pytest.mark.parametrize("case", list(facade_cases.CASES))
def test_facade(case: str, backend: FakeServer | str, tmp_path: Path) -> None:
    async def main() -> None:
        env = CpythonEnv(tmp_path, backend)
        try:
            await facade_cases.run(facade_cases.CASES[case], env)
        finally:
            await env.close()

    run(main())


@pytest.mark.parametrize(
    ("method", "arg", "code"),
    facade_cases.ARGUMENT_CASES,
    ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(facade_cases.ARGUMENT_CASES)],
)
def test_argument_check(method: str, arg: Any, code: int, tmp_path: Path) -> None:
    """Each row of the table on its own (the ``argument_checks`` case runs them all)."""

    async def main() -> None:
        env = CpythonEnv(tmp_path, FakeServer())

        async def case(env: facade_cases.Env) -> None:
            sdk, _ = await facade_cases.logged_in(env)
            answer = await sdk.call(method, arg)
            assert answer["errCode"] == code and answer["errMsg"], answer
            assert set(answer) == {"errCode", "errMsg"}

        try:
            await facade_cases.run(case, env)
        finally:
            await env.close()

    run(main())
