"""Fixtures to run Python code inside real Pyodide under Node.js, with the built SDK.

`run_in_pyodide(source, env=None, timeout=120, modules=())` runs `source` with web/pyodide-harness.mjs
(a fresh Pyodide per call, `tidemark_sdk` installed from web/dist, `indexedDB` from
fake-indexeddb, global `WebSocket` and `fetch`) and returns the CompletedProcess (text
stdout/stderr). Exit status 0: the code ran; 1: it raised (traceback on stderr) or called
sys.exit(1); 2: the harness could not set up. `env` is added to the Node process's
environment, which the code reads as `js.process.env.NAME` (e.g. a server URL). Each of
`modules` (paths of Python files) can be imported by its name, as the harness's --module.

Every test under tests/pyodide/ gets the `pyodide` marker. The assets must be built first
(`.venv/bin/python web/build.py`): when they are missing, tests fail, never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WEB_DIST = ROOT / "web" / "dist"
HARNESS = ROOT / "web" / "pyodide-harness.mjs"
BUILD_HINT = "run `.venv/bin/python web/build.py` (after `npm ci`), or `bash .ci/setup`"


class RunInPyodide(Protocol):
    def __call__(
        self,
        source: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        modules: Sequence[Path] = (),
    ) -> subprocess.CompletedProcess[str]: ...


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.pyodide)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist/, checked to hold a finished build."""
    for needed in ("manifest.json", "pyodide/pyodide-lock.json"):
        if not (WEB_DIST / needed).is_file():
            pytest.fail(f"web/dist/{needed} is missing: {BUILD_HINT}", pytrace=False)
    return WEB_DIST


@pytest.fixture(scope="session")
def run_in_pyodide(web_dist: Path) -> RunInPyodide:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` (Node.js 20+) is not on PATH", pytrace=False)
    if not (ROOT / "node_modules" / "pyodide").is_dir():
        pytest.fail("node_modules/pyodide is missing: run `npm ci`", pytrace=False)

    def run(
        source: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        modules: Sequence[Path] = (),
    ) -> subprocess.CompletedProcess[str]:
        options = [arg for module in modules for arg in ("--module", str(module))]
        return subprocess.run(
            [node, "--experimental-websocket", str(HARNESS), *options, "-"],
            input=source,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
            timeout=timeout,
        )

    return run
