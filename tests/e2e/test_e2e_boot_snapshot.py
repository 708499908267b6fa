"""The worker's Pyodide memory snapshot (web/worker.js): a reload boots from it, and a
snapshot that does not load is dropped without the page noticing."""

from __future__ import annotations

from typing import Any

from tests.e2e.driver import Api, single

BOOT_MODE = "() => IMSDK.getBootTimings().then((answer) => answer.data.snapshot)"
STORED = """async () => {
  const { buildId } = await (await fetch("/build.json")).json();
  const cache = await caches.open(`tidemark-pyodide-snapshot-${buildId}`);
  const key = `${location.origin}/assets/${buildId}/pyodide/memory-snapshot`;
  for (let i = 0; i < 100; i++) {
    if (await cache.match(key)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}"""
# Garbage, or a real snapshot whose Pyodide build ID (header bytes 16-47) is another's.
CORRUPT = """async (how) => {
  const { buildId } = await (await fetch("/build.json")).json();
  const cache = await caches.open(`tidemark-pyodide-snapshot-${buildId}`);
  const key = `${location.origin}/assets/${buildId}/pyodide/memory-snapshot`;
  let bytes = new Uint8Array(4096).fill(7);
  if (how === "build") {
    bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    bytes[20] ^= 0xff;
  }
  await cache.put(key, new Response(bytes));
}"""


def test_reload_boots_from_the_snapshot_and_survives_a_bad_one(api: Api, open_app: Any) -> None:
    # Intent: the first boot stores a memory snapshot, reloads restore it and still show the server's truth; a corrupt snapshot is dropped, the worker boots in full and stores a good one again.
    bob = api.user("bob")
    api.user("alice")
    app = open_app()
    assert app.page.evaluate(BOOT_MODE) == "made"
    app.log_in("alice")
    api.send(bob, "one", to="alice")
    app.expect_counts({single("alice", "bob"): 1}, 1)
    assert app.page.evaluate(STORED)

    app.reload()
    app.wait_up_to_date()
    assert app.page.evaluate(BOOT_MODE) == "restored"
    api.send(bob, "two", to="alice")
    app.expect_counts({single("alice", "bob"): 2}, 2)
    app.page.evaluate("(id) => IMSDK.markConversationMessageAsRead(id)", single("alice", "bob"))
    app.expect_counts({single("alice", "bob"): 0}, 0)

    for sent, how in enumerate(("garbage", "build"), start=1):
        app.page.evaluate(CORRUPT, how)
        app.console.clear()
        app.reload()
        app.wait_up_to_date()
        assert app.page.evaluate(BOOT_MODE) == "made", how
        assert any("snapshot did not load" in line for line in app.console), app.console
        api.send(bob, f"after {how}", to="alice")
        app.expect_counts({single("alice", "bob"): sent}, sent)
        assert app.page.evaluate(STORED)
    app.reload()
    app.wait_up_to_date()
    assert app.page.evaluate(BOOT_MODE) == "restored"
    app.expect_counts({single("alice", "bob"): 2}, 2)
