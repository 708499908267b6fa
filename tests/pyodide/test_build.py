"""The browser build (web/build.py): byte-compiled SDK wheel, honest lock, boots in Pyodide."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

RunInPyodide = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

SDK_PACKAGE = "tidemark-sdk"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sdk_wheel_is_byte_compiled(web_dist: Path) -> None:
    wheel = web_dist / "pyodide" / load_json(web_dist / "manifest.json")["sdkWheel"]
    assert re.fullmatch(r"tidemark_sdk-[^-]+-cp313-none-any\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        modules = [name for name in zf.namelist() if name.startswith("tidemark_sdk/")]
    assert "tidemark_sdk/__init__.pyc" in modules, f"no bytecode in {wheel.name}: {modules}"
    assert [name for name in modules if name.endswith(".py")] == [], "sources shipped"


def test_lock_sha256_matches_every_shipped_file(web_dist: Path) -> None:
    pyodide_dir = web_dist / "pyodide"
    lock = load_json(pyodide_dir / "pyodide-lock.json")
    assert lock["info"]["python"].startswith("3.13."), lock["info"]
    shipped = {path.name for path in pyodide_dir.glob("*.whl")}
    listed = {
        entry["file_name"]: entry
        for entry in lock["packages"].values()
        if (pyodide_dir / entry["file_name"]).is_file()
    }
    assert shipped == set(listed), "every shipped wheel must be in the lock"
    for file_name, entry in listed.items():
        assert entry["sha256"] == sha256_of(pyodide_dir / file_name), f"{file_name}: stale sha256"

    manifest = load_json(web_dist / "manifest.json")
    sdk = lock["packages"][SDK_PACKAGE]
    assert (sdk["file_name"], sdk["sha256"]) == (manifest["sdkWheel"], manifest["sdkWheelSha256"])
    assert sdk["imports"] == ["tidemark_sdk"]


SMOKE = """
import asyncio, sys, js
from pyodide.ffi import create_once_callable

import tidemark_sdk
print(tidemark_sdk.__name__)
print(tidemark_sdk.__file__.rsplit(".", 1)[-1])
print("%d.%d" % sys.version_info[:2])
print(js.eval("typeof WebSocket + ' ' + typeof fetch"))
print(js.process.env.TIDEMARK_PROBE)

opened = asyncio.get_running_loop().create_future()
request = js.indexedDB.open("tidemark-probe", 1)
request.onupgradeneeded = create_once_callable(
    lambda event: event.target.result.createObjectStore("store")
)
request.onsuccess = create_once_callable(
    lambda event: opened.set_result(list(event.target.result.objectStoreNames))
)
print(await asyncio.wait_for(opened, 10))
"""


def test_sdk_runs_in_pyodide(run_in_pyodide: RunInPyodide) -> None:
    result = run_in_pyodide(SMOKE, env={"TIDEMARK_PROBE": "probe-42"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "tidemark_sdk",
        "pyc",
        "3.13",
        "function function",
        "probe-42",
        "['store']",
    ]


def test_python_exception_fails_with_traceback(run_in_pyodide: RunInPyodide) -> None:
    result = run_in_pyodide("print('before')\nraise ValueError('boom')\n")
    assert result.returncode == 1
    assert result.stdout == "before\n"
    assert "ValueError: boom" in result.stderr


def test_sdk_wheel_ships_the_protocol(web_dist: Path) -> None:
    wheel = web_dist / "pyodide" / load_json(web_dist / "manifest.json")["sdkWheel"]
    source = Path(__file__).resolve().parents[2] / "wasm_sdk/tidemark_sdk/protocol.json"
    with zipfile.ZipFile(wheel) as zf:
        assert "tidemark_sdk/protocol.json" in zf.namelist(), (
            "protocol.json missing from the wheel: list it in wasm_sdk/pyproject.toml"
            " [tool.setuptools.package-data]"
        )
        assert zf.read("tidemark_sdk/protocol.json") == source.read_bytes(), (
            "the wheel's protocol.json is stale: rebuild with .venv/bin/python web/build.py"
        )


def test_protocol_loads_in_pyodide(run_in_pyodide: RunInPyodide) -> None:
    from tidemark_sdk import _protocol

    code = (
        "import json\n"
        "from tidemark_sdk import _protocol as p\n"
        "print(json.dumps([p.ERROR_CODES, p.SDK_EVENTS, p.MESSAGE_FIELDS]))\n"
    )
    result = run_in_pyodide(code)
    assert result.returncode == 0, result.stderr
    expected = [_protocol.ERROR_CODES, list(_protocol.SDK_EVENTS), list(_protocol.MESSAGE_FIELDS)]
    assert json.loads(result.stdout) == expected
