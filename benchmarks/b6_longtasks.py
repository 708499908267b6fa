"""B6: long tasks on the page's main thread (over 50 ms, PerformanceObserver "longtask").

A user with 10,000 conversations (every fifth one unread):

- ``login``: an empty profile opens the page (boot: up to the login form) and logs in
  through the form; the first sync is a full snapshot of every conversation;
- ``reload``: the same profile reloads: the cached list is painted, then an
  incremental sync.

Each case splits its long tasks at the moment Pyodide has booted (the worker's
``sdkImported`` step, on the page's clock): before it is "boot", after it is "sync"
(up to a quiet second after the true total is shown). The target: no long task over
50 ms once Pyodide has booted. ``where_ms`` says where the long animation frames spent
their time (script by file and function; style, layout and paint).
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, async_playwright

from benchmarks._browser import (
    bench_state,
    boot_timings,
    init_script,
    log_in_through_the_form,
    main_thread_summary,
    profile,
    wait_for,
)
from server.testing import seeded_server

QUIET_MS = 1000
TRUE_TOTAL = "() => window.__tmBench?.marks.trueTotal"


def run(tiny: bool) -> dict[str, Any]:
    conversation_count = 200 if tiny else 10_000
    with seeded_server(conversation_count, conversation_count) as (server, seeded):
        cases = asyncio.run(_measure(server.url, seeded.total_unread))
    return {
        "conversations": conversation_count,
        **cases,
        "target": "no long task over 50 ms after Pyodide has booted",
    }


async def _measure(base: str, total: int) -> dict[str, Any]:
    script = init_script(expected_total=total)
    async with async_playwright() as playwright, profile(playwright, script) as browser:
        page = await browser.page()
        await log_in_through_the_form(page, base, "me")
        login = await _collect(page)
        await page.reload(wait_until="commit")
        reload = await _collect(page)
    return {"login": login, "reload": reload}


async def _collect(page: Page) -> dict[str, Any]:
    await wait_for(page, TRUE_TOTAL, timeout=600)
    await _quiet(page)
    booted = (await boot_timings(page))["sdkImported"] or 0.0
    state = await bench_state(page)
    shown = state["marks"]["trueTotal"]
    return {
        "pyodide_booted_ms": booted,
        "true_total_ms": shown,
        "boot": main_thread_summary(state, 0.0, booted),
        "sync": main_thread_summary(state, booted),
    }


async def _quiet(page: Page) -> None:
    """Wait until the main thread has had no long task for QUIET_MS."""
    await wait_for(
        page,
        """(quiet) => {
          const tasks = window.__tmBench.longTasks;
          const last = tasks.length ? tasks[tasks.length - 1] : null;
          const end = last ? last.start + last.duration : window.__tmBench.marks.trueTotal;
          return performance.now() - end > quiet;
        }""",
        timeout=600,
        arg=QUIET_MS,
    )
