"""hideConversation (OpenIM's "delete chat for me"): read first, hidden until a new
message; mark-unread shows it again."""

from __future__ import annotations


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def test_hiding_reads_it_first_with_the_peers_receipt(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    version = bob.sync()["version"]
    hub.events.clear()
    state = bob.hide(cid)
    (record,) = state["conversations"]
    assert (record["isHidden"], record["unreadCount"], record["hasReadSeq"]) == (True, 0, 2)
    assert state["totalUnreadCount"] == 0
    assert state["version"] == version + 1
    (mine,) = hub.for_user(bob.user_id)
    assert mine["type"] == "conversation.changed" and mine["conversations"] == [record]
    (receipt,) = hub.for_user(alice.user_id)
    assert receipt["type"] == "receipt.c2c" and receipt["receipt"]["hasReadSeq"] == 2
    assert bob.record(cid)["isHidden"] is True
    assert alice.record(cid)["isHidden"] is False  # the peer's view is theirs


def test_a_new_message_shows_it_again(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.hide(cid)
    pushed = alice.send(to=bob.user_id)
    record = bob.record(cid)
    assert (record["isHidden"], record["unreadCount"]) == (False, 1)
    assert pushed["state"]["conversations"][0]["isHidden"] is False


def test_my_own_message_shows_it_again(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.hide(cid)
    state = bob.send(to=alice.user_id)["state"]
    assert state["conversations"][0]["isHidden"] is False


def test_a_group_notification_shows_it_again(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    bob.hide(group["conversationID"])
    alice.call("POST", f"/api/groups/{group['groupID']}/members", {"userIDList": [carol.user_id]})
    assert bob.record(group["conversationID"])["isHidden"] is False


def test_marking_unread_shows_it_again(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.hide(cid)
    state = bob.mark_unread(cid)
    (record,) = state["conversations"]
    assert (record["isHidden"], record["isMarkedUnread"]) == (False, True)
    assert state["totalUnreadCount"] == 1


def test_hiding_clears_the_flag(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.read(cid)
    bob.mark_unread(cid)
    state = bob.hide(cid)
    (record,) = state["conversations"]
    assert (record["isHidden"], record["isMarkedUnread"]) == (True, False)
    assert state["totalUnreadCount"] == 0


def test_hiding_a_hidden_and_read_conversation_changes_nothing(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    first = bob.hide(cid)
    hub.events.clear()
    assert bob.hide(cid) == first
    assert hub.events == []


def test_hiding_a_read_conversation_is_one_version_and_no_receipt(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.read(cid)
    version = alice.sync()["version"]
    hub.events.clear()
    bob.hide(cid)
    assert [e["type"] for e in hub.for_user(bob.user_id)] == ["conversation.changed"]
    assert hub.for_user(alice.user_id) == []
    assert alice.sync()["version"] == version


def test_hiding_a_group_notes_its_receipt(app, make_user, hub):
    alice, bob = make_user(), make_user()
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    hub.events.clear()
    bob.hide(group["conversationID"])
    app.extensions["tidemark"].receipts.flush()
    receipts = [e for _, e in hub.events if e["type"] == "receipt.group"]
    assert receipts and receipts[0]["readers"] == [{"userID": bob.user_id, "hasReadSeq": 1}]


def test_hiding_a_conversation_not_yours_is_not_found(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    alice.send(to=bob.user_id)
    answer = carol.call("POST", f"/api/conversations/{_cid(alice, bob)}/hide", {}, 404)
    assert answer["error"] == "CONVERSATION_NOT_FOUND"
    carol.call("POST", "/api/conversations/sg_none/hide", {}, 404)
