"""Inside Pyodide (loaded by the harness with --module): the cases of
``tests/sdk/facade_cases.py`` on what ``web/worker.js`` calls, ``create_browser_sdk`` over
IndexedDB (fake-indexeddb), ``fetch`` and the WebSocket, with every value crossing as a JS
value. Prints one ``CASE {"case", "error"}`` line per case (error: a traceback, or null).
"""

from __future__ import annotations

import json
import traceback
from typing import Any

import facade_cases  # type: ignore[import-not-found]
import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import to_js as to_js_bytes  # type: ignore[import-not-found]
from tidemark_sdk._browser import FetchTransport, create_browser_sdk
from tidemark_sdk._jsbridge import is_blob, to_js, to_py


class PyodideSdk:
    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self.events: list[tuple[str, Any]] = []
        sdk.set_listener(lambda event, data: self.events.append((event, to_py(data))))

    async def call(self, method: str, arg: Any = None) -> dict[str, Any]:
        # A File crosses as itself, as Comlink's structured clone hands it to the worker.
        file = None
        if isinstance(arg, dict) and "file" in arg and not isinstance(arg["file"], str | int):
            arg = dict(arg)
            file = arg.pop("file")
        value = to_js(arg)
        if file is not None:
            value.file = file
        answer = await self.sdk.call(method, value)
        data = getattr(answer, "data", None)
        if data is not None and is_blob(data):  # getFileURL: the Blob, read back here
            return {**to_py(answer), "data": bytes((await data.arrayBuffer()).to_bytes())}
        return to_py(answer)  # type: ignore[no-any-return]

    async def start(self) -> dict[str, Any]:
        return to_py(await self.sdk.start())  # type: ignore[no-any-return]


class PyodideEnv(facade_cases.Env):  # type: ignore[misc]
    def __init__(self, tag: str, idb_store: Any, files_js: Any, url: str) -> None:
        super().__init__(tag)
        self.idb_store = idb_store
        self.files_js = files_js
        self.url = url

    async def make_sdk(self) -> PyodideSdk:
        return PyodideSdk(create_browser_sdk(self.idb_store, self.url, self.files_js))

    def transport(self) -> FetchTransport:
        return FetchTransport(self.url, files_js=self.files_js)

    def file(self, data: bytes, name: str, type: str = "") -> Any:
        """A browser File (Node's global File), as a page would hand it over."""
        return js.File.new([to_js_bytes(data)], name, to_js({"type": type}))


async def main() -> None:
    root = str(js.process.cwd())
    idb = await run_js(f"import('file://{root}/node_modules/idb/build/index.js')")
    idb_store = await run_js(f"import('file://{root}/web/idb-store.js')")
    # web/files.js as worker.js imports it; Node has no XMLHttpRequest: uploads go by fetch.
    files_js = await run_js(f"import('file://{root}/web/files.js')")
    configure = run_js("(store, openDB, prefix) => store.configure({openDB, prefix})")
    env = to_py(js.process.env)
    for number, (name, case) in enumerate(facade_cases.CASES.items()):
        # Each case on its own databases, as each CPython case on its own SQLite file.
        configure(idb_store, idb.openDB, f"facade-{name}")
        error = None
        try:
            await facade_cases.run(
                case,
                PyodideEnv(
                    f"{env['TIDEMARK_TAG']}{number}", idb_store, files_js, env["TIDEMARK_URL"]
                ),
            )
        except BaseException:
            error = traceback.format_exc()
        print("CASE " + json.dumps({"case": name, "error": error}), flush=True)
