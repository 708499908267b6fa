"""The SDK's browser layer inside real Pyodide under Node.js (fake-indexeddb, Node's fetch
and WebSocket): the built wheel, ``web/idb-store.js``, and a real ``tidemark serve``.
(The worker-facing facade runs the cases shared with CPython: test_facade_in_pyodide.py.)

Each test runs one Python script inside Pyodide (``run_in_pyodide``); the scripts assert
themselves and end by printing ``OK``; a failed assertion fails the test with the Pyodide
traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.testing import ServerProcess
from tests.sdk import store_cases

RunInPyodide = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

ROOT = Path(__file__).resolve().parents[2]

# Imports web/idb-store.js (given the `idb` library from node_modules, as worker.js gives
# it the vendored copy) and the browser layer.
PRELUDE = """
import asyncio, json, js
from pyodide.code import run_js
from tidemark_sdk import (
    CACHE_SCHEMA, EVENTS, LoginStatus, MemoryStore, SdkError, StorageError, TidemarkClient,
)
from tidemark_sdk._browser import FetchTransport, IndexedDBStore
from tidemark_sdk._jsbridge import to_py as _to_py

_root = str(js.process.cwd())
_idb = await run_js(f"import('file://{_root}/node_modules/idb/build/index.js')")
idb_store = await run_js(f"import('file://{_root}/web/idb-store.js')")
idb_store.configure(run_js("(openDB) => ({openDB})")(_idb.openDB))

_env = _to_py(js.process.env)
URL = _env.get("TIDEMARK_URL", "")
TAG = _env.get("TIDEMARK_TAG", "t")
PASSWORD = "password-1"
loop = asyncio.get_running_loop()


async def until(predicate, what, timeout=15.0):
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def recorder(client):
    events = []
    for name in sorted(EVENTS):
        client.on(name, lambda data, name=name: events.append((name, data)))
    return events


def names(events):
    return [name for name, _ in events]


class RecordingTransport(FetchTransport):
    \"\"\"FetchTransport that remembers every (method, path, answer).\"\"\"

    def __init__(self, url):
        super().__init__(url)
        self.calls = []

    async def request(self, method, path, body=None, token=None):
        answer = await super().request(method, path, body, token)
        self.calls.append((method, path, answer))
        return answer

    def syncs(self):
        return [(path, answer) for method, path, answer in self.calls if path.startswith("/api/sync")]
"""


def cpython_store_results(make_store: Callable[[], Any]) -> Any:
    async def factory() -> Any:
        return make_store()

    return json.loads(json.dumps(asyncio.run(store_cases.scenario(factory))))


def last_json_line(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("server")
    process = ServerProcess(f"sqlite:///{directory}/tidemark.db", directory / "server.log").start()
    yield process
    process.stop()


def env_for(server: ServerProcess) -> dict[str, str]:
    return {"TIDEMARK_URL": server.url, "TIDEMARK_TAG": uuid.uuid4().hex[:8]}


def test_indexeddb_store_behaves_like_the_cpython_stores(
    run_in_pyodide: RunInPyodide, tmp_path: Path
) -> None:
    # Intent: the version guard (older records never win, meta.version never decreases,
    # messages immutable) holds in IndexedDB exactly as in MemoryStore and SqliteStore.
    script = (
        PRELUDE
        + "import store_cases\n"
        + "make = lambda: asyncio.sleep(0, IndexedDBStore(idb_store))\n"
        + "print(json.dumps(await store_cases.scenario(make)))\n"
    )
    result = run_in_pyodide(script, modules=[Path(store_cases.__file__)])
    assert result.returncode == 0, result.stderr
    in_pyodide = last_json_line(result.stdout)

    from tidemark_sdk import MemoryStore, SqliteStore

    memory = MemoryStore()
    assert in_pyodide == cpython_store_results(lambda: memory)
    opened: list[SqliteStore] = []

    def sqlite_store() -> SqliteStore:
        opened.append(SqliteStore(tmp_path / "cache.db"))  # another connection, one file
        return opened[-1]

    try:
        assert in_pyodide == cpython_store_results(sqlite_store)
    finally:
        for store in opened:
            store.close()

    assert in_pyodide["race_meta"]["version"] == 49
    assert [c["version"] for c in in_pyodide["race_record"]] == [49]
    assert in_pyodide["older"] == {"version": 12, "changes": [], "messages": []}


TABS_AND_FAILURES = """
# Intent: two store objects on one database (two tabs) each report what is new to them,
# and a failed IndexedDB write raises an SDK error and writes nothing.
tab_a, tab_b = IndexedDBStore(idb_store), IndexedDBStore(idb_store)
session = {"userID": "carol", "nickname": "C", "token": "t", "expiresAt": 1}
await tab_a.save_session(session)
assert await tab_b.load_session() == session
try:
    await tab_a.apply(1, [], [])
