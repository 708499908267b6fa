"""Inside Pyodide (loaded by the harness with --module): IndexedDB writes on the mark-read
path, counted as readwrite transactions on the cache database. Raises on a failure."""

from __future__ import annotations

import asyncio
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import run_js  # type: ignore[import-not-found]
from tidemark_sdk import MemoryStore, TidemarkClient
from tidemark_sdk._browser import FetchTransport, IndexedDBStore
from tidemark_sdk._jsbridge import to_js, to_py

PASSWORD = "password-1"

# Every readwrite transaction opened on a cache database ("<prefix>-cache-<user>").
COUNT_WRITES = """
(() => {
  const counts = { readwrite: 0 };
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    if (mode === "readwrite" && this.name.includes("-cache-")) counts.readwrite += 1;
    return transaction.call(this, stores, mode, ...rest);
  };
  return counts;
})()
"""


async def until(predicate: Any, what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def recorder(client: TidemarkClient) -> dict[str, list[Any]]:
    events: dict[str, list[Any]] = {}
    for name in ("OnConnectSuccess", "OnTotalUnreadMessageCountChanged", "OnRecvNewMessages"):
        client.on(name, lambda data, name=name: events.setdefault(name, []).append(data))
    return events


async def main() -> None:
    root = str(js.process.cwd())
    idb = await run_js(f"import('file://{root}/node_modules/idb/build/index.js')")
    idb_store = await run_js(f"import('file://{root}/web/idb-store.js')")
    run_js("(store, openDB) => store.configure({openDB, prefix: 'writes'})")(idb_store, idb.openDB)
    counts = run_js(COUNT_WRITES)
    env = to_py(js.process.env)
    url, tag = env["TIDEMARK_URL"], env["TIDEMARK_TAG"]
    alice, bob = f"alice-{tag}", f"bob-{tag}"

    # As in the worker: IndexedDB, and requests over HTTP, so the WebSocket echo of the
    # mark-read comes besides its answer.
    a = TidemarkClient(FetchTransport(url), IndexedDBStore(idb_store), requests_over_socket=False)
    b = TidemarkClient(FetchTransport(url), MemoryStore())
    a_events, b_events = recorder(a), recorder(b)
    await a.register(alice, PASSWORD, "Alice")
    await a.register(bob, PASSWORD, "Bob")
    await a.login(alice, PASSWORD)
    await b.login(bob, PASSWORD)
    await until(lambda: "OnConnectSuccess" in a_events, "alice's WebSocket")
    await until(lambda: "OnConnectSuccess" in b_events, "bob's WebSocket")
    for text in ("one", "two"):
        await b.send_message(await b.create_text_message(text), recv_id=alice)
    await until(lambda: 2 in a_events.get("OnTotalUnreadMessageCountChanged", []), "total 2")

    before = counts.readwrite
    cid = "si_" + "_".join(sorted((alice, bob)))
    await a.mark_conversation_message_as_read(cid)
    assert counts.readwrite == before + 1, (before, counts.readwrite)
    # The echo of the mark-read comes before this message on alice's socket: once the
    # message is in, the echo has been handled.
    await b.send_message(await b.create_text_message("three"), recv_id=alice)
    await until(lambda: len(a_events.get("OnRecvNewMessages", [])) == 3, "message three")
    assert counts.readwrite == before + 2, ("the echo wrote again", before, counts.readwrite)

    # apply() answers what IndexedDBStore reads, nothing more (no unread `changes`).
    answer = to_py(await idb_store.apply(alice, None, to_js([]), to_js([])))
    assert sorted(answer) == ["messages", "records", "version"], answer
    # The stored record: the list's, without this device's draft fields.
    shown = (await a.get_all_conversation_list())[0]
    record = {k: v for k, v in shown.items() if k not in ("draftText", "draftTextTime")}
    answer = to_py(await idb_store.apply(alice, None, to_js([record]), to_js([])))
    assert sorted(answer) == ["messages", "records", "version"], answer
    assert answer["records"] == [record] and answer["messages"] == [], answer

    await a.logout()
    await b.logout()
    print("OK")
