"""The JavaScript boundary: the only module of the SDK that imports ``js`` (and ``pyodide``).

Everything that crosses between Python and JS is converted here, so that no JS proxy
leaks into the rest of the SDK (STYLE.md point 9):

- values go through JSON both ways (``JSON.parse`` / ``JSON.stringify``): :func:`to_js`,
  :func:`to_py`; ``None`` is ``null`` (not ``undefined``) on the JS side;
- a JS error becomes an SDK error, raised ``from None`` (:func:`call_js`, :func:`fetch`,
  :class:`JsWebSocket`);
- JS events become calls of Python callbacks with Python values (:class:`JsWebSocket`,
  the upload's progress in :func:`upload`);
- a browser ``File`` or ``Blob`` is not converted: it stays a JS object, wrapped as a
  :class:`JsFile` (an argument: its bytes go out by XHR/``fetch`` as they are) or a
  :class:`JsBlob` (a download: handed back to the page as it is).

Importing this module in CPython works (for type checking, tooling, and the plain-Python
modules built on it); using anything from it there raises :class:`RuntimeError`, as the
guard :data:`IN_PYODIDE` says (the same guard as pyodide's own ``IN_PYODIDE``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from tidemark_sdk._errors import NetworkError, SdkError
from tidemark_sdk._files import FileSource

try:
    import js
    from pyodide.ffi import JsException, create_proxy
    from pyodide.ffi import to_js as _pyodide_to_js
except ImportError:  # CPython: see the module docstring
    IN_PYODIDE = False
else:
    IN_PYODIDE = True

__all__ = [
    "IN_PYODIDE",
    "JsBlob",
    "JsFile",
    "JsWebSocket",
    "call_js",
    "download",
    "fetch",
    "is_blob",
    "require_pyodide",
    "to_js",
    "to_py",
    "upload",
]

_WS_OPEN = 1  # WebSocket.OPEN


def require_pyodide(what: str) -> None:
    if not IN_PYODIDE:
        raise RuntimeError(f"{what} runs only inside Pyodide")


def to_js(value: Any) -> Any:
    """A JSON-shaped Python value as a plain JS value (``None`` is ``null``)."""
    return js.JSON.parse(json.dumps(value))


def to_py(value: Any) -> Any:
    """A plain JS value (a proxy, or a primitive Pyodide already converted) as Python."""
    if value is None:  # undefined (or null, as Pyodide gives it)
        return None
    text = js.JSON.stringify(value)
    return None if text is None else json.loads(text)


def is_blob(value: Any) -> bool:
    """Whether a JS value is a ``Blob`` (a ``File`` is one)."""
    blob = getattr(js, "Blob", None)
    return blob is not None and value is not None and bool(blob.prototype.isPrototypeOf(value))


class JsFile:
    """A browser ``File`` (or ``Blob``) as a :class:`~tidemark_sdk._files.FileSource`:
    name, type and size read once; the bytes stay in JS until :meth:`read` (uploads
    send the File itself)."""

    def __init__(self, proxy: Any) -> None:
        require_pyodide("JsFile")
        self.proxy = proxy
        name = getattr(proxy, "name", None)
        self._name = name if isinstance(name, str) else ""
        kind = getattr(proxy, "type", None)
        self._type = kind if isinstance(kind, str) else ""
        self._size = int(proxy.size)

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def size(self) -> int:
        return self._size

    async def read(self) -> bytes:
        try:
            buffer = await self.proxy.arrayBuffer()
        except JsException as failure:
            raise SdkError(f"reading the file: {_error_text(failure)}") from None
        return bytes(buffer.to_bytes())


class JsBlob:
    """A downloaded ``Blob``, kept a JS object: the page makes an object URL of it."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.size = int(proxy.size)
        self.type = str(proxy.type or "")

    async def read(self) -> bytes:
        return bytes((await self.proxy.arrayBuffer()).to_bytes())


def _error_text(error: Any) -> str:
    """A readable ``Name: message`` for a JsException."""
    js_error = getattr(error, "js_error", None)
    name = getattr(js_error, "name", None)
    message = getattr(js_error, "message", None)
    if isinstance(name, str) and isinstance(message, str):
        return f"{name}: {message}"
    return str(error)


async def call_js(target: Any, name: str, *args: Any, error: type[SdkError], what: str) -> Any:
    """``await target[name](...args)``: the arguments as JS values, the result as Python;
    a JS error (a rejection, or a throw) raises ``error(f"{what}: …")``."""
    try:
        result = await getattr(target, name)(*[to_js(arg) for arg in args])
    except JsException as failure:
        raise error(f"{what}: {_error_text(failure)}") from None
    return to_py(result)


