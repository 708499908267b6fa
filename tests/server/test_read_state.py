"""Rules 2 and 3: unread = maxSeq - hasReadSeq, and read positions only move forward."""

from __future__ import annotations

import pytest


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def test_unread_is_max_seq_minus_read_position(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    for _ in range(3):
        alice.send(to=bob.user_id)
    carol.send(to=bob.user_id)
    snapshot = bob.sync()
    for conversation in snapshot["conversations"]:
        assert conversation["unreadCount"] == conversation["maxSeq"] - conversation["hasReadSeq"]
    assert snapshot["totalUnreadCount"] == 4
    assert sorted(c["unreadCount"] for c in snapshot["conversations"]) == [1, 3]


def test_own_messages_are_never_unread(make_user):
    alice, bob = make_user(), make_user()
    bob.send(to=alice.user_id)
    for _ in range(3):
        state = alice.send(to=bob.user_id)["state"]
        assert state["conversations"][0]["hasReadSeq"] == state["conversations"][0]["maxSeq"]
    # The sender's position was persisted with the message, not only shown: a fresh sync agrees.
    snapshot = alice.sync()
    assert snapshot["totalUnreadCount"] == 0
    assert snapshot["conversations"][0]["hasReadSeq"] == 4


def test_mark_read_answers_the_absolute_state(make_user):
    alice, bob = make_user(), make_user()
    for _ in range(3):
        alice.send(to=bob.user_id)
    state = bob.read(_cid(alice, bob))
    (conversation,) = state["conversations"]
    assert (conversation["hasReadSeq"], conversation["unreadCount"]) == (3, 0)
    assert state["totalUnreadCount"] == 0
    assert state["version"] == bob.sync()["version"]


def test_read_positions_never_move_back(make_user):
    alice, bob = make_user(), make_user()
    for _ in range(5):
        alice.send(to=bob.user_id)
    cid = _cid(alice, bob)
    assert bob.read(cid, seq=4)["conversations"][0]["hasReadSeq"] == 4
    late = bob.read(cid, seq=2)  # a late or reordered request
    assert late["conversations"][0]["hasReadSeq"] == 4
    assert late["conversations"][0]["unreadCount"] == 1
    assert bob.sync()["conversations"][0]["hasReadSeq"] == 4


def test_mark_read_is_idempotent_and_spends_no_version(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    first = bob.read(_cid(alice, bob))
    events = len(hub.events)
    again = bob.read(_cid(alice, bob))
    assert again == first
    assert len(hub.events) == events


@pytest.mark.parametrize("seq", [99, 2**53 - 1])
def test_read_position_is_clamped_to_max_seq(make_user, seq):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    state = bob.read(_cid(alice, bob), seq=seq)
    assert state["conversations"][0]["hasReadSeq"] == 2
    # A later message is unread even though the request asked for more.
    alice.send(to=bob.user_id)
    assert bob.sync()["totalUnreadCount"] == 1


@pytest.mark.parametrize("seq", [-1, 2**53, 1.5, "3", True, None])
def test_bad_seqs_are_refused(make_user, seq):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    body = {"seq": seq}
    if seq is None:
        body = {"seq": None, "extra": 1}
    answer = bob.call("POST", f"/api/conversations/{_cid(alice, bob)}/read", body, expect=400)
    assert answer["error"] == "VALIDATION_FAILED"
    assert bob.sync()["totalUnreadCount"] == 1


def test_group_read_positions_are_per_member(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    group = alice.group(bob.user_id, carol.user_id)
    for _ in range(3):
        alice.send(group=group["groupID"])
    assert bob.read(group["conversationID"], seq=2)["totalUnreadCount"] == 1
    assert carol.sync()["totalUnreadCount"] == 3
    assert alice.sync()["totalUnreadCount"] == 0


def test_peer_reading_changes_only_the_peer_read_position(make_user):
    alice, bob = make_user(), make_user()
    bob.send(to=alice.user_id)
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    before = alice.sync()["conversations"][0]
    bob.read(_cid(alice, bob))
    after = alice.sync()["conversations"][0]
    assert after["peerHasReadSeq"] == 3
    assert (after["unreadCount"], after["hasReadSeq"]) == (
        before["unreadCount"],
        before["hasReadSeq"],
    )


@pytest.mark.parametrize("kind", ["chat", "group"])
def test_mark_read_runs_no_select_that_its_update_answers(app, make_user, kind):
    """Before the guarded UPDATE there is only the users' row lock (PostgreSQL): the
    UPDATE itself tells membership, the clamp to max_seq and whether anything moved."""
    from sqlalchemy import event

    from server.actions import read_state
    from server.actions.users import authenticate
    from server.schemas import MarkReadRequest

    alice, bob = make_user(), make_user()
    if kind == "chat":
        alice.send(to=bob.user_id)
        conversation_id = _cid(alice, bob)
    else:
        conversation_id = alice.group(bob.user_id)["conversationID"]
        alice.send(group=conversation_id.removeprefix("sg_"))
    services = app.extensions["tidemark"]
    reader = authenticate(services.db, bob.token)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).upper())

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        state = read_state.mark_read(
            services.db, services.hub, reader, conversation_id, MarkReadRequest()
        )["state"]
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)
    assert state["conversations"][0]["unreadCount"] == 0
    # After the commit, the Web Push observer may read the reader's subscriptions (one
    # indexed query, server/push/delivery.py): not the mark-read's own statements.
    push = [s for s in statements if "PUSH_SUBSCRIPTIONS" in s]
    assert len(push) <= 1, push
    statements = [s for s in statements if "PUSH_SUBSCRIPTIONS" not in s]
    first_update = next(i for i, s in enumerate(statements) if s.startswith("UPDATE"))
    before = statements[:first_update]
    assert all(s.startswith("SELECT") and s.endswith("FOR UPDATE") for s in before), before
    assert "MEMBERS" in statements[first_update] and "RETURNING" in statements[first_update]
    # The answer's state: versions and totals, then the records (two queries).
    selects = [s for s in statements[first_update:] if s.startswith("SELECT")]
    assert len(selects) == 2, selects
