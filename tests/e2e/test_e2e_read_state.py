"""Read state in a real browser: the bug Tidemark exists to prevent (DESIGN.md section 1)
and its relatives — tabs, devices, races, failures, crashes and a replaced database."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import PHONE
from tests.e2e.driver import Api, App, single

pytestmark = pytest.mark.browser

READ_ROUTE = "**/api/conversations/*/read"


def zeros(counts: dict[str, int]) -> dict[str, int]:
    return dict.fromkeys(counts, 0)


def assert_page_matches_server(app: App, api: Api, user_id: str) -> None:
    """Badges, header total, title, the SDK's own answers and the server agree."""
    badges, total = api.truth(api.login(user_id))
    app.expect_counts(badges, total)
    assert app.sdk_total() == total
    assert app.sdk_conversations() == badges


def test_marked_read_stays_read_across_reloads(api: Api, open_app: Any) -> None:
    # Intent: the reported bug (OpenIM issue 2765) cannot happen: conversations marked read in the page — by opening them while visible, or with the explicit button — show 0 in every badge, the total, the title and IMSDK.getTotalUnreadMsgCount(), and never show anything else again, through several reloads.
    bob, carol, dave = api.user("bob"), api.user("carol"), api.user("dave")
    app = open_app()
    app.sign_up("alice")
    alice = api.login("alice")
    team_id, team = api.group(bob, "Team", ["alice", "carol"])
    family_id, family = api.group(dave, "Family", ["alice", "bob"])
    for text in ("hi", "are you there?", "ping"):
        api.send(bob, text, to="alice")
    for text in ("lunch?", "12:30"):
        api.send(carol, text, to="alice")
    api.send(dave, "call me", to="alice")
    for sender, text in ((bob, "standup moved"), (carol, "ok"), (bob, "10:15"), (carol, "👍")):
        api.send(sender, text, group=team_id)
    api.send(dave, "dinner sunday", group=family_id)
    api.send(alice, "I'll bring dessert", group=family_id)  # her own message reads up to it
    api.send(bob, "great", group=family_id)
    expected = {
        single("alice", "bob"): 3,
        single("alice", "carol"): 2,
        single("alice", "dave"): 1,
        team: 4,
        family: 1,
    }
    app.expect_counts(expected, 11)
    assert api.truth(alice) == (expected, 11)

    for n, conversation in enumerate(expected):
        if n % 2:
            # Hidden page: opening does not read; the explicit button does.
            app.set_hidden(True)
            app.open(conversation)
            app.page.wait_for_timeout(300)
            app.expect_counts(expected, sum(expected.values()))
            app.mark_read()
        else:
            app.open(conversation)
        expected[conversation] = 0
        app.expect_counts(expected, sum(expected.values()))
        app.set_hidden(False)
    assert api.truth(alice) == (zeros(expected), 0)

    for _ in range(3):
        app.reload()
        app.wait_up_to_date()
        app.expect_counts(zeros(expected), 0)
        assert app.page.evaluate("() => IMSDK.getLoginStatus()")["data"] == 3
        assert app.sdk_total() == 0
        assert app.sdk_conversations() == zeros(expected)
        seen = app.seen()
        assert seen["total"] == 0, seen  # not even the cached paint showed a count
        assert seen["badges"] == zeros(expected), seen


def test_tabs_and_devices_converge_without_reload(api: Api, open_app: Any) -> None:
    # Intent: a second tab of the same browser and a second device converge to the same counts without a reload — for reads made in either place and for new messages.
    bob, carol = api.user("bob"), api.user("carol")
    api.user("alice")
    tab1 = open_app()
    tab1.log_in("alice")
    tab2 = open_app(context=tab1.context)  # same profile: the session is restored
    tab2.wait_up_to_date()
    phone = open_app(viewport=PHONE)  # another device
    phone.log_in("alice")
    apps = (tab1, tab2, phone)

    group_id, group = api.group(bob, "Trip", ["alice", "carol"])
    api.send(bob, "one", to="alice")
    api.send(bob, "two", to="alice")
    api.send(carol, "hey", to="alice")
    api.send(bob, "tickets booked", group=group_id)
    with_bob, with_carol = single("alice", "bob"), single("alice", "carol")
    expected = {with_bob: 2, with_carol: 1, group: 1}
    for app in apps:
        app.expect_counts(expected, 4)

    tab1.open(with_bob)  # read in one tab
    expected[with_bob] = 0
    for app in apps:
        app.expect_counts(expected, 2)

    api.send(carol, "still there?", to="alice")  # new messages reach everyone
    api.send(carol, "train at 9", group=group_id)
    expected.update({with_carol: 2, group: 2})
    for app in apps:
        app.expect_counts(expected, 4)

    phone.open(with_carol)  # read on the other device (phone layout: open, then back)
    phone.back()
    expected[with_carol] = 0
    for app in apps:
        app.expect_counts(expected, 2)

    tab2.set_hidden(True)  # opening does not read; her own message does (rule 2)
    tab2.open(group)
    tab2.send("see you there")
    expect(tab2.page.get_by_test_id("message-item").last).to_have_attribute("data-state", "sent")
    expected[group] = 0
    for app in apps:
        app.expect_counts(expected, 0)
        assert_page_matches_server(app, api, "alice")
    expect(tab1.page.locator('[data-testid="conversation-item"]').first).to_contain_text(
        "You: see you there"
    )


