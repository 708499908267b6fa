"""B2: mark-read round trip, from the IMSDK call to the badge cleared.

Two devices are logged in as the same user: two Chromium profiles (each its own worker,
Pyodide, IndexedDB and WebSocket) showing the page. For each operation a peer — a
CPython SDK client, the load generator — sends a message; once both pages show the
badge, device A calls ``IMSDK.markConversationMessageAsRead``. Measured, on one clock
(``performance.timeOrigin + performance.now()``, both pages in one machine):

- ``same_tab``: from the call to device A's badge cleared (the item's ``data-unread``
  turning "0", seen by a MutationObserver; ``*_painted``: the first frame after it);
- ``second_device``: from the call to device B's badge cleared (the server's push);
- ``resolved``: from the call to its Promise resolving.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import async_playwright
from tidemark_sdk import HttpTransport, MemoryStore, TidemarkClient

from benchmarks._browser import (
    bench_state,
    init_script,
    log_in_through_the_form,
    main_thread_summary,
    profile,
    wait_for,
    wait_up_to_date,
)
from benchmarks._util import summary
from server.testing import PASSWORD, seeded_server

PEERS = 20
UNREAD = """(cid) => {
  const item = document.querySelector(
    `[data-testid="conversation-item"][data-conversation-id="${cid}"]`);
  return Boolean(item) && item.dataset.unread !== "0";
}"""
CLEARED = """(cid) => {
  const bench = window.__tmBench;
  const [dom, painted] = [bench.cleared[cid], bench.clearedPainted[cid]];
  return dom && painted ? { dom, painted } : null;
}"""
MARK_READ = """async (cid) => {
  const now = () => performance.timeOrigin + performance.now();
  const start = now();
  await window.IMSDK.markConversationMessageAsRead(cid);
  return { start, resolved: now() };
}"""
FORGET = """(cid) => {
  delete window.__tmBench.cleared[cid];
  delete window.__tmBench.clearedPainted[cid];
}"""


def run(tiny: bool) -> dict[str, Any]:
    conversation_count = 20 if tiny else 200
    operations = 10 if tiny else 200
    with seeded_server(conversation_count, conversation_count * 5) as (server, seeded):
        result = asyncio.run(
            _measure(
                server.url,
                seeded.peers[: min(PEERS, conversation_count)],
                seeded.conversation_ids,
                seeded.total_unread,
                operations,
            )
        )
    return {
        "conversations": conversation_count,
        **result,
        "targets": {"same_tab_p99_ms": 50, "second_device_p99_ms": 100},
    }


async def _measure(
    base: str, peers: list[str], conversation_ids: list[str], total: int, operations: int
) -> dict[str, Any]:
    transport = HttpTransport(base, timeout=60)
    senders = [TidemarkClient(transport, MemoryStore()) for _ in peers]
    await asyncio.gather(*(c.login(p, PASSWORD) for c, p in zip(senders, peers, strict=True)))
    same, same_painted, other, other_painted, resolved = [], [], [], [], []
    try:
        async with async_playwright() as playwright:
            script = init_script(watch_badges=True)
            async with profile(playwright, script) as a, profile(playwright, script) as b:
                tab, device = await a.page(), await b.page()
                for page in (tab, device):
                    await log_in_through_the_form(page, base, "me")
                for page in (tab, device):
                    await wait_up_to_date(page, total)
                for i in range(operations):
                    sender = senders[i % len(senders)]
                    cid = conversation_ids[i % len(senders)]
                    message = await sender.create_text_message(f"unread {i}")
                    await sender.send_message(message, recv_id="me")
                    for page in (tab, device):
                        await wait_for(page, UNREAD, 60, arg=cid)
                        await page.evaluate(FORGET, cid)
                    call = await tab.evaluate(MARK_READ, cid)
                    seen_tab = await wait_for(tab, CLEARED, 60, arg=cid)
                    seen_device = await wait_for(device, CLEARED, 60, arg=cid)
                    same.append(seen_tab["dom"] - call["start"])
                    same_painted.append(seen_tab["painted"] - call["start"])
                    other.append(seen_device["dom"] - call["start"])
                    other_painted.append(seen_device["painted"] - call["start"])
                    resolved.append(call["resolved"] - call["start"])
                main_thread = {
                    "tab": _main_thread(await bench_state(tab)),
                    "device": _main_thread(await bench_state(device)),
                }
    finally:
        await asyncio.gather(*(c.close() for c in senders))
        await transport.aclose()
    return {
        "operations": operations,
        "same_tab_ms": summary(same),
        "same_tab_painted_ms": summary(same_painted),
        "second_device_ms": summary(other),
        "second_device_painted_ms": summary(other_painted),
        "resolved_ms": summary(resolved),
        "main_thread": main_thread,
    }


def _main_thread(state: dict[str, Any]) -> dict[str, Any]:
    summary_ = main_thread_summary(state)
    summary_.pop("tasks")
    return summary_