except StorageError as error:
    assert error.err_code == 10004 and "no cache" in error.err_msg, error
else:
    raise AssertionError("apply before reset must fail")

await tab_a.reset({"userID": "carol", "epoch": "e", "version": 1, "schema": CACHE_SCHEMA}, [], [])
assert await tab_b.load() is not None

record = {"conversationID": "si_carol_dan", "version": 2, "maxSeq": 1, "hasReadSeq": 0}
message = {"conversationID": "si_carol_dan", "seq": 1, "clientMsgID": "x"}
first = await tab_a.apply(2, [record], [message])
second = await tab_b.apply(2, [record], [message])  # the same event, reaching tab B later
assert [c["old"] for c in first["changes"]] == [None] and first["messages"] == [message]
assert [c["old"] for c in second["changes"]] == [None], second  # new to tab B too
assert second["messages"] == [message], second
assert await tab_b.apply(2, [record], [message]) == {"version": 2, "changes": [], "messages": []}

# Tab A stored a newer record: tab B, given an older copy, reports the newer stored one.
newer = {**record, "version": 3, "hasReadSeq": 1}
await tab_a.apply(3, [newer], [])
late = await tab_b.apply(2, [record], [])
assert late["changes"] == [{"old": record, "new": newer}], late
assert late["version"] == 3

# A failing write (a record without its key) aborts the whole transaction.
before = await tab_a.conversations()
other = {**record, "conversationID": "si_carol_erin", "version": 4}
try:
    await tab_a.apply(4, [other, {"version": 5}], [])
except StorageError as error:
    assert error.err_code == 10004 and "IndexedDB apply" in error.err_msg, error
else:
    raise AssertionError("a write IndexedDB refuses must raise")
assert await tab_a.conversations() == before
assert (await tab_a.load())["version"] == 3
try:
    await tab_a.reset({"userID": "carol", "epoch": "e", "version": 9, "schema": 1}, [{}], [])
except SdkError as error:
    assert error.err_code == 10004
else:
    raise AssertionError("reset with a bad record must raise")
assert await tab_a.conversations() == before

# One cache database per user: dan's cache is not carol's.
dan = {**session, "userID": "dan", "token": "dan-token"}
await tab_b.save_session(dan)
assert await tab_b.load() is None and await tab_b.conversations() == []
assert await tab_a.conversations() == before
# Carol's tab logging out does not erase the login dan's tab saved since; dan's does.
await tab_a.save_session(None)
assert await tab_a.peek_session() == dan
await tab_b.save_session(None)
assert await tab_a.peek_session() is None
print("OK")
"""


def test_two_tabs_and_failed_writes(run_in_pyodide: RunInPyodide) -> None:
    result = run_in_pyodide(PRELUDE + TABS_AND_FAILURES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "OK"


CLIENT_SCENARIO = """
# Intent: the real client over IndexedDB, fetch and the browser WebSocket, end to end.
alice, bob = f"alice-{TAG}", f"bob-{TAG}"
a_http = RecordingTransport(URL)
a = TidemarkClient(a_http, IndexedDBStore(idb_store))
b = TidemarkClient(FetchTransport(URL), MemoryStore())
a_events, b_events = recorder(a), recorder(b)