@pytest.mark.parametrize("hold", ["request", "answer"])
def test_message_arriving_during_mark_read(api: Api, open_app: Any, hold: str) -> None:
    # Intent: a message that arrives while a mark-read is in flight is counted right — held before the server (the read commits after the message: 0 unread) or after it (the read committed first: the newest message stays unread, 1) — and the page ends on the server's truth either way.
    bob = api.user("bob")
    alice = api.user("alice")
    app = open_app()
    app.log_in("alice")
    conversation = single("alice", "bob")
    api.send(bob, "one", to="alice")
    api.send(bob, "two", to="alice")
    app.expect_counts({conversation: 2}, 2)

    held: list[tuple[Route, Any]] = []

    def hold_read(route: Route) -> None:
        held.append((route, route.fetch() if hold == "answer" else None))

    app.page.route(READ_ROUTE, hold_read)
    app.open(conversation)  # visible: the page marks it read; the request is held
    for _ in range(100):
        if held:
            break
        app.page.wait_for_timeout(50)
    assert len(held) == 1, "the page did not mark the opened conversation read"
    app.set_hidden(True)  # so the open chat does not read the arriving message itself

    third = api.send(bob, "three", to="alice")
    during = 3 if hold == "request" else 1
    app.expect_counts({conversation: during}, during)
    assert app.sdk_total() == during

    route, response = held.pop()
    if response is None:
        route.continue_()
    else:
        route.fulfill(response=response)
    final = 0 if hold == "request" else 1
    app.expect_counts({conversation: final}, final)
    app.page.wait_for_timeout(300)  # a late answer must not move it afterwards
    app.expect_counts({conversation: final}, final)
    assert_page_matches_server(app, api, "alice")
    (record,) = api.sync(alice)["conversations"]
    assert record["maxSeq"] == third["seq"] == 3
    assert record["hasReadSeq"] == 3 - final
    expect(app.error_banner()).to_be_hidden()

    app.page.unroute(READ_ROUTE)
    app.set_hidden(False)  # visible again: the open chat reads what is left
    app.expect_counts({conversation: 0}, 0)
    assert api.truth(alice) == ({conversation: 0}, 0)


@pytest.mark.parametrize("failure", ["unreachable", "refused"])
def test_failed_mark_read_changes_nothing(api: Api, open_app: Any, failure: str) -> None:
    # Intent: a failed mark-read (server unreachable, or refusing with a 500) leaves every badge, the total and the SDK's counts as they were and shows the error banner; a retry works.
    bob, carol = api.user("bob"), api.user("carol")
    alice = api.user("alice")
    app = open_app()
    app.log_in("alice")
    api.send(bob, "one", to="alice")
    api.send(bob, "two", to="alice")
    api.send(carol, "three", to="alice")
    with_bob, with_carol = single("alice", "bob"), single("alice", "carol")
    before = {with_bob: 2, with_carol: 1}
    app.expect_counts(before, 3)

    def fail(route: Route) -> None:
        if failure == "unreachable":
            route.abort("connectionrefused")
        else:
            body = {"errCode": 1500, "errMsg": "storage is on fire", "error": "INTERNAL"}
            route.fulfill(status=500, json=body)

    app.page.route(READ_ROUTE, fail)
    app.open(with_bob)  # the page tries to mark it read, and fails
    banner = app.error_banner()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Could not mark as read")
    if failure == "refused":
        expect(banner).to_contain_text("storage is on fire")
    app.page.wait_for_timeout(300)
    app.expect_counts(before, 3)
    assert app.sdk_total() == 3
    assert api.truth(alice) == (before, 3)

    app.page.get_by_test_id("error-dismiss").click()
    expect(banner).to_be_hidden()
    app.mark_read()  # still failing: the banner is back, nothing changed
    expect(banner).to_be_visible()
    app.expect_counts(before, 3)

    app.page.unroute(READ_ROUTE)
    app.mark_read()  # the retry
    app.expect_counts({with_bob: 0, with_carol: 1}, 1)
    expect(banner).to_be_hidden()
    assert_page_matches_server(app, api, "alice")
    app.reload()
    app.wait_up_to_date()
    app.expect_counts({with_bob: 0, with_carol: 1}, 1)


