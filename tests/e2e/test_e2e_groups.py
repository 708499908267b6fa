"""Groups in the browser: membership, read-only history, receipts and typing, end to end.

Other users act through the HTTP API (the server's truth); the pages are driven through
their test ids (DESIGN.md section 4, and the group ones: ``member-panel``, ``member-item``,
``system-line``, ``read-by``, ``reader-list``, ``typing-line``, ``composer-readonly``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.driver import Api, App, User, single

# Every (sync state, total, badges) the page shows, in order, from its first paint: so a
# test can prove what the page showed as final ("up to date"), not only where it ended.
SHOWN_SCRIPT = r"""
(() => {
  window.__tmShown = [];
  let last = "";
  const sample = () => {
    const main = document.getElementById("main-screen");
    const total = document.querySelector('[data-testid="total-unread"]');
    const status = document.querySelector('[data-testid="sync-status"]');
    if (!main || main.hidden || !total || !status) return;
    const badges = {};
    for (const item of document.querySelectorAll('[data-testid="conversation-item"]')) {
      const badge = item.querySelector('[data-testid="unread-badge"]');
      badges[item.dataset.conversationId] = badge ? Number(badge.textContent) : 0;
    }
    const shown = { status: status.dataset.state, total: Number(total.textContent), badges };
    const key = JSON.stringify(shown);
    if (key !== last) window.__tmShown.push(shown);
    last = key;
  };
  new MutationObserver(sample).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true });
})();
"""


class GroupApi:
    """Group operations as other users do them, over HTTP."""

    def __init__(self, api: Api) -> None:
        self.http = api.http

    def _post(self, user: User, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(path, json=body, headers=user.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def invite(self, user: User, group_id: str, *user_ids: str) -> None:
        self._post(user, f"/api/groups/{group_id}/members", {"userIDList": list(user_ids)})

    def kick(self, user: User, group_id: str, *user_ids: str) -> None:
        self._post(user, f"/api/groups/{group_id}/kick", {"userIDList": list(user_ids)})

    def set_role(self, user: User, group_id: str, user_id: str, role: int) -> None:
        self._post(user, f"/api/groups/{group_id}/role", {"userID": user_id, "roleLevel": role})

    def rename(self, user: User, group_id: str, name: str) -> None:
        answer = self.http.patch(
            f"/api/groups/{group_id}", json={"groupName": name}, headers=user.headers
        )
        assert answer.status_code == 200, answer.text

    def typing(self, user: User, conversation_id: str, focus: bool) -> None:
        self._post(user, f"/api/conversations/{conversation_id}/typing", {"focus": focus})


def logged_in(
    open_app: Callable[..., App], user_id: str, context: BrowserContext | None = None
) -> App:
    app = open_app(context)
    app.log_in(user_id)
    return app


def open_chat(app: App, conversation_id: str) -> None:
    app.open(conversation_id)
    expect(app.page.get_by_test_id("chat-title")).not_to_be_empty()


def read_by(page: Page, text: str) -> Any:
    """The "Read by" line under my message whose text is ``text``."""
    item = page.get_by_test_id("message-item").filter(has_text=text)
    return item.get_by_test_id("read-by")


def test_kicked_while_second_device_closed_opens_with_the_right_total_and_read_only(
    open_app: Callable[..., App],
    new_context: Callable[..., BrowserContext],
    api: Api,
    screenshot: Callable[[Page, str], Path],
) -> None:
    # Bob is removed from a group with 2 unread while his second device is closed: when it
    # opens, the cache (2 + 1) may paint as "syncing", but the first total it calls up to
    # date is already 1 (rule 9, rule 11: a removed member's group adds 0), and the group
    # shows its history read-only, ending at "ann removed bob", with nothing after it.
    groups = GroupApi(api)
    ann, bob, carol = api.user("ann"), api.user("bob"), api.user("carol")
    group_id, conversation = api.group(ann, "Trip", ["bob", "carol"])
    api.send(ann, "first", group=group_id)
    api.send(ann, "second", group=group_id)
    api.send(carol, "psst", to="bob")
    direct = single("bob", "carol")

    first = logged_in(open_app, "bob")
    device = new_context(viewport=DESKTOP)
    device.add_init_script(SHOWN_SCRIPT)
    second = logged_in(open_app, "bob", device)
    second.expect_counts({conversation: 2, direct: 1}, 3)
    second.page.close()  # its IndexedDB cache keeps "2 unread" for the group

    groups.kick(ann, group_id, "bob")
    api.send(ann, "after you left", group=group_id)
    assert api.truth(bob) == ({conversation: 0, direct: 1}, 1)
    first.expect_counts({conversation: 0, direct: 1}, 1)  # the open device, live

    reopened = open_app(device)
    reopened.wait_up_to_date()
    reopened.expect_counts({conversation: 0, direct: 1}, 1, timeout=5)
    shown = reopened.page.evaluate("() => window.__tmShown")
    final = [s for s in shown if s["status"] == "up-to-date"]
    assert final, shown
    assert all(s["total"] == 1 and s["badges"].get(conversation, 0) == 0 for s in final), shown
    assert shown[0]["status"] == "syncing", shown  # the cache did paint first (as syncing)
    row = reopened.item(conversation)
    expect(row).to_have_attribute("data-readonly", "removed")

    open_chat(reopened, conversation)
    page = reopened.page
    expect(page.get_by_test_id("composer-readonly")).to_contain_text("removed from this group")
    expect(page.get_by_test_id("message-input")).to_be_disabled()
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    expect(page.get_by_test_id("system-line").last).to_have_text("ann removed you")
    expect(page.get_by_test_id("message-item")).to_have_count(2)  # first, second
    expect(page.get_by_test_id("message-list")).not_to_contain_text("after you left")
    reopened.expect_counts({conversation: 0, direct: 1}, 1)
    screenshot(page, "groups-read-only")


def test_read_by_rises_as_members_read_live_and_after_reload(
    open_app: Callable[..., App], api: Api, screenshot: Callable[[Page, str], Path]
) -> None:
    # Alice's message in a group of four shows "Read by 0 of 3"; as Bob and then Carol
    # read, it rises to 1 and 2 of 3 without a reload (receipt events), a reload asks the
    # counts again and shows 2 of 3, and the reader list names who read it and who not.
    groups = GroupApi(api)
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    api.user("dave")
    group_id, conversation = api.group(alice, "Trip", ["bob", "carol"])
    groups.invite(alice, group_id, "dave")
    groups.set_role(alice, group_id, "carol", 60)
    groups.rename(alice, group_id, "Hike <b>&</b> bike")
    api.send(bob, "who brings the map?", group=group_id)

    app = logged_in(open_app, "alice")
    open_chat(app, conversation)
    page = app.page
    lines = page.get_by_test_id("system-line")
    expect(lines).to_have_text(
        [
            "You added dave",
            "You made carol an admin",
            "You renamed the group to “Hike <b>&</b> bike”",
        ]
    )
    app.send("I do")
    line = read_by(page, "I do")
    expect(line).to_have_text("Read by 0 of 3")

    api.mark_read(bob, conversation)
    expect(line).to_have_text("Read by 1 of 3")
    api.mark_read(carol, conversation)
    expect(line).to_have_text("Read by 2 of 3")
    screenshot(page, "groups-chat-system-lines-read-by")

    line.click()
    readers = page.get_by_test_id("reader-list")
    expect(readers).to_be_visible()
    expect(readers.get_by_test_id("readers-read").get_by_test_id("reader-item")).to_have_count(2)
    expect(readers.get_by_test_id("readers-unread")).to_contain_text("dave")
    screenshot(page, "groups-reader-list")

    app.reload()
    app.wait_up_to_date()
    open_chat(app, conversation)
    expect(read_by(page, "I do")).to_have_text("Read by 2 of 3")
    expect(read_by(page, "who brings the map?")).to_have_count(0)  # not mine


def test_member_panel_shows_roles_and_changes_only_from_the_server(
    open_app: Callable[..., App], api: Api, screenshot: Callable[[Page, str], Path]
) -> None:
    # The owner's member panel lists members with their roles; adding, making an admin
    # and removing change it only once the server has committed (the new roles and
    # members come back from the SDK, with a system line for each); a refused add (no
    # such user) shows its error in the banner and changes nothing.
    owner = api.user("ann")
    for name in ("ben", "cat", "dan"):
        api.user(name)
    group_id, conversation = api.group(owner, "Crew", ["ben", "cat"])

    app = logged_in(open_app, "ann")
    open_chat(app, conversation)
    page = app.page
    page.get_by_test_id("members-button").click()
    panel = page.get_by_test_id("member-panel")
    expect(panel).to_be_visible()
    items = panel.get_by_test_id("member-item")
    expect(items).to_have_count(3)
    expect(panel.locator('[data-testid=member-item][data-user-id="ann"]')).to_have_attribute(
        "data-role-level", "100"
    )

    panel.get_by_test_id("invite-input").fill("nobody")
    panel.get_by_test_id("invite-button").click()
    expect(app.error_banner()).to_contain_text("nobody")
    expect(items).to_have_count(3)
    page.get_by_test_id("error-dismiss").click()

    panel.get_by_test_id("invite-input").fill("dan")
    panel.get_by_test_id("invite-button").click()
    expect(items).to_have_count(4)
    cat = panel.locator('[data-testid=member-item][data-user-id="cat"]')
    cat.get_by_test_id("member-make-admin").click()
    expect(cat).to_have_attribute("data-role-level", "60")
    ben = panel.locator('[data-testid=member-item][data-user-id="ben"]')
    ben.get_by_test_id("member-remove").click()
    ben.get_by_test_id("member-remove").click()  # confirm
    expect(ben).to_have_count(0)
    expect(page.get_by_test_id("system-line")).to_have_text(
        [
            "You added dan",
            "You made cat an admin",
            "You removed ben",
        ]
    )
    expect(page.locator("#chat-sub")).to_have_text("Group · 3 members")
    screenshot(page, "groups-member-panel")
    page.set_viewport_size(PHONE)
    expect(panel).to_be_visible()
    screenshot(page, "groups-member-panel-phone")


def test_typing_shows_on_the_other_page_and_goes_after_stop_or_expiry(
    open_app: Callable[..., App], new_context: Callable[..., BrowserContext], api: Api
) -> None:
    # Alice types in a group: Bob's page says so; Carol's typing joins it; Alice's send
    # ends hers at once (focus false), and Carol's, never stopped, goes on its own after
    # the server's 5 s (rule 17: ephemeral, expires by itself).
    groups = GroupApi(api)
    alice, carol = api.user("alice"), api.user("carol")
    api.user("bob")
    group_id, conversation = api.group(alice, "Trip", ["bob", "carol"])
    api.send(alice, "hi all", group=group_id)

    typist = logged_in(open_app, "alice")
    reader = logged_in(open_app, "bob")
    open_chat(typist, conversation)
    open_chat(reader, conversation)
    line = reader.page.get_by_test_id("typing-line")
    expect(line).to_be_hidden()

    typist.page.get_by_test_id("message-input").press_sequentially("on my w")
    expect(line).to_have_text("alice is typing…")
    groups.typing(carol, conversation, True)
    started = time.monotonic()
    expect(line).to_have_text("alice and carol are typing…")

    typist.page.get_by_test_id("message-input").press_sequentially("ay")
    typist.page.get_by_test_id("send-button").click()
    expect(line).to_have_text("carol is typing…", timeout=3_000)  # before any expiry
    assert time.monotonic() - started < 4.5
    expect(reader.page.get_by_test_id("message-item").last).to_contain_text("on my way")

    expect(line).to_be_hidden(timeout=10_000)
    assert time.monotonic() - started > 4.0, "carol's typing went before it expired"