assert await a.register(alice, PASSWORD, "Alice") == {"userID": alice, "nickname": "Alice"}
await a.register(bob, PASSWORD, "Bob")
try:
    await a.login(alice, "wrong-password")
except SdkError as error:
    assert error.err_code == 1103, error
else:
    raise AssertionError("bad credentials must fail")

# Login resolves after the first (full) sync.
assert await a.login(alice, PASSWORD) == {"userID": alice, "nickname": "Alice"}
assert "OnSyncServerFinish" in names(a_events), a_events
[(path, answer)] = a_http.syncs()
assert path == "/api/sync" and answer["full"] is True
assert await a.get_login_status() == LoginStatus.LOGGED_IN
await b.login(bob, PASSWORD)
await until(lambda: "OnConnectSuccess" in names(a_events), "alice's WebSocket")
await until(lambda: "OnConnectSuccess" in names(b_events), "bob's WebSocket")

# Live events over the browser WebSocket.
cid = "si_" + "_".join(sorted((alice, bob)))
for text in ("one", "two", "three"):
    await b.send_message(await b.create_text_message(text), recv_id=alice)
def received(events):
    return [m["seq"] for name, data in events if name == "OnRecvNewMessages" for m in data]
await until(lambda: received(a_events) == [1, 2, 3], "three live messages")
await until(lambda: ("OnTotalUnreadMessageCountChanged", 3) in a_events, "total 3")
assert await a.get_total_unread_msg_count() == 3
[cached] = await IndexedDBStore(idb_store).cached_conversations(alice)
assert (cached["conversationID"], cached["unreadCount"], cached["maxSeq"]) == (cid, 3, 3)

# Mark read: server first, then IndexedDB, then events; the peer gets a receipt.
await a.mark_conversation_message_as_read(cid)
assert await a.get_total_unread_msg_count() == 0
assert ("OnTotalUnreadMessageCountChanged", 0) in a_events
[cached] = await IndexedDBStore(idb_store).cached_conversations(alice)
assert (cached["hasReadSeq"], cached["unreadCount"]) == (3, 0)
await until(lambda: "OnRecvC2CReadReceipt" in names(b_events), "bob's read receipt")

# Send: the answer carries seq, serverMsgID, clientMsgID, sendTime.
sent = await a.send_message(await a.create_text_message("hi bob"), recv_id=bob)
assert sent["seq"] == 4 and sent["serverMsgID"] and sent["clientMsgID"] and sent["sendTime"]
await until(lambda: 4 in received(b_events), "bob receives alice's message")
await b.send_message(await b.create_text_message("five"), recv_id=alice)
await until(lambda: 5 in received(a_events), "message five")
history = await a.get_advanced_history_message_list(cid, 10, 0)
assert [m["seq"] for m in history["messageList"]] == [1, 2, 3, 4, 5] and history["isEnd"]
assert [m["textElem"]["content"] for m in history["messageList"]][-1] == "five"

# A second client on the same IndexedDB (a reload, or a second tab): it restores the
# saved session, sees the cache at once, and syncs incrementally from the cached version.
a2_http = RecordingTransport(URL)
a2_store = IndexedDBStore(idb_store)
a2 = TidemarkClient(a2_http, a2_store)
a2_events = recorder(a2)
cached_list = await IndexedDBStore(idb_store).cached_conversations(alice)
assert [c["unreadCount"] for c in cached_list] == [1]
assert await a2.restore_session() is True
assert await a2.get_login_status() == LoginStatus.LOGGED_IN
[(path, answer)] = a2_http.syncs()
assert "epoch=" in path and "version=" in path and answer["full"] is False, (path, answer)
assert await a2.get_total_unread_msg_count() == 1
assert await a2.get_all_conversation_list() == await a.get_all_conversation_list()
await until(lambda: "OnConnectSuccess" in names(a2_events), "second client's WebSocket")

