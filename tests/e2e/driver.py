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
  window.__tmSeen = { badges: {}, total: 0, whileUpToDate: [] };
  let lastUpToDate = "";
  const sample = () => {
    const seen = window.__tmSeen;
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
    attributeFilter: ["hidden", "data-unread", "data-state"] });
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

    def send(self, sender: User, text: str, *, to: str = "", group: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"clientMsgID": uuid.uuid4().hex, "text": text}
        if to:
            body["recvID"] = to
        else:
            body["groupID"] = group
        answer = self.http.post("/api/messages", json=body, headers=sender.headers)
        assert answer.status_code == 200, answer.text
        message: dict[str, Any] = answer.json()["message"]
        return message

    def group(self, creator: User, name: str, members: list[str]) -> tuple[str, str]:
        body = {"groupName": name, "memberUserIDs": members}
        answer = self.http.post("/api/groups", json=body, headers=creator.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()["groupID"], answer.json()["conversationID"]

    def mark_read(self, user: User, conversation_id: str) -> dict[str, Any]:
        answer = self.http.post(
            f"/api/conversations/{conversation_id}/read", json={}, headers=user.headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["state"]  # type: ignore[no-any-return]

    def sync(self, user: User) -> dict[str, Any]:
        answer = self.http.get("/api/sync", headers=user.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

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
