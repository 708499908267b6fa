"""Drivers for the end-to-end tests: the HTTP API (other users, the server's truth) and
the page (through its ``data-testid`` contract, DESIGN.md section 4)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

PASSWORD = "correct horse"
PROTOCOL = json.loads(
    (Path(__file__).resolve().parents[2] / "wasm_sdk/tidemark_sdk/protocol.json").read_text("utf-8")
)
SDK_EVENTS = [event["name"] for event in PROTOCOL["sdkEvents"]]

# Runs in every page before its scripts:
# - visibility is under the test's control (window.__tmSetHidden(true/false)), so a test
#   can prove the page marks read only what is visible;
# - every IMSDK event is logged in window.__tmEvents from the moment IMSDK exists, so a
#   test sees what a reload announces while it syncs;
# - every badge and total the page ever shows is sampled (window.__tmSeen), so a test can
#   prove a count never flashed back, not just that it ended right.
INIT_SCRIPT = r"""
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return hidden ? "hidden" : "visible"; } });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return hidden; } });
  window.__tmSetHidden = (value) => {
    hidden = Boolean(value);
    document.dispatchEvent(new Event("visibilitychange"));
  };

  const EVENTS = __SDK_EVENTS__;
  window.__tmEvents = [];
  const hook = (sdk) => {
    if (!sdk || sdk.__tmHooked) return;
    sdk.__tmHooked = true;
    for (const name of EVENTS) {
      sdk.on(name, (arg) => {
        const data = arg && typeof arg === "object" && "errCode" in arg && "data" in arg ? arg.data : arg;
        window.__tmEvents.push({ name, data: JSON.parse(JSON.stringify(data ?? null)), at: performance.now() });
      });
    }
  };
  let current;
  Object.defineProperty(window, "IMSDK", {
    configurable: true, enumerable: true,
    get() { return current; },
    set(value) { current = value; hook(value); },
  });

  // badges/total: the largest value ever shown; whileUpToDate: every distinct set of
  // badges shown while the page said "up to date" (what the page claims is the truth).
  window.__tmSeen = { badges: {}, total: 0, whileUpToDate: [], states: [] };
  let lastUpToDate = "";
  let lastState = "";
  // What the main screen shows now: sync status, header total, tab title and per row its
  // unread badge, "@" badge, mark-unread dot and muted flag (issue 11's test ids); null
  // while the main screen is not shown.
  window.__tmState = () => {
    const total = document.querySelector('[data-testid="total-unread"]');
    const main = document.getElementById("main-screen");
    if (!total || !main || main.hidden) return null;
    const items = {};
    for (const item of document.querySelectorAll('[data-testid="conversation-item"]')) {
      const badge = item.querySelector('[data-testid="unread-badge"]');
      items[item.dataset.conversationId] = {
        unread: badge ? Number(badge.textContent) : 0,
        at: Boolean(item.querySelector('[data-testid="at-badge"]')),
        marked: Boolean(item.querySelector('[data-testid="marked-unread"]')),
        muted: item.dataset.muted === "true",
      };
    }
    const status = document.querySelector('[data-testid="sync-status"]')?.dataset.state ?? "";
    return { status, total: Number(total.textContent) || 0, title: document.title, items };
  };
  const sample = () => {
    const seen = window.__tmSeen;
    // states: every distinct state shown, in order, from the first paint (any status).
    const state = window.__tmState();
    if (state) {
      const key = JSON.stringify(state);
      if (key !== lastState) seen.states.push({ ...state, ms: Math.round(performance.now()) });
      lastState = key;
    }
    const shown = {};
    for (const item of document.querySelectorAll('[data-testid="conversation-item"]')) {
      const badge = item.querySelector('[data-testid="unread-badge"]');
      const value = badge ? Number(badge.textContent) : 0;
      const id = item.dataset.conversationId;
      shown[id] = value;
      seen.badges[id] = Math.max(seen.badges[id] ?? 0, value);
    }
    const total = document.querySelector('[data-testid="total-unread"]');
    const main = document.getElementById("main-screen");
    if (!total || !main || main.hidden) return;
    seen.total = Math.max(seen.total, Number(total.textContent) || 0);
    const status = document.querySelector('[data-testid="sync-status"]')?.dataset.state;
    if (status === "up-to-date") {
      const key = JSON.stringify(shown);
      if (key !== lastUpToDate) seen.whileUpToDate.push(shown);
      lastUpToDate = key;
    } else {
      lastUpToDate = "";
    }
  };
  new MutationObserver(sample).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["hidden", "data-unread", "data-state", "data-muted"] });
})();
""".replace("__SDK_EVENTS__", json.dumps(SDK_EVENTS))

SNAPSHOT = """() => {
  const badges = {};
  for (const item of document.querySelectorAll('[data-testid="conversation-item"]')) {
    const badge = item.querySelector('[data-testid="unread-badge"]');
    badges[item.dataset.conversationId] = badge ? Number(badge.textContent) : 0;
  }
  const total = document.querySelector('[data-testid="total-unread"]');
  return {
    badges,
    total: Number(total.textContent),
    title: document.title,
    status: document.querySelector('[data-testid="sync-status"]').dataset.state,
  };
}"""


# Every record of every object store of every IndexedDB database of the page's origin
# (indexedDB.databases()), as {database: {store: [[key, value], ...]}}; binary values
# (ArrayBuffer, typed arrays, Blobs) are decoded as UTF-8 text, so a string stored in
# any form is found. Each database is opened at its current version and closed at once.
IDB_DUMP = r"""async () => {
  const plain = async (value) => {
    if (value instanceof Blob) return { blob: await value.text() };
    if (value instanceof ArrayBuffer) return { bytes: new TextDecoder().decode(value) };
    if (ArrayBuffer.isView(value)) {
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { bytes: new TextDecoder().decode(bytes) };
    }
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return Promise.all(value.map(plain));
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) out[k] = await plain(v);
      return out;
    }
    return value;
  };
  const request = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const dump = {};
  for (const { name } of await indexedDB.databases()) {
    const db = await request(indexedDB.open(name));
    try {
      dump[name] = {};
      for (const store of Array.from(db.objectStoreNames)) {
        const tx = db.transaction(store, "readonly");
        const keys = await request(tx.objectStore(store).getAllKeys());
        const values = await request(tx.objectStore(store).getAll());
        dump[name][store] = await plain(keys.map((key, i) => [key, values[i]]));
      }
    } finally {
      db.close();
    }
  }
  return dump;
}"""


def single(a: str, b: str) -> str:
    return "si_" + "_".join(sorted((a, b)))


@dataclass
class User:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """The HTTP API as other users and devices use it, and as the source of truth."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def close(self) -> None:
        self.http.close()

    def user(self, user_id: str, nickname: str | None = None) -> User:
        """Register (unless already registered) and log in."""
        body = {"userID": user_id, "password": PASSWORD, "nickname": nickname or user_id}
        created = self.http.post("/api/users", json=body)
        assert created.status_code in (201, 409), created.text
        return self.login(user_id)

    def login(self, user_id: str) -> User:
        answer = self.http.post("/api/auth/login", json={"userID": user_id, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return User(user_id, answer.json()["token"])

    def send(
        self,
        sender: User,
        text: str,
        *,
        to: str = "",
        group: str = "",
        at: list[str] | None = None,
        at_info: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Send a text message; with ``at`` (user IDs or "AtAllTag"), an @ message (106)."""
        body: dict[str, Any] = {"clientMsgID": uuid.uuid4().hex, "text": text}
        if to:
            body["recvID"] = to
        else:
            body["groupID"] = group
        if at is not None:
            body["atUserIDList"] = at
        if at_info is not None:
            body["atUsersInfo"] = at_info
        answer = self.http.post("/api/messages", json=body, headers=sender.headers)
        assert answer.status_code == 200, answer.text
        message: dict[str, Any] = answer.json()["message"]
        return message

    def group(self, creator: User, name: str, members: list[str]) -> tuple[str, str]:
        body = {"groupName": name, "memberUserIDs": members}
        answer = self.http.post("/api/groups", json=body, headers=creator.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()["groupID"], answer.json()["conversationID"]

    def mark_read(
        self,
        user: User,
        conversation_id: str,
        *,
        seq: int | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Mark read; ``version``: the record version the client holds (a mark-unread flag
        set at a later version survives it)."""
        body: dict[str, Any] = {}
        if seq is not None:
            body["seq"] = seq
        if version is not None:
            body["version"] = version
        return self._state(user, f"/api/conversations/{conversation_id}/read", body)

    def _post(self, user: User, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(path, json=body, headers=user.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def _state(self, user: User, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(user, path, body)["state"]  # type: ignore[no-any-return]

    def settings(self, user: User, conversation_id: str, **fields: Any) -> dict[str, Any]:
        """recvMsgOpt (0, 2), isPinned, groupAtType (0: reset the mentions)."""
        return self._state(user, f"/api/conversations/{conversation_id}/settings", fields)

    def mute(self, user: User, conversation_id: str, muted: bool = True) -> dict[str, Any]:
        return self.settings(user, conversation_id, recvMsgOpt=2 if muted else 0)

    def mark_unread(self, user: User, conversation_id: str) -> dict[str, Any]:
        return self._state(user, f"/api/conversations/{conversation_id}/unread", {})

    def read_all(self, user: User, version: int | None = None) -> dict[str, Any]:
        body = {} if version is None else {"version": version}
        return self._state(user, "/api/conversations/read-all", body)

    def hide(self, user: User, conversation_id: str) -> dict[str, Any]:
        return self._state(user, f"/api/conversations/{conversation_id}/hide", {})

    def revoke(self, user: User, conversation_id: str, client_msg_id: str) -> dict[str, Any]:
        """``{"state": …, "message": the tombstone}``."""
        path = f"/api/conversations/{conversation_id}/revoke"
        return self._post(user, path, {"clientMsgID": client_msg_id})

    def history(self, user: User, conversation_id: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"/api/conversations/{conversation_id}/messages", headers=user.headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["messages"]  # type: ignore[no-any-return]

    def sync(self, user: User, *, epoch: str = "", version: int | None = None) -> dict[str, Any]:
        """A full snapshot, or (with ``epoch`` and ``version``) what changed since."""
        params: dict[str, Any] = {}
        if epoch:
            params["epoch"] = epoch
        if version is not None:
            params["version"] = version
        answer = self.http.get("/api/sync", params=params, headers=user.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def record(self, user: User, conversation_id: str) -> dict[str, Any]:
        """The server's conversation record of ``user`` (from a full snapshot)."""
        (found,) = [
            c for c in self.sync(user)["conversations"] if c["conversationID"] == conversation_id
        ]
        return found  # type: ignore[no-any-return]

    def truth(self, user: User) -> tuple[dict[str, int], int]:
        """The server's unread count per conversation and in total, for ``user``."""
        snapshot = self.sync(user)
        badges = {c["conversationID"]: c["unreadCount"] for c in snapshot["conversations"]}
        return badges, snapshot["totalUnreadCount"]


class App:
    """The page, driven through its test ids."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console: list[str] = []
        self.page_errors: list[str] = []  # uncaught exceptions in the page: always a bug
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", self._page_error)
        page.add_init_script(INIT_SCRIPT)

    def _page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))
        self.console.append(f"pageerror: {error}")

    @property
    def context(self) -> Any:
        return self.page.context

    # -- navigation and login ---------------------------------------------------------

    def goto(self) -> None:
        self.page.goto(self.base_url + "/")
        self.wait_booted()

    def reload(self) -> None:
        self.page.reload()
        self.wait_booted()

    def wait_booted(self) -> None:
        """Wait until the page has left its loading screen (login form or main view)."""
        app = self.page.locator("#app:not([data-view=boot])")
        expect(app).to_be_attached()
        if app.get_attribute("data-view") == "failed":
            banner = self.page.get_by_test_id("error-banner").text_content()
            raise AssertionError(f"the page did not start: {banner}\n" + "\n".join(self.console))

    def sign_up(self, user_id: str, password: str = PASSWORD) -> None:
        form = self.page.get_by_test_id("login-form")
        expect(form).to_be_visible()
        form.get_by_test_id("login-mode-toggle").click()
        self._submit_login(user_id, password)

    def log_in(self, user_id: str, password: str = PASSWORD) -> None:
        expect(self.page.get_by_test_id("login-form")).to_be_visible()
        self._submit_login(user_id, password)

    def _submit_login(self, user_id: str, password: str) -> None:
        form = self.page.get_by_test_id("login-form")
        form.get_by_test_id("login-user-id").fill(user_id)
        form.get_by_test_id("login-password").fill(password)
        form.get_by_test_id("login-submit").click()
        self.wait_up_to_date()

    def wait_up_to_date(self) -> None:
        expect(self.page.get_by_test_id("sync-status")).to_have_attribute(
            "data-state", "up-to-date"
        )

    # -- counts -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self.page.evaluate(SNAPSHOT)  # type: ignore[no-any-return]

    def expect_counts(self, badges: dict[str, int], total: int, timeout: float = 20) -> None:
        """Wait until the page shows exactly these badges (every listed conversation, no
        other), this total in the header and in the title."""
        title = f"({total}) Tidemark" if total else "Tidemark"
        deadline = time.monotonic() + timeout
        while True:
            shown = self.snapshot()
            if shown["badges"] == badges and shown["total"] == total and shown["title"] == title:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"page shows {json.dumps(shown)}; expected badges {badges}, total {total}"
                    f"\nconsole:\n" + "\n".join(self.console[-40:])
                )
            self.page.wait_for_timeout(100)

    def sdk_total(self) -> int:
        answer = self.page.evaluate("() => window.IMSDK.getTotalUnreadMsgCount()")
        return int(answer["data"])

    def sdk_conversations(self) -> dict[str, int]:
        answer = self.page.evaluate("() => window.IMSDK.getAllConversationList()")
        return {c["conversationID"]: c["unreadCount"] for c in answer["data"]}

    def seen(self) -> dict[str, Any]:
        """The largest badge per conversation and total the page has shown since load."""
        return self.page.evaluate("() => window.__tmSeen")  # type: ignore[no-any-return]

    def events(self, name: str) -> list[Any]:
        return self.page.evaluate(  # type: ignore[no-any-return]
            "(name) => window.__tmEvents.filter((e) => e.name === name).map((e) => e.data)", name
        )

    def set_hidden(self, hidden: bool) -> None:
        self.page.evaluate("(hidden) => window.__tmSetHidden(hidden)", hidden)

    # -- conversations ----------------------------------------------------------------

    def item(self, conversation_id: str) -> Any:
        return self.page.locator(
            f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]'
        )

    def open(self, conversation_id: str) -> None:
        self.item(conversation_id).click()
        expect(self.page.get_by_test_id("message-list")).to_have_attribute("data-loaded", "true")

    def back(self) -> None:
        self.page.get_by_test_id("back-button").click()

    def mark_read(self) -> None:
        self.page.get_by_test_id("mark-read-button").click()

    def send(self, text: str) -> None:
        self.page.get_by_test_id("message-input").fill(text)
        self.page.get_by_test_id("send-button").click()

    def error_banner(self) -> Any:
        return self.page.get_by_test_id("error-banner")

    # -- issue 11: conversation menu, mark all read, what the page shows, IndexedDB -----

    def conversation_menu(self, conversation_id: str, action: str) -> None:
        """Choose ``action`` (``menu-mute``, ``menu-pin``, ``menu-mark-unread``,
        ``menu-hide``) in the conversation's menu."""
        self.item(conversation_id).get_by_test_id("conversation-menu-button").click()
        choice = self.page.get_by_test_id(action)
        expect(choice).to_be_visible()
        choice.click()

    def mark_all_read(self) -> None:
        self.page.get_by_test_id("mark-all-read").click()

    def state(self) -> dict[str, Any] | None:
        """What the main screen shows now (``window.__tmState``): status, total, title
        and per conversation ``{unread, at, marked, muted}``; None off the main screen."""
        return self.page.evaluate("() => window.__tmState()")  # type: ignore[no-any-return]

    def states(self) -> list[dict[str, Any]]:
        """Every distinct state shown since the page loaded, in order (any status), each
        with ``ms``: when it was first shown (performance.now(), ms since navigation)."""
        return self.page.evaluate("() => window.__tmSeen.states")  # type: ignore[no-any-return]

    def expect_state(self, expected: dict[str, Any], timeout: float = 20) -> None:
        """Wait until the page shows ``expected`` (total, title, items; see ``shown``)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            shown = None if state is None else {k: v for k, v in state.items() if k != "status"}
            if shown == expected:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"page shows {json.dumps(state)}\nexpected   {json.dumps(expected)}"
                    "\nconsole:\n" + "\n".join(self.console[-40:])
                )
            self.page.wait_for_timeout(100)

    def indexeddb(self) -> dict[str, Any]:
        """Every record of every IndexedDB database of the page's origin."""
        return self.page.evaluate(IDB_DUMP)  # type: ignore[no-any-return]


def shown(
    badges: dict[str, int],
    total: int,
    *,
    at: frozenset[str] | set[str] = frozenset(),
    marked: frozenset[str] | set[str] = frozenset(),
    muted: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """The state the page should show (``App.state`` without the status): exactly these
    rows with these unread badges, "@" badges, mark-unread dots and muted flags, this
    total in the header and in the tab title."""
    return {
        "total": total,
        "title": f"({total}) Tidemark" if total else "Tidemark",
        "items": {
            cid: {"unread": n, "at": cid in at, "marked": cid in marked, "muted": cid in muted}
            for cid, n in badges.items()
        },
    }