# Both clients live on one database: each reports the new message and the new total,
# whichever wrote it to IndexedDB first.
await b.send_message(await b.create_text_message("six"), recv_id=alice)
await until(lambda: 6 in received(a_events) and 6 in received(a2_events), "six in both")
await until(lambda: ("OnTotalUnreadMessageCountChanged", 2) in a_events, "a: total 2")
await until(lambda: ("OnTotalUnreadMessageCountChanged", 2) in a2_events, "a2: total 2")
# Read in one, cleared in both.
await a2.mark_conversation_message_as_read(cid)
await until(lambda: ("OnTotalUnreadMessageCountChanged", 0) in a_events[-5:], "a: total 0")
assert await a.get_total_unread_msg_count() == 0
meta = await IndexedDBStore(idb_store).peek_session()
assert meta["userID"] == alice

await a2.logout()
assert await IndexedDBStore(idb_store).peek_session() is None
await a.logout()
await b.logout()
print("OK")
"""


def test_client_over_indexeddb_fetch_and_websocket(
    run_in_pyodide: RunInPyodide, server: ServerProcess
) -> None:
    result = run_in_pyodide(PRELUDE + CLIENT_SCENARIO, env=env_for(server), timeout=180)
    assert result.returncode == 0, result.stderr[-5000:]
    assert result.stdout.splitlines()[-1] == "OK"


EPOCH_SCENARIO = """
# Intent: a server whose epoch changes (restored from a backup) makes the client drop its
# IndexedDB cache and take a full snapshot, even while it stays connected.
alice, bob = f"alice-{TAG}", f"bob-{TAG}"
b = TidemarkClient(FetchTransport(URL), MemoryStore())
await b.register(alice, PASSWORD, "Alice")
await b.register(bob, PASSWORD, "Bob")
await b.login(bob, PASSWORD)
await b.send_message(await b.create_text_message("hello"), recv_id=alice)
await b.logout()

a = TidemarkClient(FetchTransport(URL), IndexedDBStore(idb_store), backoff_base=0.1, backoff_max=0.5)
events = recorder(a)
await a.login(alice, PASSWORD)
inspector = IndexedDBStore(idb_store)
await inspector.load_session()
old_epoch = (await inspector.load())["epoch"]
# A record the server does not have: only a dropped cache loses it.
ghost = {**(await inspector.conversations())[0], "conversationID": "si_ghost_x", "version": 1}
await inspector.apply(None, [ghost], [])
assert len(await inspector.conversations()) == 2

print("CHANGE-EPOCH", flush=True)
async def new_epoch():
    meta = await inspector.load()
    return meta["epoch"] != old_epoch and "OnSyncServerFinish" in names(events[finished:])
finished = len(events)
deadline = loop.time() + 60
while not await new_epoch():
    assert loop.time() < deadline, "no full sync after the epoch change"
    await asyncio.sleep(0.1)