def test_counts_survive_a_server_crash(
    server: Any, api: Api, open_app: Any, screenshot: Any
) -> None:
    # Intent: the server process is killed (kill -9) right after a mark-read and started again on the same database: the page reconnects by itself, and after a reload the counts are still right.
    bob, carol = api.user("bob"), api.user("carol")
    api.user("alice")
    app = open_app()
    app.log_in("alice")
    group_id, group = api.group(bob, "Ops", ["alice", "carol"])
    for text in ("a", "b", "c"):
        api.send(bob, text, to="alice")
    api.send(carol, "disk full", group=group_id)
    api.send(bob, "on it", group=group_id)
    with_bob = single("alice", "bob")
    app.expect_counts({with_bob: 3, group: 2}, 5)

    app.open(with_bob)
    app.expect_counts({with_bob: 0, group: 2}, 2)  # confirmed by the server...
    server.kill9()  # ...which dies at once
    expect(app.page.get_by_test_id("sync-status")).to_have_attribute("data-state", "offline")
    expect(app.page.get_by_test_id("sync-status")).to_contain_text("not up to date")
    screenshot(app.page, "desktop-offline")
    server.start()

    app.wait_up_to_date()  # reconnected without a reload
    api.send(carol, "fixed", group=group_id)
    app.expect_counts({with_bob: 0, group: 3}, 3)

    app.reload()
    app.wait_up_to_date()
    assert_page_matches_server(app, api, "alice")
    app.expect_counts({with_bob: 0, group: 3}, 3)
    assert app.seen()["badges"][with_bob] == 0


def test_closed_device_catches_up_without_replaying_read_messages(api: Api, open_app: Any) -> None:
    # Intent: a device that was closed while another read everything opens with the right counts once synced — its stale cache is shown only while marked as syncing — and announces no already-read message as new.
    bob, carol = api.user("bob"), api.user("carol")
    alice = api.user("alice")
    laptop = open_app()
    laptop.log_in("alice")
    phone = open_app(viewport=PHONE)
    phone.log_in("alice")
    group_id, group = api.group(bob, "Band", ["alice", "carol"])
    api.send(bob, "one", to="alice")
    api.send(bob, "two", to="alice")
    api.send(carol, "rehearsal?", group=group_id)
    with_bob, with_carol = single("alice", "bob"), single("alice", "carol")
    phone.expect_counts({with_bob: 2, group: 1}, 3)
    phone_profile = phone.context
    phone.page.close()  # the device sleeps with counts 2 and 1 in its cache

    api.send(bob, "three", to="alice")
    api.send(carol, "friday 8pm", group=group_id)
    laptop.expect_counts({with_bob: 3, group: 2}, 5)
    laptop.open(with_bob)
    laptop.open(group)
    laptop.expect_counts({with_bob: 0, group: 0}, 0)
    api.send(carol, "new and unread", to="alice")
    expected = {with_bob: 0, group: 0, with_carol: 1}
    laptop.expect_counts(expected, 1)

    phone = open_app(context=phone_profile, viewport=PHONE)  # the device wakes up
    phone.wait_up_to_date()
    phone.expect_counts(expected, 1)
    assert_page_matches_server(phone, api, "alice")

    read_up_to = {c["conversationID"]: c["hasReadSeq"] for c in api.sync(alice)["conversations"]}
    announced = [m for batch in phone.events("OnRecvNewMessages") for m in batch]
    replayed = [m for m in announced if m["seq"] <= read_up_to[m["conversationID"]]]
    assert replayed == [], f"already-read messages announced as new: {replayed}"
    assert {m["conversationID"] for m in announced} <= {with_carol}
    # While it said "up to date", the page showed nothing but the truth.
    for shown in phone.seen()["whileUpToDate"]:
        assert shown == expected, phone.seen()


