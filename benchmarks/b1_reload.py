"""B1: reload to the correct count, in headless Chromium.

A user with 200 conversations (every fifth one unread) reloads the page. Measured on the
page's clock from the start of the navigation:

- (a) ``list``: the first paint of the conversation list (warm: the IndexedDB cache,
  marked as syncing; cold: there is no cache, so it is the synced list);
- (b) ``total``: the page shows the server's true total with "up to date".

Warm: one persistent profile, logged in once, then reloaded (HTTP cache, compiled wasm and
IndexedDB filled; a few unmeasured reloads first so the compiled-code cache is in).
Cold: a new empty profile per run holding only the saved session (written straight into
IndexedDB), so the page restores it as after a reload, with nothing else cached.

Each run is split into steps (``IMSDK.getBootTimings()`` and the page's marks):
page (navigation → worker created), worker start, Pyodide boot (its JS modules and
``loadPyodide``), SDK import (the wheel and ``import``), sync (session restore and the
first sync) and render (→ true total on screen). Warm reloads boot Pyodide from the
worker's memory snapshot (``snapshot``: "restored"; the SDK is imported in it, so "sdk
import" is only creating the client); cold ones boot in full and store it ("made").
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from playwright.async_api import Page, async_playwright

from benchmarks._browser import (
    bench_state,
    boot_timings,
    init_script,
    log_in_through_the_form,
    main_thread_summary,
    profile,
    save_session,
    wait_for,
    wait_up_to_date,
)
from benchmarks._util import summary
from server.testing import seeded_server

WARMUP_RELOADS = 3
STEPS = ("page", "worker start", "pyodide boot", "sdk import", "sync", "render")
DONE = "() => { const m = window.__tmBench?.marks; return m && m.trueTotal && m.listPainted; }"


def run(tiny: bool) -> dict[str, Any]:
    conversation_count = 20 if tiny else 200
    runs = 2 if tiny else 10
    with seeded_server(conversation_count, conversation_count * 5) as (server, seeded):
        cases = asyncio.run(_measure(server.url, seeded.total_unread, runs, tiny))
    return {
        "conversations": conversation_count,
        "total_unread": seeded.total_unread,
        **cases,
        "targets": {"warm_list_ms": 300, "warm_total_ms": 1500},
    }


async def _measure(base: str, total: int, runs: int, tiny: bool) -> dict[str, Any]:
    async with async_playwright() as playwright:
        script = init_script(expected_total=total)
        warm: list[dict[str, Any]] = []
        async with profile(playwright, script) as browser:
            page = await browser.page()
            await log_in_through_the_form(page, base, "me")
            await wait_up_to_date(page, total)
            for i in range((1 if tiny else WARMUP_RELOADS) + runs):
                await page.reload(wait_until="commit")
                sample = await _sample(page)
                if i >= (1 if tiny else WARMUP_RELOADS):
                    warm.append(sample)
        cold: list[dict[str, Any]] = []
        for _ in range(runs):
            async with profile(playwright, script) as browser:
                page = await browser.page()
                await save_session(page, base, "me")
                await page.goto(base + "/", wait_until="commit")
                cold.append(await _sample(page))
    return {"warm": _report(warm), "cold": _report(cold)}


async def _sample(page: Page) -> dict[str, Any]:
    await wait_for(page, DONE, timeout=180)
    steps = await boot_timings(page)
    state = await bench_state(page)
    marks = state["marks"]
    sync_start = next((e["at"] for e in state["events"] if e["name"] == "OnSyncServerStart"), None)

    def span(start: float | None, end: float | None) -> float:
        return (end - start) if start is not None and end is not None else float("nan")

    return {
        "list_ms": marks["listPainted"],
        "list_from_cache": marks["listSyncing"],
        "snapshot": steps["snapshot"],
        "total_ms": marks["trueTotal"],
        "steps_ms": {
            "page": span(0.0, steps["workerSpawned"]),
            "worker start": span(steps["workerSpawned"], steps["scriptStart"]),
            "pyodide boot": span(steps["scriptStart"], steps["pyodideLoaded"]),
            "sdk import": span(steps["pyodideLoaded"], steps["sdkImported"]),
            "sync": span(steps["sdkImported"], steps["restored"]),
            "render": span(steps["restored"], marks["trueTotal"]),
        },
        "detail_ms": {
            "modules": span(steps["scriptStart"], steps["modulesLoaded"]),
            "loadPyodide": span(steps["modulesLoaded"], steps["pyodideLoaded"]),
            "package": span(steps["pyodideLoaded"], steps["packageLoaded"]),
            "import": span(steps["packageLoaded"], steps["sdkImported"]),
            "sync request+apply": span(sync_start, steps["restored"]),
            "cached list answered": steps["cachedListAnswered"] or float("nan"),
        },
        "boot": steps,
        "main_thread": main_thread_summary(state),
    }


def _report(samples: list[dict[str, Any]]) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        values = [v for v in values if v == v]
        return statistics.median(values) if values else float("nan")

    return {
        "list_ms": summary([s["list_ms"] for s in samples]),
        "total_ms": summary([s["total_ms"] for s in samples]),
        "list_from_cache": all(s["list_from_cache"] for s in samples),
        "snapshot": sorted({str(s["snapshot"]) for s in samples}),
        "steps_median_ms": {k: med([s["steps_ms"][k] for s in samples]) for k in STEPS},
        "detail_median_ms": {
            k: med([s["detail_ms"][k] for s in samples]) for k in samples[0]["detail_ms"]
        },
        "long_tasks_max_ms": max(s["main_thread"]["max_ms"] for s in samples),
        "samples": samples,
    }
