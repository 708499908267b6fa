"""Shared pieces of the browser benchmarks (B1, B2, B6): Chromium through Playwright.

Everything is timed inside the page, on the page's own clock (``performance.now()``, 0 =
the navigation's start), by an init script that runs before the page's scripts:

- ``__tmBench.marks``: first paint of the conversation list (``listPainted``, with
  ``listSyncing``: whether the list was marked as syncing, i.e. painted from the cache)
  and the true total shown (``trueTotal``: ``total-unread`` equals the server's total
  and ``sync-status`` says up to date). A mark is the time of the first frame after the
  DOM change (requestAnimationFrame, then a message: after that frame's paint), and
  ``*Dom`` the DOM change itself (a MutationObserver, no page edits needed);
- ``__tmBench.events``: every IMSDK event's arrival (name, time), from the moment
  ``window.IMSDK`` exists;
- ``__tmBench.longTasks``: main-thread long tasks (PerformanceObserver ``longtask``,
  over 50 ms) and ``__tmBench.frames``: long animation frames with the scripts that ran
  in them (``long-animation-frame``), for saying where the time went;
- ``__tmBench.cleared``: per conversation, when its badge last went from a number to 0
  (absolute ms, ``performance.timeOrigin + performance.now()``: comparable across
  pages), and ``clearedPainted``: the first frame after that.

The worker's boot steps come from ``IMSDK.getBootTimings()`` (web/imsdk.js).

Warm loads need a persistent profile (``launch_persistent_context``): incognito
contexts keep no compiled-wasm cache, and request routing turns the HTTP cache off, so
nothing here routes requests.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, Playwright, ViewportSize

from server.testing import CHROMIUM_ARGS, PASSWORD, SYSTEM_CHROMIUM

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

INIT_SCRIPT = r"""
(() => {
  const config = __CONFIG__;
  const bench = (window.__tmBench = {
    config, marks: {}, events: [], longTasks: [], frames: [], cleared: {}, clearedPainted: {},
    errors: [],
  });
  const now = () => performance.now();
  const abs = () => performance.timeOrigin + performance.now();
  // The first frame after `at`: rAF runs before the frame's paint, the message after it.
  const afterPaint = (callback) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => callback(now());
    channel.port2.postMessage(null);
  });
  const mark = (name, extra) => {
    if (name in bench.marks) return;
    bench.marks[name] = null;
    bench.marks[`${name}Dom`] = now();
    Object.assign(bench.marks, extra ?? {});
    afterPaint((at) => {
      bench.marks[name] = at;
      performance.mark(`tidemark:${name}`, { startTime: at });
    });
  };

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        bench.longTasks.push({ start: e.startTime, duration: e.duration });
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (error) { bench.errors.push(String(error)); }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        bench.frames.push({
          start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
          render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
          scripts: (e.scripts ?? []).map((s) => ({
            duration: s.duration, invoker: s.invoker, source: s.sourceURL,
            fn: s.sourceFunctionName, forcedLayout: s.forcedStyleAndLayoutDuration,
          })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch (error) { bench.errors.push(String(error)); }

  const EVENTS = ["OnConnecting", "OnConnectSuccess", "OnConnectFailed", "OnUserTokenExpired",
    "OnSyncServerStart", "OnSyncServerFinish", "OnSyncServerFailed", "OnNewConversation",
    "OnConversationChanged", "OnTotalUnreadMessageCountChanged", "OnRecvNewMessages",
    "OnRecvC2CReadReceipt"];
  let current;
  Object.defineProperty(window, "IMSDK", {
    configurable: true, enumerable: true,
    get() { return current; },
    set(value) {
      current = value;
      for (const name of EVENTS) value.on(name, () => bench.events.push({ name, at: now() }));
    },
  });

  // Page marks, by watching the DOM through its data-testid contract.
  const check = () => {
    const main = document.getElementById("main-screen");
    if (!main || main.hidden) return;
    if (!("listPainted" in bench.marks)) {
      const item = document.querySelector('[data-testid="conversation-item"]');
      if (item) {
        const list = document.querySelector('[data-testid="conversation-list"]');
        mark("listPainted", {
          listSyncing: list?.dataset.syncing === "true",
          listItems: document.querySelectorAll('[data-testid="conversation-item"]').length,
        });
      }
    }
    if (!("trueTotal" in bench.marks) && config.expectedTotal !== null) {
      const total = document.querySelector('[data-testid="total-unread"]');
      const status = document.querySelector('[data-testid="sync-status"]');
      if (total && status && status.dataset.state === "up-to-date"
          && Number(total.textContent) === config.expectedTotal) {
        mark("trueTotal");
      }
    }
  };
  const badges = (records) => {
    for (const record of records) {
      const item = record.target;
      if (record.attributeName === "data-unread" && item.dataset?.unread === "0"
          && record.oldValue !== "0") {
        const id = item.dataset.conversationId;
        bench.cleared[id] = abs();
        afterPaint((at) => { bench.clearedPainted[id] = performance.timeOrigin + at; });
      }
    }
  };
  new MutationObserver((records) => {
    if (config.watchBadges) badges(records);
    check();
  }).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeOldValue: true, attributeFilter: ["hidden", "data-state", "data-unread"],
  });
})();
"""


def chromium_options() -> dict[str, Any]:
    options: dict[str, Any] = {"headless": True, "args": CHROMIUM_ARGS}
    if SYSTEM_CHROMIUM.exists():
        options["executable_path"] = str(SYSTEM_CHROMIUM)
    return options


def init_script(expected_total: int | None = None, watch_badges: bool = False) -> str:
    config = {"expectedTotal": expected_total, "watchBadges": watch_badges}
    return INIT_SCRIPT.replace("__CONFIG__", json.dumps(config))


class Profile:
    """A persistent Chromium profile (its own HTTP cache, IndexedDB, compiled code)."""

    def __init__(self, context: BrowserContext, directory: Path) -> None:
        self.context = context
        self.directory = directory
        self.console: list[str] = []

    async def page(self) -> Page:
        page = self.context.pages[0] if self.context.pages else await self.context.new_page()
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        return page


@asynccontextmanager
async def profile(
    playwright: Playwright, script: str, directory: Path | None = None
) -> AsyncIterator[Profile]:
    """A fresh (or the given) profile directory in its own Chromium; ``script`` runs in
    every page before the page's scripts."""
    owned = directory is None
    folder = Path(tempfile.mkdtemp(prefix="tidemark-profile-")) if owned else directory
    assert folder is not None
    context = await playwright.chromium.launch_persistent_context(
        str(folder), viewport=VIEWPORT, **chromium_options()
    )
    try:
        await context.add_init_script(script)
        yield Profile(context, folder)
    finally:
        await context.close()
        if owned:
            shutil.rmtree(folder, ignore_errors=True)


