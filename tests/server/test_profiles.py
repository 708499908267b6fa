"""Profiles: setSelfInfo changes what peers see, in one transaction, pushed after commit.

A profile shows in every single chat with its user (the peer's record: showName,
faceURL), so a change bumps each peer's version and stamps their record (rule 5); peers
get conversation.changed, the user's own devices user.updated. Avatars are images the
user uploaded (rows in files and uploads, written here as the upload route writes them).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.sync.client import connect

from server.events import EVENT_ADAPTER
from server.schemas import PublicUser, SelfInfo
from server.storage.tables import files, uploads
from tests.server.conftest import register

PUBLIC_FIELDS = {"userID", "nickname", "faceURL", "ex"}


def upload(app: Any, user: Any, mime: str = "image/png") -> str:
    """A blob this user uploaded: its faceURL."""
    sha256 = hashlib.sha256(os.urandom(16)).hexdigest()
    with app.extensions["tidemark"].db.write() as tx:
        tx.conn.execute(
            files.insert().values(
                sha256=sha256, size=10, mime=mime, width=1, height=1, created_at=1
            )
        )
        tx.conn.execute(
            uploads.insert().values(
                user_id=user.user_id, sha256=sha256, file_name="me.png", created_at=1
            )
        )
    return f"/api/files/{sha256}"


def _cid(a: Any, b: Any) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def test_set_self_info_changes_the_peers_records_and_versions(app, make_user, hub):
    alice, bob, carol, dave = make_user(), make_user(), make_user(), make_user()
    alice.send("hi", to=bob.user_id)
    carol.send("hi", to=alice.user_id)
    alice.group(dave.user_id)  # a group shows its own name: dave's view does not change
    before = {u.user_id: u.sync() for u in (alice, bob, carol, dave)}
    face = upload(app, alice)
    hub.events.clear()

    answer = alice.call("POST", "/api/users/me", {"nickname": "Alicia", "faceURL": face})

    assert answer == {"userID": alice.user_id, "nickname": "Alicia", "faceURL": face, "ex": ""}
    PublicUser.model_validate(answer)
    for peer in (bob, carol):
        record = peer.record(_cid(alice, peer))
        assert (record["showName"], record["faceURL"]) == ("Alicia", face)
        version = peer.sync()["version"]
        assert version == before[peer.user_id]["version"] + 1
        assert record["version"] == version  # stamped: an incremental sync brings it
        since = peer.sync(before[peer.user_id]["epoch"], before[peer.user_id]["version"])
        assert [c["conversationID"] for c in since["conversations"]] == [_cid(alice, peer)]
        (event,) = hub.for_user(peer.user_id)
        assert event["type"] == "conversation.changed"
        assert event["version"] == version
        assert event["conversations"] == [record]
    # Alice's own records and version, and dave's, are as they were.
    assert alice.sync() == before[alice.user_id]
    assert dave.sync() == before[dave.user_id]
    assert hub.for_user(dave.user_id) == []
    assert hub.for_user(alice.user_id) == [{"type": "user.updated", "user": answer}]


def test_get_self_and_users_show_the_profile(app, make_user):
    alice, bob = make_user(), make_user()
    face = upload(app, alice)
    alice.call("POST", "/api/users/me", {"faceURL": face})
    me = alice.call("GET", "/api/users/me")
    SelfInfo.model_validate(me)
    assert me["nickname"] == alice.user_id.title()  # unchanged: only faceURL was given
    assert me["faceURL"] == face and me["createTime"] > 0
    found = bob.call("GET", f"/api/users?userIDs={bob.user_id},ghost,{alice.user_id}")
    assert [u["userID"] for u in found["users"]] == [bob.user_id, alice.user_id]
    assert all(set(u) == PUBLIC_FIELDS for u in found["users"])
    assert found["users"][1]["faceURL"] == face
    alice.call("POST", "/api/users/me", {"faceURL": ""})
    assert alice.call("GET", "/api/users/me")["faceURL"] == ""


def test_a_change_to_nothing_new_pushes_nothing(make_user, hub):
    alice, bob = make_user(), make_user()
    alice.send("hi", to=bob.user_id)
    version = bob.sync()["version"]
    hub.events.clear()
    alice.call("POST", "/api/users/me", {"nickname": alice.user_id.title()})
    alice.call("POST", "/api/users/me", {})
    assert hub.events == []
    assert bob.sync()["version"] == version


def test_the_avatar_must_be_an_image_the_caller_uploaded(app, make_user):
    alice, bob = make_user(), make_user()
    theirs = upload(app, bob)
    answer = alice.call("POST", "/api/users/me", {"faceURL": theirs}, expect=404)
    assert answer["errCode"] == 1604
    unknown = "/api/files/" + "0" * 64
    assert alice.call("POST", "/api/users/me", {"faceURL": unknown}, expect=404)["errCode"] == 1604
    document = upload(app, alice, mime="application/pdf")
    answer = alice.call("POST", "/api/users/me", {"faceURL": document}, expect=415)
    assert answer["errCode"] == 1603
    assert alice.call("GET", "/api/users/me")["faceURL"] == ""


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": ""},
        {"nickname": "   "},
        {"nickname": "x" * 65},
        {"nickname": 5},
        {"faceURL": "https://evil.example/me.png"},
        {"faceURL": "/api/files/" + "A" * 64},
        {"faceURL": "/api/files/../../etc/passwd"},
        {"faceURL": None, "nickname": None, "extra": 1},
        {"userID": "someone-else"},
    ],
)
def test_set_self_info_validates(make_user, body):
    alice = make_user()
    assert alice.call("POST", "/api/users/me", body, expect=400)["errCode"] == 1002
    assert alice.call("GET", "/api/users/me")["nickname"] == alice.user_id.title()


@pytest.mark.parametrize("ids", ["", ",,", ",".join(f"u{i}" for i in range(101))])
def test_get_users_takes_1_to_100_ids(make_user, ids):
    alice = make_user()
    assert alice.call("GET", f"/api/users?userIDs={ids}", expect=400)["errCode"] == 1002


def test_profile_routes_need_a_session(client):
    assert client.get("/api/users/me").status_code == 401
    assert client.post("/api/users/me", json={"nickname": "x"}).status_code == 401
    assert client.get("/api/users?userIDs=a").status_code == 401


def test_the_nickname_shows_in_a_new_chat_and_at_login(make_user, client):
    alice, bob = make_user(), make_user()
    alice.call("POST", "/api/users/me", {"nickname": "Alicia"})
    bob.send("hi", to=alice.user_id)
    assert bob.record(_cid(alice, bob))["showName"] == "Alicia"
    login = client.post(
        "/api/auth/login", json={"userID": alice.user_id, "password": "correct horse"}
    )
    assert login.get_json()["nickname"] == "Alicia"


# --- over the real WebSocket ---------------------------------------------------------------


def _next_event(ws: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] not in ("hello", "pong"):
            EVENT_ADAPTER.validate_python(frame)
            return dict(frame)


def test_every_device_hears_of_the_change(app, live_server):
    client = app.test_client()
    alice = register(client, f"a{uuid.uuid4().hex[:8]}")
    bob = register(client, f"b{uuid.uuid4().hex[:8]}")
    alice_phone = register(client, alice.user_id, login_only=True)
    alice.send("hi", to=bob.user_id)
    with ExitStack() as stack:
        sockets = []
        for user in (alice, alice_phone, bob):
            ws = stack.enter_context(connect(live_server.replace("http", "ws") + "/api/ws"))
            ws.send(json.dumps({"type": "auth", "token": user.token}))
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            sockets.append(ws)
        answer = alice_phone.call("POST", "/api/users/me", {"nickname": "Alicia"})
        for ws in sockets[:2]:
            assert _next_event(ws) == {"type": "user.updated", "user": answer}
        changed = _next_event(sockets[2])
        assert changed["type"] == "conversation.changed"
        assert changed["conversations"][0]["showName"] == "Alicia"
        assert changed["version"] == bob.sync()["version"]
