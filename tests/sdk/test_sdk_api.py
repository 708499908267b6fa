"""The public surface: ``__all__`` is honest, errors map from codes, imports stay light."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import tidemark_sdk
from tidemark_sdk import (
    AuthError,
    ClientError,
    ErrorCode,
    NetworkError,
    RequestError,
    SdkError,
    ServerError,
    TokenExpiredError,
    UserError,
    error_from_code,
    error_from_response,
)


def test_all_lists_exactly_the_public_names() -> None:
    for name in tidemark_sdk.__all__:
        assert getattr(tidemark_sdk, name) is not None, name
    public = {
        name
        for name, value in vars(tidemark_sdk).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert public <= set(tidemark_sdk.__all__)
    assert sorted(tidemark_sdk.__all__) == sorted(set(tidemark_sdk.__all__))


def test_public_objects_live_in_private_modules() -> None:
    for name in tidemark_sdk.__all__:
        module = getattr(getattr(tidemark_sdk, name), "__module__", "tidemark_sdk._x")
        if module.startswith("tidemark_sdk"):
            assert module.split(".")[1].startswith("_"), (name, module)


def test_the_core_imports_nothing_the_browser_lacks() -> None:
    """Pyodide ships without httpx, websockets and (unless loaded) sqlite3."""
    code = (
        "import sys, tidemark_sdk\n"
        "heavy = {'httpx', 'websockets', 'sqlite3', 'js', 'pyodide', 'threading'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # threading comes with asyncio itself; nothing else may be imported.
    assert out.stdout.strip() in ("[]", "['threading']")


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_maps_to_its_class(code: ErrorCode) -> None:
    error = error_from_code(int(code), "why")
    assert isinstance(error, SdkError)
    assert (error.err_code, error.err_msg) == (code, "why")
    assert type(error).code == code
    assert error.to_json() == {"errCode": int(code), "errMsg": "why"}


def test_families() -> None:
    assert isinstance(error_from_code(1102, ""), TokenExpiredError)
    assert isinstance(error_from_code(1102, ""), AuthError)
    assert isinstance(error_from_code(1002, ""), RequestError)
    assert isinstance(error_from_code(1201, ""), UserError)
    assert isinstance(error_from_code(10000, ""), NetworkError)
    assert isinstance(error_from_code(10000, ""), ClientError)
    unknown = error_from_code(1999, "new")
    assert isinstance(unknown, ServerError) and unknown.err_code == 1999


def test_error_from_response() -> None:
    body = {"errCode": 1301, "errMsg": "no conversation", "error": "CONVERSATION_NOT_FOUND"}
    assert error_from_response(404, body).err_code == 1301
    assert error_from_response(502, "<html>").err_code == ErrorCode.INTERNAL


def test_codes_and_events_come_from_the_protocol() -> None:
    """No second list: the enum, the classes and the events are the protocol's."""
    from tidemark_sdk import EVENTS
    from tidemark_sdk._protocol import ERROR_CODES, SDK_EVENTS

    assert {code.name: int(code) for code in ErrorCode} == ERROR_CODES
    for name, number in ERROR_CODES.items():
        assert type(error_from_code(number, "")).code == number, name
    assert frozenset(SDK_EVENTS) == EVENTS


def test_only_the_boundary_imports_js() -> None:
    """STYLE.md 9: one module converts at the JS boundary; the rest is plain Python."""
    import ast
    from pathlib import Path

    package = Path(tidemark_sdk.__file__).parent
    importers = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] in ("js", "pyodide") for name in names):
                importers.add(path.name)
    assert importers == {"_jsbridge.py"}
