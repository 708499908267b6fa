"""Look at issue 11's page against a running server: seed a few conversations over the
HTTP API, log in as alice in Debian's Chromium, and take screenshots (desktop and phone)
of the list (muted, pinned, @, marked unread, draft, tombstone) and of a group chat
(mentions, the @ picker, the message menu, a tombstone).

Not a test (pytest does not collect it). Run, with `tidemark serve --port 8011` up on an
empty database:

    .venv/bin/python tests/web/look.py --base-url http://127.0.0.1:8011 --out /tmp/page11
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.testing.browser import CHROMIUM_ARGS, SYSTEM_CHROMIUM  # noqa: E402
from tests.e2e.driver import PASSWORD, Api, single  # noqa: E402


def seed(api: Api) -> dict[str, str]:
    alice = api.user("alice", "Alice")
    bob = api.user("bob", "Bob Baker")
    carol = api.user("carol", "Carol")
    dan = api.user("dan", "Dan")
    erin = api.user("erin", "Erin")
    api.send(alice, "hi Dan", to="dan")
    api.send(dan, "see you at 5", to="alice")
    api.mark_read(alice, single("alice", "dan"))
    api.mark_unread(alice, single("alice", "dan"))
    api.send(erin, "pinned chat", to="alice")
    api.mark_read(alice, single("alice", "erin"))
    api.settings(alice, single("alice", "erin"), isPinned=True)
    api.send(carol, "lunch?", to="alice")
    api.send(carol, "or dinner?", to="alice")
    api.mute(alice, single("alice", "carol"))
    group_id, group = api.group(alice, "Trip", ["bob", "carol"])
    api.send(bob, "booked the train", group=group_id)
    api.send(
        bob,
        "@Alice can you bring the map?",
        group=group_id,
        at=["alice"],
        at_info=[{"atUserID": "alice", "groupNickname": "Alice"}],
    )
    api.send(
        carol,
        "@everyone leaving at 8",
        group=group_id,
        at=["AtAllTag"],
        at_info=[{"atUserID": "AtAllTag", "groupNickname": "everyone"}],
    )
    wrong = api.send(bob, "wrong chat, sorry", group=group_id)
    api.revoke(bob, group, wrong["clientMsgID"])
    api.send(bob, "hello Alice", to="alice")
    oops = api.send(bob, "my secret", to="alice")
    api.revoke(bob, single("alice", "bob"), oops["clientMsgID"])
    return {"group": group, "bob": single("alice", "bob"), "dan": single("alice", "dan")}


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    form = page.get_by_test_id("login-form")
    expect(form).to_be_visible(timeout=60_000)
    form.get_by_test_id("login-user-id").fill("alice")
    form.get_by_test_id("login-password").fill(PASSWORD)
    form.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("sync-status")).to_have_attribute(
        "data-state", "up-to-date", timeout=60_000
    )


def item(page: Page, conversation_id: str) -> Locator:
    return page.locator(
        f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="http://127.0.0.1:8011")
    parser.add_argument("--out", default="/tmp/page11")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    api = Api(args.base_url)
    ids = seed(api)
    errors: list[str] = []
    with sync_playwright() as p:
        exe = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, args.base_url)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "desktop-list.png"))
        # The conversation menu by keyboard: Enter opens it, arrows move, Escape closes it
        # and gives the focus back to its button.
        button = item(page, ids["group"]).get_by_test_id("conversation-menu-button")
        button.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("menu-mute")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_test_id("menu-pin")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("conversation-menu")).to_be_hidden()
        expect(button).to_be_focused()
        expect(button).to_have_attribute("aria-expanded", "false")
        # A draft in Bob's chat.
        item(page, ids["bob"]).click()
        page.get_by_test_id("message-input").fill("half-written reply")
        page.wait_for_timeout(700)
        item(page, ids["group"]).click()
        expect(page.get_by_test_id("message-list")).to_have_attribute("data-loaded", "true")
        page.wait_for_timeout(600)
        page.screenshot(path=str(out / "desktop-group.png"))
        page.get_by_test_id("message-input").fill("")
        page.get_by_test_id("message-input").press_sequentially("thanks @")
        expect(page.get_by_test_id("mention-picker")).to_be_visible()
        page.screenshot(path=str(out / "desktop-picker.png"))
        page.get_by_test_id("mention-option").nth(1).click()
        page.get_by_test_id("message-input").press_sequentially("see you")
        page.get_by_test_id("send-button").click()
        page.wait_for_timeout(800)
        mine = page.locator('[data-testid="message-item"].message--mine').last
        mine.hover()
        mine.get_by_test_id("message-menu-button").click()
        expect(page.get_by_test_id("menu-revoke")).to_be_visible()
        page.screenshot(path=str(out / "desktop-message-menu.png"))
        page.keyboard.press("Escape")
        item(page, ids["group"]).get_by_test_id("conversation-menu-button").click()
        expect(page.get_by_test_id("menu-mute")).to_be_visible()
        page.screenshot(path=str(out / "desktop-conversation-menu.png"))
        page.keyboard.press("Escape")
        print("title:", page.title(), "total:", page.get_by_test_id("total-unread").text_content())

        phone = browser.new_page(
            viewport={"width": 390, "height": 780}, has_touch=True, is_mobile=True
        )
        phone.on("pageerror", lambda e: errors.append(str(e)))
        log_in(phone, args.base_url)
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(out / "phone-list.png"))
        item(phone, ids["dan"]).get_by_test_id("conversation-menu-button").click()
        expect(phone.get_by_test_id("menu-pin")).to_be_visible()
        phone.screenshot(path=str(out / "phone-menu.png"))
        phone.keyboard.press("Escape")
        item(phone, ids["group"]).click()
        expect(phone.get_by_test_id("message-list")).to_have_attribute("data-loaded", "true")
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(out / "phone-group.png"))
        browser.close()
    api.close()
    print("errors:", errors or "none")


if __name__ == "__main__":
    main()
