"""OpenIM apps' habits in the browser: ``IMSDK.login`` called the moment ``window.IMSDK``
exists, long before Pyodide has booted (DESIGN.md section 4: a method called before
boot waits for it).

The page here is Tidemark's own, but the calls are made by an init script, as an OpenIM
app would make them, not by the page's controller.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page

from tests.e2e.conftest import DESKTOP, Server
from tests.e2e.driver import PASSWORD, Api

# As soon as imsdk.js sets window.IMSDK: getLoginStatus, then login at once; the answers
# (or rejections) land in window.__habit.
HABIT_SCRIPT = r"""
(() => {
  const credentials = __CREDENTIALS__;
  window.__habit = { statusAtOnce: null, login: null, statusAfter: null, self: null };
  let current;
  Object.defineProperty(window, "IMSDK", {
    configurable: true, enumerable: true,
    get() { return current; },
    set(sdk) {
      current = sdk;
      const habit = window.__habit;
      sdk.getLoginStatus().then((a) => { habit.statusAtOnce = a.data; }, (e) => { habit.statusAtOnce = e; });
      sdk.login(credentials)
        .then(async (answer) => {
          habit.statusAfter = (await sdk.getLoginStatus()).data;
          habit.self = (await sdk.getSelfUserInfo()).data;
          habit.login = answer;
        })
        .catch((error) => { habit.login = { rejected: error }; });
    },
  });
})();
"""


class Tab:
    """A page whose script calls IMSDK.login at once, and its uncaught errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def habit(self) -> dict[str, Any]:
        """What the script saw, once login answered (or failed)."""
        self.page.wait_for_function(
            "() => window.__habit && window.__habit.login !== null", timeout=60_000
        )
        found: dict[str, Any] = self.page.evaluate("() => window.__habit")
        assert self.errors == [], self.errors
        return found


def open_calling_login(context: BrowserContext, server: Server, user_id: str) -> Tab:
    tab = Tab(context.new_page())
    page = tab.page
    credentials = json.dumps({"userID": user_id, "password": PASSWORD})
    page.add_init_script(HABIT_SCRIPT.replace("__CREDENTIALS__", credentials))
    page.goto(server.url + "/")
    return tab


def test_login_on_page_load_waits_for_the_boot_and_the_restored_session(
    new_context: Callable[..., BrowserContext], server: Server, api: Api
) -> None:
    # An OpenIM app calls IMSDK.login as the page loads. With nothing saved it logs in once
    # booted (status 1 meanwhile, never an error); after a reload, logging in again as the
    # same user answers with the restored session; as another user, it switches users.
    api.user("ann", "Ann")
    api.user("ben", "Ben")
    context = new_context(viewport=DESKTOP)

    first = open_calling_login(context, server, "ann")
    seen = first.habit()
    assert seen["login"] == {
        "errCode": 0,
        "errMsg": "",
        "data": {"userID": "ann", "nickname": "Ann"},
    }
    assert seen["statusAtOnce"] == 1  # booting, no saved session
    assert (seen["statusAfter"], seen["self"]["userID"]) == (3, "ann")
    first.page.close()

    again = open_calling_login(context, server, "ann")
    seen = again.habit()
    assert seen["login"] == {
        "errCode": 0,
        "errMsg": "",
        "data": {"userID": "ann", "nickname": "Ann"},
    }
    assert seen["statusAtOnce"] == 2  # a saved session, being restored
    assert (seen["statusAfter"], seen["self"]["userID"]) == (3, "ann")
    ready = again.page.evaluate("() => window.IMSDK.ready.then((a) => a.data)")
    assert (ready["loginStatus"], ready["userID"]) == (3, "ann")
    again.page.close()

    other = open_calling_login(context, server, "ben")
    seen = other.habit()
    assert seen["login"] == {
        "errCode": 0,
        "errMsg": "",
        "data": {"userID": "ben", "nickname": "Ben"},
    }
    assert (seen["statusAfter"], seen["self"]["userID"]) == (3, "ben")
    cached = other.page.evaluate(
        "() => window.IMSDK.getCachedConversationList().then((a) => a.data)"
    )
    assert cached["userID"] == "ben"
    other.page.close()
