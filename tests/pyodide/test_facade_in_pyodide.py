"""The OpenIM facade inside Pyodide: the cases of ``tests/sdk/facade_cases.py`` (the same
ones ``tests/sdk/test_facade.py`` runs under CPython), through ``create_browser_sdk`` as
``web/worker.js`` uses it, in one Pyodide run against a real ``tidemark serve``."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.testing import ServerProcess
from tests.sdk import facade_cases

RunInPyodide = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

HERE = Path(__file__).resolve().parent
MODULES = [HERE.parent / "sdk" / "facade_cases.py", HERE / "facade_driver.py"]


@pytest.fixture(scope="module")
def results(
    run_in_pyodide: RunInPyodide, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("server")
    server = ServerProcess(f"sqlite:///{directory}/tidemark.db", directory / "server.log").start()
    try:
        env = {"TIDEMARK_URL": server.url, "TIDEMARK_TAG": uuid.uuid4().hex[:8]}
        source = "import facade_driver\nawait facade_driver.main()\n"
        done = run_in_pyodide(source, env=env, timeout=300, modules=MODULES)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-5000:]
    lines = [line.removeprefix("CASE ") for line in done.stdout.splitlines()]
    yield {r["case"]: r for r in (json.loads(line) for line in lines if line.startswith("{"))}


@pytest.mark.parametrize("case", list(facade_cases.CASES))
def test_facade_in_pyodide(case: str, results: dict[str, Any]) -> None:
    assert case in results, sorted(results)
    assert results[case]["error"] is None, results[case]["error"]
