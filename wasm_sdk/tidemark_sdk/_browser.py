"""The SDK in the browser's Web Worker: what ``web/worker.js`` creates and calls.

``create_browser_sdk(idb_store, origin)`` builds the client over
:class:`~tidemark_sdk._idb.IndexedDBStore` and :class:`~tidemark_sdk._fetch.FetchTransport`,
with OpenIM's API on top (:class:`~tidemark_sdk._facade.OpenIMFacade`, plain Python), and
returns a :class:`BrowserSDK`: the facade with JS values in and out, converted by
:mod:`tidemark_sdk._jsbridge` (the one module that imports ``js``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidemark_sdk._client import TidemarkClient
from tidemark_sdk._facade import OpenIMFacade
from tidemark_sdk._fetch import BrowserWebSocket, FetchTransport
from tidemark_sdk._idb import IndexedDBStore
from tidemark_sdk._jsbridge import JsBlob, JsFile, is_blob, to_js, to_py

__all__ = [
    "BrowserSDK",
    "BrowserWebSocket",
    "FetchTransport",
    "IndexedDBStore",
    "create_browser_sdk",
]


class BrowserSDK:
    """The facade as ``web/worker.js`` exposes it to the page (see ``web/imsdk.js``).

    :meth:`call` takes an OpenIM method name and its one argument (a JS value) and
    resolves to a plain JS object ``{errCode: 0, errMsg: "", data}`` or ``{errCode,
    errMsg}`` (it never rejects: the worker turns errCode ≠ 0 into a rejection).
    """

    def __init__(self, facade: OpenIMFacade) -> None:
        self._facade = facade

    def set_listener(self, listener: Callable[[str, Any], Any]) -> None:
        """``listener(event, data)``, a JS function, receives every SDK event."""
        self._facade.set_listener(lambda event, data: listener(event, to_js(data)))

    async def start(self) -> Any:
        """:meth:`OpenIMFacade.start`, as a JS object."""
        return to_js(await self._facade.start())

    async def call(self, method: str, arg: Any = None) -> Any:
        answer = await self._facade.call(str(method), _argument(arg))
        data = answer.get("data")
        if isinstance(data, JsBlob):
            # getFileURL: the Blob itself goes to the page (Comlink clones it), which
            # makes the object URL; its bytes never pass through Python or JSON.
            envelope = to_js({**answer, "data": None})
            envelope.data = data.proxy
            return envelope
        return to_js(answer)


def _argument(arg: Any) -> Any:
    """A JS argument as Python; a ``file`` in it that is a browser File (or Blob) stays a
    JS object, wrapped as :class:`~tidemark_sdk._jsbridge.JsFile` (JSON would make it {})."""
    file = getattr(arg, "file", None) if arg is not None and not isinstance(arg, str) else None
    if file is None or not is_blob(file):
        return to_py(arg)
    fields = to_py(arg)
    fields["file"] = JsFile(file)
    return fields


def create_browser_sdk(idb_store: Any, origin: str, files_js: Any = None) -> BrowserSDK:
    """The worker's entry point: the client over IndexedDB (``idb_store``: the configured
    ``web/idb-store.js`` module) and ``fetch``/``WebSocket`` to ``origin``; uploads and
    downloads through ``files_js`` (``web/files.js``)."""
    store = IndexedDBStore(idb_store)
    # A tab sends a few requests a minute, and over HTTP they stay visible to the
    # browser's network tools and tests, which cannot see into a worker's WebSocket.
    transport = FetchTransport(str(origin), files_js=files_js)
    client = TidemarkClient(transport, store, requests_over_socket=False)
    return BrowserSDK(OpenIMFacade(client, store))
