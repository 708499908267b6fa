from __future__ import annotations

import uuid

import pytest


def test_first_message_creates_the_single_chat(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    sent = alice.send("hi", to="bob")
    message = sent["message"]
    assert message["conversationID"] == "si_alice_bob"
    assert message["seq"] == 1
    assert (message["sendID"], message["recvID"], message["sessionType"]) == ("alice", "bob", 1)
    assert message["textElem"] == {"content": "hi"}
    (conversation,) = bob.sync()["conversations"]
    assert conversation["showName"] == "Alice"
    assert conversation["userID"] == "alice"
    assert conversation["latestMsg"] == message


def test_conversation_id_sorts_the_user_ids(make_user):
    zed, amy = make_user("zed"), make_user("amy")
    assert zed.send(to="amy")["message"]["conversationID"] == "si_amy_zed"
    assert amy.send(to="zed")["message"]["seq"] == 2


def test_seqs_count_up_per_conversation(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    seqs = [alice.send(to=bob.user_id)["message"]["seq"] for _ in range(3)]
    seqs += [bob.send(to=alice.user_id)["message"]["seq"]]
    assert seqs == [1, 2, 3, 4]
    assert alice.send(to=carol.user_id)["message"]["seq"] == 1


def test_resending_a_client_msg_id_returns_the_original(make_user):
    alice, bob = make_user(), make_user()
    body = {"clientMsgID": "retry-1", "recvID": bob.user_id, "text": "once"}
    first = alice.call("POST", "/api/messages", body)
    second = alice.call("POST", "/api/messages", body)
    assert first["message"] == second["message"]
    assert bob.sync()["totalUnreadCount"] == 1
    history = bob.call(
        "GET", "/api/conversations/" + first["message"]["conversationID"] + "/messages"
    )
    assert [m["clientMsgID"] for m in history["messages"]] == ["retry-1"]


def test_history_is_newest_first_and_paginated(make_user):
    alice, bob = make_user(), make_user()
    for n in range(5):
        alice.send(f"m{n}", to=bob.user_id)
    cid = f"si_{min(alice.user_id, bob.user_id)}_{max(alice.user_id, bob.user_id)}"
    page = bob.call("GET", f"/api/conversations/{cid}/messages?count=2")
    assert [m["seq"] for m in page["messages"]] == [5, 4] and not page["isEnd"]
    page = bob.call("GET", f"/api/conversations/{cid}/messages?count=2&beforeSeq=4")
    assert [m["seq"] for m in page["messages"]] == [3, 2] and not page["isEnd"]
    page = bob.call("GET", f"/api/conversations/{cid}/messages?count=2&beforeSeq=2")
    assert [m["seq"] for m in page["messages"]] == [1] and page["isEnd"]


def test_group_messages_reach_every_member(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    group = alice.group(bob.user_id, carol.user_id, name="Trip")
    sent = bob.send("hello all", group=group["groupID"])["message"]
    assert (sent["conversationID"], sent["sessionType"], sent["recvID"]) == (
        group["conversationID"],
        3,
        "",
    )
    for user, unread in ((alice, 1), (bob, 0), (carol, 1)):
        (conversation,) = user.sync()["conversations"]
        assert conversation["showName"] == "Trip"
        assert conversation["unreadCount"] == unread


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"clientMsgID": "a", "recvID": "ghost", "text": "x"}, 404, "USER_NOT_FOUND"),
        ({"clientMsgID": "a", "groupID": "ffff", "text": "x"}, 404, "CONVERSATION_NOT_FOUND"),
        ({"clientMsgID": "a", "text": "x"}, 400, "VALIDATION_FAILED"),
        (
            {"clientMsgID": "a", "recvID": "bob", "groupID": "ff", "text": "x"},
            400,
            "VALIDATION_FAILED",
        ),
        ({"clientMsgID": "a", "recvID": "bob", "text": ""}, 400, "VALIDATION_FAILED"),
        ({"clientMsgID": "a", "recvID": "bob", "text": "x" * 4001}, 400, "VALIDATION_FAILED"),
        ({"clientMsgID": "a", "recvID": "bob", "text": 5}, 400, "VALIDATION_FAILED"),
        ({"clientMsgID": "", "recvID": "bob", "text": "x"}, 400, "VALIDATION_FAILED"),
        ({"clientMsgID": "a", "recvID": "bob", "text": "x", "seq": 9}, 400, "VALIDATION_FAILED"),
        ([1, 2], 400, "VALIDATION_FAILED"),
        ({"clientMsgID": "a", "recvID": "alice", "text": "me"}, 400, "VALIDATION_FAILED"),
    ],
)
def test_bad_messages_are_refused_without_writing(make_user, body, status, error):
    alice, bob = make_user("alice"), make_user("bob")
    answer = alice.call("POST", "/api/messages", body, expect=status)
    assert answer["error"] == error
    assert alice.sync()["conversations"] == bob.sync()["conversations"] == []


def test_malformed_and_oversized_bodies(make_user):
    alice = make_user()
    headers = {**alice.headers, "Content-Type": "application/json"}
    bad = alice.client.post("/api/messages", data=b"{not json", headers=headers)
    assert (bad.status_code, bad.get_json()["error"]) == (400, "INVALID_JSON")
    huge = alice.client.post("/api/messages", data=b"x" * 70_000, headers=headers)
    assert (huge.status_code, huge.get_json()["error"]) == (413, "BODY_TOO_LARGE")
    utf = alice.client.post("/api/messages", data=b"\xff\xfe", headers=headers)
    assert utf.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "count=0",
        "count=101",
        "count=x",
        "beforeSeq=0",
        "beforeSeq=-3",
        "beforeSeq=9007199254740993",
        "x=1",
    ],
)
def test_bad_history_queries(make_user, query):
    alice, bob = make_user(), make_user()
    cid = alice.send(to=bob.user_id)["message"]["conversationID"]
    answer = alice.call("GET", f"/api/conversations/{cid}/messages?{query}", expect=400)
    assert answer["error"] == "VALIDATION_FAILED"


def test_unicode_text_round_trips(make_user):
    alice, bob = make_user(), make_user()
    text = "<b>héllo</b> 👋 " + uuid.uuid4().hex
    cid = alice.send(text, to=bob.user_id)["message"]["conversationID"]
    (message,) = bob.call("GET", f"/api/conversations/{cid}/messages")["messages"]
    assert message["textElem"]["content"] == text
