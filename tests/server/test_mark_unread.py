"""Rule 15: mark as unread is a flag, not a step back; only a mark-read that comes after
it, judged by version, clears it."""

from __future__ import annotations

from tests.server.conftest import register
from tests.server.test_events import _recv, _request, open_ws  # noqa: F401 (fixture)


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def _chat(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.read(cid)
    return alice, bob, cid


def test_the_flag_counts_one_only_while_nothing_is_unread(make_user, hub):
    alice, bob, cid = _chat(make_user)
    version = bob.sync()["version"]
    hub.events.clear()
    state = bob.mark_unread(cid)
    (record,) = state["conversations"]
    assert record["isMarkedUnread"] is True
    assert (record["hasReadSeq"], record["unreadCount"]) == (1, 0)  # never a step back
    assert state["totalUnreadCount"] == 1
    assert state["version"] == version + 1 == record["version"]
    (event,) = hub.for_user(bob.user_id)
    assert (event["type"], event["totalUnreadCount"]) == ("conversation.changed", 1)
    assert hub.for_user(alice.user_id) == []
    # With something unread the conversation counts its unread, not one more.
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    assert bob.sync()["totalUnreadCount"] == 2
    cleared = bob.read(cid)
    assert cleared["conversations"][0]["isMarkedUnread"] is False
    assert cleared["totalUnreadCount"] == 0


def test_marking_unread_twice_changes_nothing(make_user, hub):
    _, bob, cid = _chat(make_user)
    first = bob.mark_unread(cid)
    hub.events.clear()
    assert bob.mark_unread(cid) == first
    assert hub.events == []


def test_a_later_read_on_another_device_clears_it(make_user, client):
    _, bob, cid = _chat(make_user)
    phone = register(client, bob.user_id, login_only=True)
    bob.mark_unread(cid)
    held = phone.record(cid)  # the phone has seen the flag
    state = phone.read(cid, version=held["version"])
    assert state["conversations"][0]["isMarkedUnread"] is False
    assert bob.sync()["totalUnreadCount"] == 0


def test_a_stale_read_does_not_clear_a_flag_it_had_not_seen(make_user, client, hub):
    """The tab's mark-read carries the version of the record it held, from before the
    flag was set on the phone: the flag was set later, so it stays."""
    alice, bob, cid = _chat(make_user)
    tab = register(client, bob.user_id, login_only=True)
    held = tab.record(cid)
    flagged = bob.mark_unread(cid)["conversations"][0]
    assert flagged["version"] > held["version"]

    # Nothing to move, and the flag is newer: nothing changes at all.
    hub.events.clear()
    stale = tab.read(cid, version=held["version"])
    assert stale["conversations"][0]["isMarkedUnread"] is True
    assert stale["totalUnreadCount"] == 1
    assert hub.events == []

    # A stale read that does move the position still leaves the newer flag.
    alice.send(to=bob.user_id)
    moved = tab.read(cid, version=held["version"])
    (record,) = moved["conversations"]
    assert (record["unreadCount"], record["isMarkedUnread"]) == (0, True)
    assert moved["totalUnreadCount"] == 1

    # A read from a device holding the flagged record (version >= the flag's) clears it.
    cleared = tab.read(cid, version=flagged["version"])
    assert cleared["conversations"][0]["isMarkedUnread"] is False
    assert cleared["totalUnreadCount"] == 0


def test_a_read_that_only_clears_the_flag_is_one_version_and_one_event(make_user, hub):
    alice, bob, cid = _chat(make_user)
    flagged = bob.mark_unread(cid)
    hub.events.clear()
    state = bob.read(cid)  # no version: any flag is cleared
    assert state["version"] == flagged["version"] + 1
    assert state["conversations"][0]["version"] == state["version"]
    (event,) = hub.for_user(bob.user_id)
    assert event["type"] == "conversation.changed" and event["totalUnreadCount"] == 0
    assert hub.for_user(alice.user_id) == []  # no receipt: the position did not move
    assert alice.sync()["version"] == 2  # the peer's version did not move either


def test_marking_unread_never_moves_the_peer_receipt(make_user):
    alice, bob, cid = _chat(make_user)
    bob.mark_unread(cid)
    assert alice.record(cid)["peerHasReadSeq"] == 1


def test_a_left_group_cannot_be_marked_unread_but_a_dismissed_one_can(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    group = alice.group(bob.user_id, carol.user_id)
    gid, cid = group["groupID"], group["conversationID"]
    bob.call("POST", f"/api/groups/{gid}/quit", {})
    answer = bob.call("POST", f"/api/conversations/{cid}/unread", {}, expect=403)
    assert answer["error"] == "NOT_GROUP_MEMBER"
    assert bob.sync()["totalUnreadCount"] == 0

    alice.call("POST", f"/api/groups/{gid}/dismiss", {})
    state = carol.mark_unread(cid)
    assert state["conversations"][0]["isMarkedUnread"] is True
    assert state["totalUnreadCount"] == 1
    assert carol.read(cid)["totalUnreadCount"] == 0


def test_leaving_a_group_takes_its_flag_with_it(make_user):
    alice, bob = make_user(), make_user()
    group = alice.group(bob.user_id)
    bob.mark_unread(group["conversationID"])
    assert bob.sync()["totalUnreadCount"] == 1
    alice.call("POST", f"/api/groups/{group['groupID']}/kick", {"userIDList": [bob.user_id]})
    record = bob.record(group["conversationID"])
    assert (record["isNotInGroup"], record["isMarkedUnread"]) == (True, False)
    assert bob.sync()["totalUnreadCount"] == 0


def test_marking_unread_a_conversation_not_yours_is_not_found(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    alice.send(to=bob.user_id)
    answer = carol.call("POST", f"/api/conversations/{_cid(alice, bob)}/unread", {}, 404)
    assert answer["error"] == "CONVERSATION_NOT_FOUND"


def test_a_bad_read_version_is_refused(make_user):
    _, bob, cid = _chat(make_user)
    bob.mark_unread(cid)
    for version in (-1, "3", 1.5, True):
        path = f"/api/conversations/{cid}/read"
        assert bob.call("POST", path, {"version": version}, 400)["error"] == "VALIDATION_FAILED"
    assert bob.sync()["totalUnreadCount"] == 1


def test_the_socket_mark_read_carries_the_version_too(app, live_server, open_ws):  # noqa: F811
    client = app.test_client()
    alice, bob = register(client, "sockalice"), register(client, "sockbob")
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.read(cid)
    held = bob.record(cid)
    flagged = bob.mark_unread(cid)["conversations"][0]
    ws = open_ws(bob.token)
    assert _recv(ws)["type"] == "hello"
    body = {"conversationID": cid, "version": held["version"]}
    stale = _request(ws, 1, "markRead", body)["data"]["state"]
    assert stale["conversations"][0]["isMarkedUnread"] is True
    body = {"conversationID": cid, "version": flagged["version"]}
    cleared = _request(ws, 2, "markRead", body)["data"]["state"]
    assert cleared["conversations"][0]["isMarkedUnread"] is False