async def fetch(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: str | None,
    timeout_ms: int,
    what: str,
) -> tuple[int, bool, str]:
    """``fetch`` one URL: ``(status, ok, body text)``; no answer raises NetworkError."""
    init: dict[str, Any] = {"method": method, "headers": headers}
    if body is not None:
        init["body"] = body
    options = to_js(init)
    # A request that never answers must end: the SDK would otherwise wait forever.
    options.signal = js.AbortSignal.timeout(timeout_ms)
    try:
        response = await js.fetch(url, options)
        text = str(await response.text())
    except JsException as failure:
        raise NetworkError(f"{what}: {_error_text(failure)}") from None
    return int(response.status), bool(response.ok), text


def _body(file: FileSource) -> Any:
    """What XHR or ``fetch`` sends: the File itself, or bytes made a ``Uint8Array``."""
    if isinstance(file, JsFile):
        return file.proxy
    data = getattr(file, "data", None)
    if not isinstance(data, bytes):
        raise TypeError(f"cannot upload {file!r} from the browser")
    return _pyodide_to_js(data)


async def upload(
    files_js: Any,
    url: str,
    *,
    token: str,
    file: FileSource,
    content_type: str,
    timeout_ms: int,
    on_progress: Callable[[int], None] | None,
    what: str,
) -> tuple[int, str]:
    """``PUT url`` with the file as the body, through ``web/files.js``'s ``upload`` (XHR
    with upload progress; ``fetch`` where there is no XHR): ``(status, body text)``.
    ``on_progress(percent)`` is called as XHR reports progress. No answer raises
    NetworkError."""

    def progress(percent: Any) -> None:
        if on_progress is not None:
            on_progress(int(percent))

    callback = create_proxy(progress)
    try:
        answer = await files_js.upload(url, token, _body(file), content_type, callback, timeout_ms)
    except JsException as failure:
        raise NetworkError(f"{what}: {_error_text(failure)}") from None
    finally:
        callback.destroy()
    return int(answer.status), str(answer.text)


async def download(
    files_js: Any, url: str, *, token: str, timeout_ms: int, what: str
) -> tuple[int, JsBlob | None, str]:
    """``GET url`` with the token, through ``web/files.js``'s ``download``: ``(status,
    the Blob if 2xx, else None, the error body's text)``."""
    try:
        answer = await files_js.download(url, token, timeout_ms)
    except JsException as failure:
        raise NetworkError(f"{what}: {_error_text(failure)}") from None
    blob = JsBlob(answer.blob) if answer.ok else None
    return int(answer.status), blob, str(answer.text or "")


class JsWebSocket:
    """A JS ``WebSocket`` whose events call Python callbacks with Python values.

    ``on_message(text)`` gets None for a binary frame; ``on_close(code, reason)``. The
    handler proxies are detached and destroyed on :meth:`close`: JS never calls a
    destroyed proxy.
    """

    def __init__(
        self,
        url: str,
        *,
        on_open: Callable[[], None],
        on_message: Callable[[str | None], None],
        on_close: Callable[[int, str], None],
        on_error: Callable[[], None],
    ) -> None:
        require_pyodide("JsWebSocket")
        self._url = url
        try:
            self._socket = js.WebSocket.new(url)
        except JsException as failure:
            raise NetworkError(f"WebSocket {url}: {_error_text(failure)}") from None

        def message(event: Any) -> None:
            data = event.data
            on_message(data if isinstance(data, str) else None)

        def close(event: Any) -> None:
            on_close(int(event.code), str(event.reason or ""))

        self._handlers = {
            "onopen": create_proxy(lambda _event: on_open()),
            "onmessage": create_proxy(message),
            "onclose": create_proxy(close),
            "onerror": create_proxy(lambda _event: on_error()),
        }
        for name, handler in self._handlers.items():
            setattr(self._socket, name, handler)

    @property
    def is_open(self) -> bool:
        return bool(self._socket.readyState == _WS_OPEN)

    def send(self, text: str) -> None:
        if not self.is_open:
            raise NetworkError("WebSocket is not open")
        try:
            self._socket.send(text)
        except JsException as failure:
            raise NetworkError(f"WebSocket send: {_error_text(failure)}") from None

    def close(self) -> None:
        """Detach the handlers and close (code 1000); safe to call twice."""
        if not self._handlers:
            return
        # Detach before destroying: JS must never call a destroyed proxy.
        for name, handler in self._handlers.items():
            setattr(self._socket, name, None)
            handler.destroy()
        self._handlers = {}
        with contextlib.suppress(JsException):  # already closing
            self._socket.close(1000)
