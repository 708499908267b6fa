"""IndexedDB writes on the mark-read path, inside Pyodide (fake-indexeddb, a real server):
one readwrite transaction per confirmed change in the tab that made it — the WebSocket
echo of the change writes nothing — and ``apply`` builds no payload nobody reads."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from server.testing import ServerProcess

RunInPyodide = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

HERE = Path(__file__).resolve().parent


def test_mark_read_writes_indexeddb_once(run_in_pyodide: RunInPyodide, tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path}/tidemark.db", tmp_path / "server.log").start()
    try:
        env = {"TIDEMARK_URL": server.url, "TIDEMARK_TAG": uuid.uuid4().hex[:8]}
        source = "import idb_writes_driver\nawait idb_writes_driver.main()\n"
        done = run_in_pyodide(source, env=env, timeout=180, modules=[HERE / "idb_writes_driver.py"])
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-5000:]
    assert done.stdout.splitlines()[-1] == "OK"
