"""The page's views on a desktop and a phone: login, the list, the chat, sending, history.
Saves screenshots of the main views to artifacts/screenshots/ for a human to look at."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.driver import Api, single

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__owned=1"> & <b>not bold</b>'


@pytest.mark.parametrize("layout", ["desktop", "narrow"])
def test_views_on_desktop_and_phone(api: Api, open_app: Any, screenshot: Any, layout: str) -> None:
    # Intent: sign-up, the list (newest first, badges, total in header and title), the chat (history, sending, starting a chat and a group) work in two panes on a desktop and as two screens on a phone, user text is shown as text, never HTML; screenshots of each view are saved.
    narrow = layout == "narrow"
    bob, carol = api.user("bob", "Bob Marley"), api.user("carol", "Carol King")
    api.user("dave")
    app = open_app(viewport=PHONE if narrow else DESKTOP)
    page = app.page
    screenshot(page, f"{layout}-login")
    app.sign_up("alice")
    expect(page.get_by_test_id("current-user")).to_contain_text("alice")

    group_id, group = api.group(bob, "Weekend trip 🏕️", ["alice", "carol"])
    api.send(carol, "Who brings the tent?", group=group_id)
    api.send(bob, "I can, if someone carries the stove", group=group_id)
    api.send(carol, "hey alice, lunch tomorrow?", to="alice")
    api.send(bob, "Did you see the tide charts?", to="alice")
    api.send(bob, HOSTILE, to="alice")
    with_bob, with_carol = single("alice", "bob"), single("alice", "carol")
    app.expect_counts({group: 2, with_carol: 1, with_bob: 2}, 5)
    items = page.get_by_test_id("conversation-item")
    order = [items.nth(i).get_attribute("data-conversation-id") for i in range(3)]
    assert order == [with_bob, with_carol, group]  # latest message first
    expect(items.first).to_contain_text(HOSTILE)
    expect(page.get_by_test_id("sync-status")).to_have_text("up to date")
    screenshot(page, f"{layout}-list")

    app.open(with_bob)
    messages = page.get_by_test_id("message-item")
    expect(messages).to_have_count(2)
    expect(messages.last).to_contain_text(HOSTILE)
    assert (
        page.locator('[data-testid="message-list"] img, [data-testid="message-list"] b').count()
        == 0
    )
    assert page.evaluate("() => window.__owned") is None
    app.expect_counts({group: 2, with_carol: 1, with_bob: 0}, 3)
    app.send("Yes! High tide at 6:40, low at 12:55.\nPerfect for the walk.")
    expect(messages).to_have_count(3)
    expect(messages.last).to_have_attribute("data-state", "sent")
    expect(messages.last.get_by_test_id("message-state")).to_have_text("Sent")
    expect(page.get_by_test_id("chat-title")).to_have_text("Bob Marley")
    if narrow:
        expect(page.get_by_test_id("conversation-list")).to_be_hidden()
        expect(page.get_by_test_id("back-button")).to_be_visible()
    else:
        expect(page.get_by_test_id("conversation-list")).to_be_visible()
        expect(page.get_by_test_id("back-button")).to_be_hidden()
    api.send(bob, "Great, see you at the pier", to="alice")
    expect(messages).to_have_count(4)  # arrives live in the open chat, and is read there
    app.expect_counts({group: 2, with_carol: 1, with_bob: 0}, 3)
    screenshot(page, f"{layout}-chat")

    if narrow:
        app.back()
        expect(page.get_by_test_id("conversation-list")).to_be_visible()
    app.open(group)
    expect(page.locator(".message__sender").first).to_have_text("carol")
    screenshot(page, f"{layout}-group-chat")
    if narrow:
        app.back()

    # A new single chat, found in the people picker: it exists once the first message is sent.
    page.get_by_test_id("new-chat-button").click()
    page.get_by_test_id("people-search").fill("dav")
    page.get_by_test_id("person-option").filter(has_text="dave").click()
    expect(page.get_by_test_id("chat-title")).to_have_text("dave")
    app.send("hi dave")
    expect(messages.last).to_have_attribute("data-state", "sent")
    if narrow:
        app.back()
    expect(app.item(single("alice", "dave"))).to_contain_text("You: hi dave")

    # A group with members given as comma-separated user IDs.
    page.locator("#new-group summary").click()
    page.get_by_test_id("group-name-input").fill("Book club")
    page.get_by_test_id("group-members-input").fill("bob, carol")
    page.get_by_test_id("create-group-button").click()
    expect(page.get_by_test_id("chat-title")).to_have_text("Book club")
    app.send("First book: The Sea Around Us")
    expect(messages.last).to_have_attribute("data-state", "sent")
    expect(page.get_by_test_id("message-item")).to_have_count(1)
    carol_view = api.sync(carol)
    assert any(
        c["showName"] == "Book club" and c["unreadCount"] == 1 for c in carol_view["conversations"]
    )
    assert page.evaluate("() => window.__owned") is None


def test_sending_states_and_retry(api: Api, open_app: Any, screenshot: Any) -> None:
    # Intent: a message shows "sending" until the server confirms it, "failed" with a retry when the send fails (and an error banner), and a retry delivers it exactly once.
    bob = api.user("bob")
    api.send(api.user("alice"), "hi bob", to="bob")
    app = open_app()
    app.log_in("alice")
    page = app.page
    app.open(single("alice", "bob"))

    held: list[Route] = []
    page.route("**/api/messages", lambda route: held.append(route))
    app.send("held for a moment")
    last = page.get_by_test_id("message-item").last
    expect(last).to_have_attribute("data-state", "sending")
    expect(last.get_by_test_id("message-state")).to_have_text("Sending…")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    held.pop().continue_()
    expect(last).to_have_attribute("data-state", "sent")

    page.unroute("**/api/messages")
    page.route("**/api/messages", lambda route: route.abort("connectionrefused"))
    app.send("this one fails first")
    last = page.get_by_test_id("message-item").last
    expect(last).to_have_attribute("data-state", "failed")
    expect(app.error_banner()).to_contain_text("Message not sent")
    screenshot(page, "desktop-send-failed")
    page.unroute("**/api/messages")
    last.get_by_test_id("message-retry").click()
    expect(last).to_have_attribute("data-state", "sent")
    history = api.http.get(
        "/api/conversations/si_alice_bob/messages?count=50", headers=bob.headers
    ).json()["messages"]
    assert [m["textElem"]["content"] for m in reversed(history)] == [
        "hi bob",
        "held for a moment",
        "this one fails first",
    ]


def test_older_messages_load_on_scroll_up(api: Api, open_app: Any) -> None:
    # Intent: the chat shows the newest page of history and loads older pages (getAdvancedHistoryMessageList with lastMinSeq) as the reader scrolls up, keeping order and never duplicating.
    bob = api.user("bob")
    api.user("alice")
    for n in range(1, 76):
        api.send(bob, f"message {n}", to="alice")
    app = open_app()
    app.log_in("alice")
    app.open(single("alice", "bob"))
    page = app.page
    items = page.get_by_test_id("message-item")
    expect(items.last).to_contain_text("message 75")
    first_page = items.count()
    assert 0 < first_page < 75
    for _ in range(20):
        if items.count() == 75:
            break
        page.locator("#message-scroller").evaluate("(el) => { el.scrollTop = 0; }")
        page.wait_for_timeout(250)
    expect(items).to_have_count(75)
    seqs = [int(s) for s in items.evaluate_all("(els) => els.map((e) => e.dataset.seq)")]
    assert seqs == list(range(1, 76))
    expect(page.get_by_test_id("load-older")).to_be_hidden()
    app.expect_counts({single("alice", "bob"): 0}, 0)
