"""Rules 6 and 7: events carry absolute state and leave only after commit, to everyone.

Every published event is validated against ``server.events`` by the capturing hub.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, delete, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.events import EVENT_ADAPTER
from server.schemas import MarkReadResponse, SendMessageResponse
from server.storage.tables import messages, tokens
from tests.server.conftest import register


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def test_send_pushes_message_new_to_every_member_including_the_sender(make_user, hub):
    alice, bob = make_user(), make_user()
    sent = alice.send("hi", to=bob.user_id)
    for user, unread in ((alice, 0), (bob, 1)):
        (event,) = hub.for_user(user.user_id)
        assert event["type"] == "message.new"
        assert event["message"] == sent["message"]
        assert event["conversation"]["unreadCount"] == unread
        assert event["totalUnreadCount"] == unread
        assert event["version"] == user.sync()["version"]
    assert hub.for_user(alice.user_id)[0]["conversation"] == sent["state"]["conversations"][0]


def test_mark_read_pushes_state_to_reader_and_receipt_to_peer(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    alice.send(to=bob.user_id)
    hub.events.clear()
    state = bob.read(_cid(alice, bob))
    (mine,) = hub.for_user(bob.user_id)
    assert mine["type"] == "conversation.changed"
    assert mine["conversations"] == state["conversations"]
    assert mine["totalUnreadCount"] == 0
    (theirs,) = hub.for_user(alice.user_id)
    assert theirs["type"] == "receipt.c2c"
    assert theirs["receipt"] == {
        "conversationID": _cid(alice, bob),
        "userID": bob.user_id,
        "hasReadSeq": 2,
    }
    assert theirs["conversation"]["peerHasReadSeq"] == 2
    assert theirs["conversation"]["unreadCount"] == 0


def test_group_creation_pushes_the_new_conversation_to_all(make_user, hub):
    alice, bob, carol = make_user(), make_user(), make_user()
    group = alice.group(bob.user_id, carol.user_id, name="Ops")
    for user in (alice, bob, carol):
        (event,) = hub.for_user(user.user_id)
        assert event["type"] == "conversation.changed"
        assert event["conversations"][0]["conversationID"] == group["conversationID"]
        assert event["conversations"][0]["showName"] == "Ops"


def test_group_read_sends_no_receipts(make_user, hub):
    alice, bob = make_user(), make_user()
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    hub.events.clear()
    bob.read(group["conversationID"])
    assert [uid for uid, _ in hub.events] == [bob.user_id]


def test_failed_writes_push_nothing(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.call("POST", "/api/messages", {"clientMsgID": "x", "recvID": "ghost", "text": "t"}, 404)
    alice.call("POST", "/api/groups", {"groupName": "g", "memberUserIDs": ["ghost"]}, 404)
    bob.call("POST", "/api/conversations/si_a_b/read", {}, 404)
    assert hub.events == []


def test_events_are_published_only_after_commit(app, make_user, database_url):
    """Another connection must already see the message when its event is published."""
    alice, bob = make_user(), make_user()
    engine = create_engine(database_url)
    seen: list[bool] = []
    hub = app.extensions["tidemark"].hub
    real_publish = hub.publish

    def publish(events):
        events = list(events)
        for _, event in events:
            if event["type"] == "message.new":
                with engine.connect() as other:
                    found = other.scalar(
                        select(messages.c.seq).where(
                            messages.c.server_msg_id == event["message"]["serverMsgID"]
                        )
                    )
                seen.append(found is not None)
        real_publish(events)

    hub.publish = publish
    alice.send(to=bob.user_id)
    engine.dispose()
    assert seen == [True, True]


def test_events_are_absolute_so_replaying_them_is_harmless(make_user, hub):
    alice, bob = make_user(), make_user()
    for _ in range(3):
        alice.send(to=bob.user_id)
    bob.read(_cid(alice, bob), seq=2)
    copy: dict[str, dict] = {}
    events = hub.for_user(bob.user_id)
    for event in events + list(reversed(events)) + events:  # duplicated, reordered
        parsed = EVENT_ADAPTER.validate_python(event)
        records = getattr(parsed, "conversations", None) or [parsed.conversation]
        for record in records:
            old = copy.get(record.conversationID)
            if old is None or old["version"] < record.version:
                copy[record.conversationID] = record.model_dump()
    assert list(copy.values()) == bob.sync()["conversations"]


# --- The real WebSocket -------------------------------------------------------------------


@pytest.fixture
def open_ws(live_server):
    """Opens WebSockets to the live server (optionally sending the auth frame)."""
    with ExitStack() as stack:

        def open_one(token: str | None):
            url = live_server.replace("http", "ws") + "/api/ws"
            ws = stack.enter_context(connect(url, open_timeout=5))
            if token is not None:
                ws.send(json.dumps({"type": "auth", "token": token}))
            return ws

        yield open_one


def _recv(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def _next_event(ws) -> dict:
    while True:
        frame = _recv(ws)
        if frame["type"] not in ("hello", "pong"):
            EVENT_ADAPTER.validate_python(frame)
            return frame


@pytest.fixture
def live_users(app, live_server):
    client = app.test_client()
    return register(client, f"a{uuid.uuid4().hex[:8]}"), register(
        client, f"b{uuid.uuid4().hex[:8]}"
    )


def test_every_connection_of_every_affected_user_gets_the_event(open_ws, live_users):
    alice, bob = live_users
    alice_tab, alice_phone, bob_tab = (open_ws(u.token) for u in (alice, alice, bob))
    hellos = [_recv(ws) for ws in (alice_tab, alice_phone, bob_tab)]
    assert [h["type"] for h in hellos] == ["hello"] * 3
    assert hellos[0]["userID"] == alice.user_id
    sent = alice.send("over the wire", to=bob.user_id)
    for ws in (alice_tab, alice_phone, bob_tab):
        event = _next_event(ws)
        assert event["type"] == "message.new"
        assert event["message"]["serverMsgID"] == sent["message"]["serverMsgID"]
    bob.read(sent["message"]["conversationID"])
    assert _next_event(bob_tab)["type"] == "conversation.changed"
    for ws in (alice_tab, alice_phone):
        assert _next_event(ws)["type"] == "receipt.c2c"


def test_heartbeat_is_answered(open_ws, live_users):
    ws = open_ws(live_users[0].token)
    assert _recv(ws)["type"] == "hello"
    ws.send(json.dumps({"type": "ping"}))
    assert _recv(ws) == {"type": "pong"}


@pytest.mark.parametrize(
    "first_frame",
    [
        '{"type": "auth", "token": "forged"}',
        "not json",
        '{"type": "ping"}',
        "[1]",
        '{"type":"auth"}',
    ],
)
def test_bad_auth_closes_the_connection(open_ws, first_frame):
    ws = open_ws(None)
    ws.send(first_frame)
    error = _recv(ws)
    assert error["type"] == "error" and error["errCode"] in (1001, 1101)
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code in (4400, 4401)


def test_a_bad_frame_closes_only_that_connection(open_ws, live_users):
    alice, bob = live_users
    bad, good = open_ws(alice.token), open_ws(alice.token)
    _recv(bad), _recv(good)
    bad.send("{{{")
    assert _recv(bad)["errCode"] == 1001
    with pytest.raises(ConnectionClosed) as closed:
        bad.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    bob.send(to=alice.user_id)
    assert _next_event(good)["type"] == "message.new"


def test_logout_ends_its_sockets_at_once(open_ws, live_users):
    alice, _ = live_users
    ws = open_ws(alice.token)
    _recv(ws)
    alice.call("POST", "/api/auth/logout")
    assert _recv(ws)["error"] == "UNAUTHORIZED"  # no ping or request needed
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_logout_ends_only_the_sockets_of_that_token(app, open_ws, live_users):
    alice, bob = live_users
    other_device = register(app.test_client(), alice.user_id, login_only=True)
    mine, theirs = open_ws(alice.token), open_ws(other_device.token)
    _recv(mine), _recv(theirs)
    alice.call("POST", "/api/auth/logout")
    with pytest.raises(ConnectionClosed):
        while True:
            mine.recv(timeout=5)
    body = {"recvID": bob.user_id, "clientMsgID": "still-here", "text": "still logged in"}
    assert _request(theirs, 1, "sendMessage", body)["data"]["message"]["seq"] == 1


def test_a_revocation_the_hub_missed_ends_the_socket_at_the_next_due_heartbeat(
    app, open_ws, live_users, monkeypatch
):
    import server.ws

    alice, _ = live_users
    ws = open_ws(alice.token)
    _recv(ws)
    with app.extensions["tidemark"].db.write() as tx:  # the token goes, no revocation sent
        tx.conn.execute(delete(tokens).where(tokens.c.user_id == alice.user_id))
    monkeypatch.setattr(server.ws, "TOKEN_RECHECK_SECONDS", 0.0)  # the recheck is due
    ws.send(json.dumps({"type": "ping"}))
    assert _recv(ws)["error"] == "UNAUTHORIZED"
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)


def test_heartbeats_ask_the_database_only_when_a_recheck_is_due_and_requests_always(
    app, open_ws, live_users
):
    alice, bob = live_users
    ws = open_ws(alice.token)
    _recv(ws)
    with app.extensions["tidemark"].db.write() as tx:  # the token goes, no revocation sent
        tx.conn.execute(delete(tokens).where(tokens.c.user_id == alice.user_id))
    ws.send(json.dumps({"type": "ping"}))
    assert _recv(ws) == {"type": "pong"}  # within TOKEN_RECHECK_SECONDS: no database read
    body = {"recvID": bob.user_id, "clientMsgID": "after-logout", "text": "must not land"}
    ws.send(json.dumps({"type": "request", "id": 1, "op": "sendMessage", "body": body}))
    assert _recv(ws)["error"] == "UNAUTHORIZED"  # a write checks the token first
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)
    answer = bob.call("GET", "/api/sync")
    assert all(c["maxSeq"] == 0 for c in answer["conversations"])  # nothing was sent


# --- Requests over the socket -------------------------------------------------------------


def _request(ws, request_id: int, op: str, body: dict) -> dict:
    """Send a request frame; return its response, checking events that came before it."""
    ws.send(json.dumps({"type": "request", "id": request_id, "op": op, "body": body}))
    while True:
        frame = _recv(ws)
        if frame["type"] == "response":
            assert frame["id"] == request_id
            return frame
        EVENT_ADAPTER.validate_python(frame)


def test_send_and_read_over_the_socket_answer_like_http(open_ws, live_users):
    alice, bob = live_users
    alice_ws, bob_ws = open_ws(alice.token), open_ws(bob.token)
    _recv(alice_ws), _recv(bob_ws)
    body = {"recvID": bob.user_id, "clientMsgID": "sock-1", "text": "over the socket"}
    sent = _request(alice_ws, 7, "sendMessage", body)
    SendMessageResponse.model_validate(sent["data"])
    message = sent["data"]["message"]
    assert (message["seq"], message["textElem"]["content"]) == (1, "over the socket")
    assert sent["data"]["state"]["totalUnreadCount"] == 0
    pushed = _next_event(bob_ws)
    assert pushed["message"] == message and pushed["totalUnreadCount"] == 1
    # A resend of the clientMsgID, over HTTP this time, is the same message.
    assert alice.call("POST", "/api/messages", body)["message"] == message

    read = _request(bob_ws, 8, "markRead", {"conversationID": message["conversationID"]})
    MarkReadResponse.model_validate(read["data"])
    assert read["data"]["state"]["totalUnreadCount"] == 0
    assert bob.sync()["totalUnreadCount"] == 0
    receipt = _next_event(alice_ws)
    assert receipt["type"] == "receipt.c2c" and receipt["receipt"]["hasReadSeq"] == 1


@pytest.mark.parametrize(
    ("op", "body", "code"),
    [
        ("sendMessage", {"recvID": "nobody-here", "clientMsgID": "x", "text": "hi"}, 1202),
        ("sendMessage", {"clientMsgID": "x", "text": "hi"}, 1002),
        ("sendMessage", {"recvID": "someone", "clientMsgID": "x", "text": ""}, 1002),
        ("markRead", {"conversationID": "sg_notmine"}, 1301),
        ("markRead", {"conversationID": "si_a_b", "seq": "1"}, 1002),
        ("deleteEverything", {}, 1002),
    ],
)
def test_a_failed_socket_request_answers_an_error_and_keeps_the_socket(
    open_ws, live_users, op, body, code
):
    alice, _ = live_users
    ws = open_ws(alice.token)
    _recv(ws)
    answer = _request(ws, 1, op, body)
    assert answer["errCode"] == code and "data" not in answer
    ws.send(json.dumps({"type": "ping"}))
    assert _recv(ws) == {"type": "pong"}
    assert alice.sync()["version"] == 0  # nothing was written


@pytest.mark.parametrize("request_id", [None, "1", -1, 1.5])
def test_a_request_without_an_integer_id_closes_the_socket(open_ws, live_users, request_id):
    ws = open_ws(live_users[0].token)
    _recv(ws)
    ws.send(json.dumps({"type": "request", "id": request_id, "op": "markRead", "body": {}}))
    assert _recv(ws)["errCode"] == 1002
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
