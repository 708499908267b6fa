"""markAllConversationMessageAsRead: one transaction, one version, one event carrying
exactly the changed records; the peers' receipts; set-based at any size."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from server.actions import read_state
from server.actions.users import authenticate
from server.schemas import ReadAllRequest


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


@pytest.fixture
def inbox(make_user):
    """bob: 2 unread from alice, all read from carol, 1 unread in a group, dan's chat
    marked unread; erin's chat read and not flagged."""
    alice, bob, carol, dan, erin = (make_user() for _ in range(5))
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    carol.send(to=bob.user_id)
    bob.read(_cid(carol, bob))
    group = carol.group(bob.user_id, alice.user_id)
    carol.send(group=group["groupID"])
    dan.send(to=bob.user_id)
    bob.read(_cid(dan, bob))
    bob.mark_unread(_cid(dan, bob))
    erin.send(to=bob.user_id)
    bob.read(_cid(erin, bob))
    return alice, bob, carol, dan, erin, group


def test_one_version_and_one_event_with_exactly_the_changed_records(inbox, hub, app):
    alice, bob, carol, dan, erin, group = inbox
    before = bob.sync()
    assert before["totalUnreadCount"] == 4
    versions = {u.user_id: u.sync()["version"] for u in (alice, carol, dan, erin)}
    hub.events.clear()

    state = bob.read_all()
    changed = {c["conversationID"]: c for c in state["conversations"]}
    assert set(changed) == {_cid(alice, bob), group["conversationID"], _cid(dan, bob)}
    assert state["version"] == before["version"] + 1
    assert state["totalUnreadCount"] == 0
    for record in changed.values():
        assert record["unreadCount"] == 0 and record["hasReadSeq"] == record["maxSeq"]
        assert record["isMarkedUnread"] is False
        assert record["version"] == state["version"]
    (mine,) = hub.for_user(bob.user_id)
    assert mine["type"] == "conversation.changed"
    assert mine["conversations"] == state["conversations"]
    assert (mine["version"], mine["totalUnreadCount"]) == (state["version"], 0)

    # The one peer whose copy of bob's position moved: one version, one receipt.
    (receipt,) = hub.for_user(alice.user_id)
    assert receipt["type"] == "receipt.c2c"
    assert receipt["receipt"] == {
        "conversationID": _cid(alice, bob),
        "userID": bob.user_id,
        "hasReadSeq": 2,
    }
    assert receipt["conversation"]["peerHasReadSeq"] == 2
    assert receipt["version"] == versions[alice.user_id] + 1 == alice.sync()["version"]
    for other in (carol, dan, erin):  # dan's chat only lost a flag: no receipt
        assert hub.for_user(other.user_id) == []
        assert other.sync()["version"] == versions[other.user_id]

    # The group's new position reaches its members as a (coalesced) group receipt.
    app.extensions["tidemark"].receipts.flush()
    receipts = [e for _, e in hub.events if e["type"] == "receipt.group"]
    assert {e["conversationID"] for e in receipts} == {group["conversationID"]}
    assert receipts[0]["readers"] == [{"userID": bob.user_id, "hasReadSeq": 1}]

    # A fresh snapshot agrees, and an incremental sync lists the same records.
    assert bob.sync()["totalUnreadCount"] == 0
    delta = bob.sync(before["epoch"], before["version"])
    assert {c["conversationID"] for c in delta["conversations"]} == set(changed)


def test_nothing_to_change_is_no_version_and_no_event(inbox, hub):
    _, bob, *_ = inbox
    first = bob.read_all()
    hub.events.clear()
    again = bob.read_all()
    assert again["conversations"] == []
    assert (again["version"], again["totalUnreadCount"]) == (first["version"], 0)
    assert hub.events == []


def test_flags_set_after_the_clients_version_survive(inbox, client):
    from tests.server.conftest import register

    alice, bob, carol, dan, *_ = inbox
    phone = register(client, bob.user_id, login_only=True)
    held = phone.sync()["version"]  # the phone's cache, from before the next flag
    bob.mark_unread(_cid(carol, bob))
    state = phone.read_all(version=held)
    records = {c["conversationID"]: c for c in bob.sync()["conversations"]}
    assert records[_cid(carol, bob)]["isMarkedUnread"] is True  # set after the phone's copy
    assert records[_cid(dan, bob)]["isMarkedUnread"] is False  # the phone had seen this one
    assert records[_cid(alice, bob)]["unreadCount"] == 0
    assert state["totalUnreadCount"] == 1
    assert _cid(carol, bob) not in {c["conversationID"] for c in state["conversations"]}


def test_muted_and_left_conversations_are_read_too(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    bob.settings(_cid(alice, bob), recvMsgOpt=2)
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    bob.call("POST", f"/api/groups/{group['groupID']}/quit", {})
    state = bob.read_all()
    assert [c["conversationID"] for c in state["conversations"]] == [_cid(alice, bob)]
    assert state["conversations"][0]["unreadCount"] == 0


def test_a_bad_version_is_refused(make_user):
    bob = make_user()
    for body in ({"version": -1}, {"version": "1"}, {"seq": 3}):
        answer = bob.call("POST", "/api/conversations/read-all", body, expect=400)
        assert answer["error"] == "VALIDATION_FAILED"


def _statements(app, user_id_token, work):
    services = app.extensions["tidemark"]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize("count", [3, 40])
def test_the_statements_do_not_grow_with_the_number_of_conversations(app, make_user, count):
    """Set-based: the same statements at 3 and at 40 conversations (no loop of
    per-conversation statements; B11 measures 10,000)."""
    bob = make_user()
    peers = [make_user() for _ in range(count)]
    for peer in peers:
        peer.send(to=bob.user_id)
    group = peers[0].group(bob.user_id, peers[1].user_id)
    peers[1].send(group=group["groupID"])
    services = app.extensions["tidemark"]
    reader = authenticate(services.db, bob.token)
    answers = []

    def work():
        answers.append(read_state.read_all(services.db, services.hub, reader, ReadAllRequest()))

    everything = _statements(app, bob.token, work)
    # After the commit, the Web Push observer reads the subscriptions of the users the
    # events go to: one query for all of them (server/push/delivery.py), not read-all's.
    push = [s for s in everything if "push_subscriptions" in s]
    assert len(push) <= 1, push
    statements = [s for s in everything if "push_subscriptions" not in s]
    assert len(answers[0]["state"]["conversations"]) == count + 1
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    # Bump (bob and the peers at once), bob's records, the peers' copies.
    assert len(writes) == 3, writes
    # Unread peers, lock (PostgreSQL), changes, the old version; then versions/totals and
    # records for bob, and for the peers.
    assert len(statements) <= 11, statements