records = await inspector.conversations()
assert [r["conversationID"] for r in records] == ["si_" + "_".join(sorted((alice, bob)))], records
assert records[0]["unreadCount"] == 1
assert await a.get_total_unread_msg_count() == 1
await a.logout()
print("OK")
"""


def test_epoch_change_drops_the_cache(run_in_pyodide: RunInPyodide, tmp_path: Path) -> None:
    database = tmp_path / "tidemark.db"
    log = tmp_path / "server.log"
    server = ServerProcess(f"sqlite:///{database}", log).start()
    node = shutil.which("node")
    assert node is not None
    with subprocess.Popen(
        [node, "--experimental-websocket", str(ROOT / "web" / "pyodide-harness.mjs"), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env_for(server)},
    ) as process:
        watchdog = threading.Timer(180, process.kill)
        watchdog.start()
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(PRELUDE + EPOCH_SCENARIO)
            process.stdin.close()
            lines = []
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("CHANGE-EPOCH"):
                    # Same data, new epoch (a restore from backup): the server caches its
                    # epoch, so restart it on the same port.
                    server.stop()
                    with sqlite3.connect(database) as db:
                        db.execute(
                            "UPDATE meta SET value = ? WHERE key = 'epoch'", (uuid.uuid4().hex,)
                        )
                    db.close()
                    server = ServerProcess(f"sqlite:///{database}", log, port=server.port).start()
            stderr = process.stderr.read() if process.stderr else ""
            assert process.wait() == 0, stderr[-5000:]
            assert lines[-1] == "OK", lines
        finally:
            watchdog.cancel()
            process.kill()
            server.stop()


XHR_UPLOAD = """
# Intent: web/files.js's XMLHttpRequest path (the browser's, whose upload progress events
# feed OnProgress) through _jsbridge's callback proxy, against the real server. Node has
# no XMLHttpRequest: a stand-in is installed that fires upload progress events (thirds of
# the body) and really sends the request by fetch, as a browser's XHR would.
run_js('''
globalThis.XMLHttpRequest = class {
  constructor() { this.upload = {}; this.headers = {}; this.status = 0; this.responseText = ""; }
  open(method, url) { this.method = method; this.url = url; }
  setRequestHeader(name, value) { this.headers[name] = value; }
  send(body) {
    const total = body.size ?? body.byteLength;
    globalThis.__xhrSent = { method: this.method, headers: this.headers, total };
    for (const loaded of [0, total / 3, (2 * total) / 3, total]) {
      this.upload.onprogress({ lengthComputable: true, loaded, total });
    }
    fetch(this.url, { method: this.method, headers: this.headers, body }).then(
      async (response) => { this.status = response.status; this.responseText = await response.text(); this.onload(); },
      () => this.onerror(),
    );
  }
};
''')
from tidemark_sdk import BytesFile
from tidemark_sdk._browser import create_browser_sdk
from pyodide.ffi import to_js

files_js = await run_js(f"import('file://{_root}/web/files.js')")
transport = FetchTransport(URL, files_js=files_js)
client = TidemarkClient(transport, MemoryStore(), requests_over_socket=False)
user = f"xhr-{TAG}"
await client.register(user, PASSWORD, "X")
await client.register(f"{user}-peer", PASSWORD, "P")
await client.login(user, PASSWORD)
events = recorder(client)
data = b"plain words sent by XMLHttpRequest " * 100
image = js.File.new([to_js(data)], "a.txt", to_js({"type": "text/plain"}, dict_converter=js.Object.fromEntries))
from tidemark_sdk._jsbridge import JsFile
made = await client.create_file_message_by_file(JsFile(image))
sent = await client.send_message(made, recv_id=f"{user}-peer")
progress = [d["progress"] for n, d in events if n == "OnProgress"]
assert progress == [0, 33, 66, 100], progress
assert {d["clientMsgID"] for n, d in events if n == "OnProgress"} == {made["clientMsgID"]}
seen = _to_py(js.__xhrSent)
assert seen["method"] == "PUT" and seen["total"] == len(data), seen
assert seen["headers"]["Content-Type"] == "text/plain" and seen["headers"]["Authorization"].startswith("Bearer ")
assert sent["fileElem"]["fileName"] == "a.txt" and sent["fileElem"]["fileSize"] == len(data)
blob = await client.get_file(sent["fileElem"]["sourceUrl"])
assert await blob.read() == data and blob.size == len(data)
await client.logout()
print("OK")
"""


def test_upload_progress_through_the_xhr_path(
    run_in_pyodide: RunInPyodide, server: ServerProcess
) -> None:
    result = run_in_pyodide(PRELUDE + XHR_UPLOAD, env=env_for(server), timeout=180)
    assert result.returncode == 0, result.stderr[-5000:]
    assert result.stdout.strip().endswith("OK"), result.stdout[-2000:]