def test_new_database_drops_the_cache(server: Any, api: Api, open_app: Any) -> None:
    # Intent: the database is replaced by a new one (a new epoch): the browser notices by itself, drops its cache and shows the new server's truth — nothing from the old database survives, before or after a reload.
    bob = api.user("bob")
    api.user("alice")
    app = open_app()
    app.log_in("alice")
    old_group_id, old_group = api.group(bob, "Old times", ["alice"])
    api.send(bob, "old news", to="alice")
    api.send(bob, "old group news", group=old_group_id)
    app.expect_counts({single("alice", "bob"): 1, old_group: 1}, 2)
    phone = open_app(viewport=PHONE)  # a second device, closed before the change
    phone.log_in("alice")
    phone.expect_counts({single("alice", "bob"): 1, old_group: 1}, 2)
    phone_profile = phone.context
    phone.page.close()

    server.replace_database()
    api.user("alice")
    bob, carol = api.user("bob"), api.user("carol")
    new_group_id, new_group = api.group(bob, "New era", ["alice", "carol"])
    for text in ("x", "y", "z"):
        api.send(carol, text, group=new_group_id)
    api.send(carol, "hello from the new world", to="alice")
    expected = {single("alice", "carol"): 1, new_group: 3}

    # Its token is unknown to the new database: the page is logged out by the SDK.
    expect(app.page.get_by_test_id("login-form")).to_be_visible()
    app.log_in("alice")
    app.expect_counts(expected, 4)
    assert_page_matches_server(app, api, "alice")
    app.reload()
    app.wait_up_to_date()
    app.expect_counts(expected, 4)
    assert app.seen()["badges"].keys() == expected.keys()  # the old cache never painted

    phone = open_app(context=phone_profile, viewport=PHONE)  # wakes up: its session is refused
    expect(phone.page.get_by_test_id("login-form")).to_be_visible()
    expect(phone.page.get_by_test_id("login-error")).to_contain_text("log in again")
    expect(phone.page.get_by_test_id("conversation-item")).to_have_count(0)
    phone.log_in("alice")
    phone.expect_counts(expected, 4)
    assert_page_matches_server(phone, api, "alice")


def test_reload_paints_the_cache_marked_syncing_then_the_truth(
    api: Api, open_app: Any, screenshot: Any
) -> None:
    # Intent: after a reload the list paints at once from the IndexedDB cache, marked as syncing (never "up to date"), while the SDK's count queries wait for the sync (rule 9); then the page shows the server's truth.
    bob = api.user("bob")
    api.user("alice")
    app = open_app()
    app.log_in("alice")
    conversation = single("alice", "bob")
    api.send(bob, "one", to="alice")
    api.send(bob, "two", to="alice")
    app.expect_counts({conversation: 2}, 2)

    held: list[Route] = []

    def hold_sync(route: Route) -> None:
        if holding:
            held.append(route)
        else:
            route.continue_()

    holding = True
    app.page.route("**/api/sync*", hold_sync)
    app.page.reload()
    app.wait_booted()
    app.expect_counts({conversation: 2}, 2)  # the cache, painted before any sync
    status = app.page.get_by_test_id("sync-status")
    expect(status).to_have_attribute("data-state", "syncing")
    expect(app.page.get_by_test_id("conversation-list")).to_have_attribute("data-syncing", "true")
    screenshot(app.page, "desktop-list-syncing")
    api.send(bob, "three", to="alice")
    app.page.evaluate(
        "() => { window.__total = IMSDK.getTotalUnreadMsgCount().then((a) => a.data); }"
    )
    # The cache paints before Pyodide has booted: wait until the restored session's sync
    # is under way (and held), then check the count query waits for it.
    for _ in range(300):
        if held:
            break
        app.page.wait_for_timeout(100)
    assert held, "the restored session did not sync"
    app.page.wait_for_timeout(300)
    assert app.page.evaluate("() => Promise.race([window.__total, 'waiting'])") == "waiting"

    holding = False
    for route in held:
        route.continue_()
    app.wait_up_to_date()
    app.expect_counts({conversation: 3}, 3)
    assert app.page.evaluate("() => window.__total") == 3
    expect(app.page.get_by_test_id("conversation-list")).to_have_attribute("data-syncing", "false")
    for shown in app.seen()["whileUpToDate"]:
        assert shown == {conversation: 3}, app.seen()
