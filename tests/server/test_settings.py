"""A user's own settings of a conversation: mute (rule 13) and pin; and the one
definition of the total they change (muted 0, else unread, else 1 when marked unread)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.storage import conversations as conversation_store


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def test_muting_changes_the_total_once_and_not_the_unread(make_user, hub):
    alice, bob, carol = make_user(), make_user(), make_user()
    for _ in range(3):
        alice.send(to=bob.user_id)
    carol.send(to=bob.user_id)
    cid = _cid(alice, bob)
    before = bob.sync()
    assert before["totalUnreadCount"] == 4
    hub.events.clear()

    state = bob.settings(cid, recvMsgOpt=2)
    (record,) = state["conversations"]
    assert (record["recvMsgOpt"], record["unreadCount"]) == (2, 3)
    assert state["totalUnreadCount"] == 1
    assert state["version"] == before["version"] + 1 == record["version"]
    (event,) = hub.for_user(bob.user_id)
    assert event["type"] == "conversation.changed"
    assert (event["totalUnreadCount"], event["conversations"]) == (1, state["conversations"])
    assert hub.for_user(alice.user_id) == []  # the peer's view is not the user's

    # Muting again changes nothing: no version, no event.
    hub.events.clear()
    assert bob.settings(cid, recvMsgOpt=2) == state
    assert hub.events == []
    assert bob.sync()["totalUnreadCount"] == 1
    assert bob.record(cid)["unreadCount"] == 3

    unmuted = bob.settings(cid, recvMsgOpt=0)
    assert unmuted["totalUnreadCount"] == 4
    assert unmuted["conversations"][0]["recvMsgOpt"] == 0
    assert [e["totalUnreadCount"] for e in hub.for_user(bob.user_id)] == [4]


def test_a_message_in_a_muted_conversation_pushes_no_total_change(make_user, hub):
    alice, bob, carol = make_user(), make_user(), make_user()
    alice.send(to=bob.user_id)
    carol.send(to=bob.user_id)
    bob.settings(_cid(alice, bob), recvMsgOpt=2)
    assert bob.sync()["totalUnreadCount"] == 1
    hub.events.clear()
    alice.send(to=bob.user_id)
    (event,) = hub.for_user(bob.user_id)
    assert event["type"] == "message.new"
    assert event["conversation"]["unreadCount"] == 2  # the count is kept (rule 13)
    assert event["totalUnreadCount"] == 1  # the total is not touched
    assert bob.sync()["totalUnreadCount"] == 1


def test_a_muted_group_keeps_its_count_outside_the_total(make_user):
    alice, bob = make_user(), make_user()
    group = alice.group(bob.user_id)
    bob.settings(group["conversationID"], recvMsgOpt=2)
    alice.send(group=group["groupID"])
    alice.send(group=group["groupID"])
    snapshot = bob.sync()
    assert snapshot["totalUnreadCount"] == 0
    assert snapshot["conversations"][0]["unreadCount"] == 2


def test_pin_is_part_of_the_record_and_synced(make_user, hub, client):
    from tests.server.conftest import register

    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    phone = register(client, bob.user_id, login_only=True)
    base = phone.sync()
    state = bob.settings(cid, isPinned=True)
    assert state["conversations"][0]["isPinned"] is True
    assert state["totalUnreadCount"] == 1  # pinning is no read
    delta = phone.sync(base["epoch"], base["version"])
    assert [c["isPinned"] for c in delta["conversations"]] == [True]
    hub.events.clear()
    assert bob.settings(cid, isPinned=True) == state  # nothing changed
    assert hub.events == []
    assert bob.settings(cid, isPinned=False)["conversations"][0]["isPinned"] is False


def test_several_settings_at_once_are_one_version(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    version = bob.sync()["version"]
    hub.events.clear()
    state = bob.settings(_cid(alice, bob), recvMsgOpt=2, isPinned=True, groupAtType=0)
    assert state["version"] == version + 1
    (record,) = state["conversations"]
    assert (record["recvMsgOpt"], record["isPinned"]) == (2, True)
    assert len(hub.for_user(bob.user_id)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"recvMsgOpt": 1}, "recvMsgOpt 1 (not receive) is not supported: it would lose messages"),
        ({"recvMsgOpt": 5}, "recvMsgOpt: 0 (normal) or 2"),
        ({"recvMsgOpt": True}, "recvMsgOpt"),
        ({"recvMsgOpt": "2"}, "recvMsgOpt"),
        ({"isPinned": 1}, "isPinned"),
        ({"groupAtType": 1}, "groupAtType"),
        ({}, "at least one of recvMsgOpt, isPinned and groupAtType"),
        ({"isPinned": True, "draftText": "x"}, "draftText"),
    ],
)
def test_bad_settings_are_refused(make_user, body, message):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    path = f"/api/conversations/{_cid(alice, bob)}/settings"
    answer = bob.call("POST", path, body, expect=400)
    assert answer["error"] == "VALIDATION_FAILED"
    assert message in answer["errMsg"]
    assert bob.sync()["version"] == 1


def test_settings_of_a_conversation_not_yours_are_not_found(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    alice.send(to=bob.user_id)
    answer = carol.call(
        "POST", f"/api/conversations/{_cid(alice, bob)}/settings", {"isPinned": True}, 404
    )
    assert answer["error"] == "CONVERSATION_NOT_FOUND"
    carol.call("POST", "/api/conversations/sg_nothing/settings", {"isPinned": True}, 404)


def test_a_left_groups_record_can_be_muted_and_pinned(make_user):
    alice, bob = make_user(), make_user()
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    bob.call("POST", f"/api/groups/{group['groupID']}/quit", {})
    state = bob.settings(group["conversationID"], recvMsgOpt=2, isPinned=True)
    (record,) = state["conversations"]
    assert (record["isNotInGroup"], record["recvMsgOpt"], record["isPinned"]) == (True, 2, True)
    assert state["totalUnreadCount"] == 0


def test_the_total_is_summed_from_the_unread_index_alone(app, make_user):
    """The contribution reads only columns of ix_members_user_unread (SQLite's plan says
    COVERING INDEX; PostgreSQL may answer from the index too once vacuumed)."""
    db = app.extensions["tidemark"].db
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    with db.read() as conn:
        assert conversation_store.total_unread(conn, bob.user_id) == 1
        if db.is_sqlite:
            compiled = conversation_store._TOTAL.params(user_id=bob.user_id).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            details = " ".join(str(row[-1]) for row in plan)
            assert "COVERING INDEX ix_members_user_unread" in details, details


@pytest.mark.parametrize(
    ("muted", "unread", "marked", "contribution"),
    [
        (False, 0, False, 0),
        (False, 3, False, 3),
        (False, 0, True, 1),
        (False, 3, True, 3),  # the flag adds nothing while something is unread
        (True, 3, False, 0),
        (True, 0, True, 0),  # muted: nothing, whatever the flag
    ],
)
def test_one_definition_of_a_records_contribution(make_user, muted, unread, marked, contribution):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    bob.read(cid)
    for _ in range(unread):
        alice.send(to=bob.user_id)
    if marked:
        bob.mark_unread(cid)
    if muted:
        bob.settings(cid, recvMsgOpt=2)
    snapshot = bob.sync()
    assert snapshot["totalUnreadCount"] == contribution
    (record,) = snapshot["conversations"]
    assert record["unreadCount"] == unread
    assert record["isMarkedUnread"] is marked