async def wait_for(
    page: Page, expression: str, timeout: float = 120, what: str = "", arg: Any = None
) -> Any:
    """Poll a JS expression (a function of ``arg``) in the page until it is truthy."""
    handle = await page.wait_for_function(expression, arg=arg, timeout=timeout * 1000, polling=20)
    value = await handle.json_value()
    await handle.dispose()
    return value


async def log_in_through_the_form(page: Page, base_url: str, user_id: str) -> None:
    """Open the page on an empty profile and log in with the page's own form."""
    await page.goto(base_url + "/")
    form = page.get_by_test_id("login-form")
    await form.wait_for(state="visible", timeout=120_000)
    await form.get_by_test_id("login-user-id").fill(user_id)
    await form.get_by_test_id("login-password").fill(PASSWORD)
    await form.get_by_test_id("login-submit").click()


async def wait_up_to_date(page: Page, expected_total: int, timeout: float = 300) -> None:
    await wait_for(
        page,
        """(total) => {
          const t = document.querySelector('[data-testid="total-unread"]');
          const s = document.querySelector('[data-testid="sync-status"]');
          return t && s && s.dataset.state === "up-to-date" && Number(t.textContent) === total;
        }""",
        timeout,
        arg=expected_total,
    )


async def save_session(page: Page, base_url: str, user_id: str) -> None:
    """Log ``user_id`` in over HTTP and write the session where the SDK keeps it
    (web/idb-store.js: database "tidemark", store "session", key "current"), so the next
    load of the page restores it, as after a reload, with nothing else in the profile."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        answer = await http.post("/api/auth/login", json={"userID": user_id, "password": PASSWORD})
        answer.raise_for_status()
        login = answer.json()
    session = {
        "userID": login["userID"],
        "nickname": login["nickname"],
        "token": login["token"],
        "expiresAt": login["expiresAt"],
    }
    await page.goto(base_url + "/build.json")  # same origin, none of the page's assets
    await page.evaluate(
        """(session) => new Promise((resolve, reject) => {
          const open = indexedDB.open("tidemark", 1);
          open.onupgradeneeded = () => open.result.createObjectStore("session");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction("session", "readwrite");
            tx.objectStore("session").put(session, "current");
            tx.oncomplete = () => { db.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
          };
        })""",
        session,
    )


async def boot_timings(page: Page) -> dict[str, float | None]:
    answer = await page.evaluate("() => window.IMSDK.getBootTimings()")
    return answer["data"]  # type: ignore[no-any-return]


async def bench_state(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.__tmBench")  # type: ignore[no-any-return]


async def timed(step: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await step()
    return (time.perf_counter() - start) * 1000


def main_thread_summary(
    state: dict[str, Any], since: float = 0.0, until: float | None = None
) -> dict[str, Any]:
    """Long tasks in [since, until): count, longest, total; and where the long animation
    frames spent their script time (by source file and function)."""
    tasks = [
        t
        for t in state["longTasks"]
        if t["start"] >= since and (until is None or t["start"] < until)
    ]
    frames = [
        f for f in state["frames"] if f["start"] >= since and (until is None or f["start"] < until)
    ]
    where: dict[str, float] = {}
    for frame in frames:
        accounted = 0.0
        for script in frame["scripts"]:
            source = (script["source"] or "").rsplit("/", 1)[-1].split("?")[0] or "?"
            key = f"{source}:{script['fn'] or script['invoker'] or '?'}"
            where[key] = where.get(key, 0.0) + script["duration"]
            accounted += script["duration"]
        where["(style, layout, paint)"] = where.get("(style, layout, paint)", 0.0) + frame["render"]
    top = sorted(where.items(), key=lambda kv: -kv[1])[:6]
    return {
        "count": len(tasks),
        "max_ms": max((t["duration"] for t in tasks), default=0.0),
        "total_ms": sum(t["duration"] for t in tasks),
        "tasks": [{"start": round(t["start"], 1), "ms": round(t["duration"], 1)} for t in tasks],
        "where_ms": {k: round(v, 1) for k, v in top},
    }


def run_async(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]
