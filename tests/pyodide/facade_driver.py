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
from tidemark_sdk._browser import FetchTransport, create_browser_sdk
from tidemark_sdk._jsbridge import to_js, to_py


class PyodideSdk:
    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self.events: list[tuple[str, Any]] = []
        sdk.set_listener(lambda event, data: self.events.append((event, to_py(data))))

    async def call(self, method: str, arg: Any = None) -> dict[str, Any]:
        return to_py(await self.sdk.call(method, to_js(arg)))  # type: ignore[no-any-return]

    async def start(self) -> dict[str, Any]:
        return to_py(await self.sdk.start())  # type: ignore[no-any-return]


class PyodideEnv(facade_cases.Env):  # type: ignore[misc]
    def __init__(self, tag: str, idb_store: Any, url: str) -> None:
        super().__init__(tag)
        self.idb_store = idb_store
        self.url = url

    async def make_sdk(self) -> PyodideSdk:
        return PyodideSdk(create_browser_sdk(self.idb_store, self.url))

    def transport(self) -> FetchTransport:
        return FetchTransport(self.url)


async def main() -> None:
    root = str(js.process.cwd())
    idb = await run_js(f"import('file://{root}/node_modules/idb/build/index.js')")
    idb_store = await run_js(f"import('file://{root}/web/idb-store.js')")
    configure = run_js("(store, openDB, prefix) => store.configure({openDB, prefix})")
    env = to_py(js.process.env)
    for number, (name, case) in enumerate(facade_cases.CASES.items()):
        # Each case on its own databases, as each CPython case on its own SQLite file.
        configure(idb_store, idb.openDB, f"facade-{name}")
        error = None
        try:
            await facade_cases.run(
                case, PyodideEnv(f"{env['TIDEMARK_TAG']}{number}", idb_store, env["TIDEMARK_URL"])
            )
        except BaseException:
            error = traceback.format_exc()
        print("CASE " + json.dumps({"case": name, "error": error}), flush=True)
