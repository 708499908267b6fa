"""Rule 8: what was acknowledged survives ``kill -9`` of ``tidemark serve`` and a restart."""

from __future__ import annotations

import uuid

import httpx
import pytest

from server.testing import ServerProcess


def _login(http: httpx.Client, user_id: str) -> dict[str, str]:
    body = {"userID": user_id, "password": "durable pw", "nickname": user_id}
    assert http.post("/api/users", json=body).status_code == 201
    login = {"userID": user_id, "password": body["password"]}
    token = http.post("/api/auth/login", json=login).json()
    return {"Authorization": f"Bearer {token['token']}"}


@pytest.fixture
def server(database_url, tmp_path):
    process = ServerProcess(database_url, tmp_path / "server.log").start()
    yield process
    process.stop()


def test_acknowledged_writes_survive_kill_9(server):
    base = server.url
    acknowledged: list[dict] = []
    with httpx.Client(base_url=base, timeout=10) as http:
        alice = _login(http, "alice")
        bob = _login(http, "bob")
        for n in range(20):
            body = {"clientMsgID": uuid.uuid4().hex, "recvID": "bob", "text": f"m{n}"}
            acknowledged.append(http.post("/api/messages", json=body, headers=alice).json())
        read = http.post("/api/conversations/si_alice_bob/read", json={"seq": 15}, headers=bob)
        assert read.status_code == 200
        last = http.post(
            "/api/messages",
            json={"clientMsgID": "last", "recvID": "alice", "text": "bye"},
            headers=bob,
        )
        assert last.status_code == 200
        # No grace period: the process dies the instant the last answer has arrived.
        server.kill9()

    server.start()
    with httpx.Client(base_url=base, timeout=10) as http:
        snapshot = http.get("/api/sync", headers=bob).json()
        (conversation,) = snapshot["conversations"]
        assert conversation["maxSeq"] == 21
        assert conversation["hasReadSeq"] == 21  # bob's own last message
        history = http.get(
            "/api/conversations/si_alice_bob/messages?count=100", headers=alice
        ).json()["messages"]
        stored = {m["serverMsgID"] for m in history}
        assert {a["message"]["serverMsgID"] for a in acknowledged} <= stored
        alice_view = http.get("/api/sync", headers=alice).json()["conversations"][0]
        assert alice_view["peerHasReadSeq"] == 21
        assert alice_view["unreadCount"] == 1


def test_a_read_position_survives_kill_9(server):
    base = server.url
    with httpx.Client(base_url=base, timeout=10) as http:
        alice, bob = _login(http, "alice"), _login(http, "bob")
        for n in range(5):
            http.post(
                "/api/messages",
                json={"clientMsgID": f"c{n}", "recvID": "bob", "text": "x"},
                headers=alice,
            )
        answer = http.post("/api/conversations/si_alice_bob/read", json={}, headers=bob)
        assert answer.json()["state"]["totalUnreadCount"] == 0
        server.kill9()
    server.start()
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/api/sync", headers=bob).json()["totalUnreadCount"] == 0
