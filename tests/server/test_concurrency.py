"""Many clients sending to one conversation at once get seqs 1..N, each exactly once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.server.conftest import register

THREADS = 8
PER_THREAD = 15


def test_concurrent_sends_get_gapless_unique_seqs(app, live_server):
    client = app.test_client()
    alice, bob = register(client), register(client)
    group = alice.group(bob.user_id)

    def send_many(sender) -> list[int]:
        seqs = []
        with httpx.Client(base_url=live_server, headers=sender.headers, timeout=30) as http:
            for _ in range(PER_THREAD):
                body = {"clientMsgID": uuid.uuid4().hex, "groupID": group["groupID"], "text": "x"}
                response = http.post("/api/messages", json=body)
                assert response.status_code == 200, response.text
                seqs.append(response.json()["message"]["seq"])
        return seqs

    senders = [alice, bob] * (THREADS // 2)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(send_many, senders))
    seqs = sorted(seq for batch in results for seq in batch)
    assert seqs == list(range(1, THREADS * PER_THREAD + 1))
    for batch in results:
        assert batch == sorted(batch)  # one client's messages keep their order
    history = alice.call("GET", f"/api/conversations/{group['conversationID']}/messages?count=100")
    stored = [m["seq"] for m in history["messages"]]
    assert stored == sorted(stored, reverse=True)[: len(stored)] == list(range(120, 20, -1))


def test_concurrent_resends_of_one_client_msg_id_store_one_message(app, live_server):
    client = app.test_client()
    alice, bob = register(client), register(client)
    body = {"clientMsgID": "same-every-time", "recvID": bob.user_id, "text": "once"}

    def send(_: int) -> str:
        with httpx.Client(base_url=live_server, headers=alice.headers, timeout=30) as http:
            response = http.post("/api/messages", json=body)
            assert response.status_code == 200, response.text
            return response.json()["message"]["serverMsgID"]

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(send, range(12)))
    assert len(ids) == 1
    assert bob.sync()["totalUnreadCount"] == 1


def test_first_messages_of_a_pair_sent_at_once_create_one_chat(app, live_server):
    """Both users write first at the same moment: one conversation, seqs 1 and 2."""
    client = app.test_client()
    pairs = [(register(client), register(client)) for _ in range(6)]
    jobs = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]

    def send(job) -> int:
        sender, receiver = job
        with httpx.Client(base_url=live_server, headers=sender.headers, timeout=30) as http:
            body = {"clientMsgID": uuid.uuid4().hex, "recvID": receiver.user_id, "text": "hi"}
            response = http.post("/api/messages", json=body)
            assert response.status_code == 200, response.text
            return response.json()["message"]["seq"]

    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(send, jobs))
    for n, (a, _) in enumerate(pairs):
        assert sorted((seqs[n], seqs[n + len(pairs)])) == [1, 2]
        (conversation,) = a.sync()["conversations"]
        assert conversation["maxSeq"] == 2


def test_revokes_of_one_message_at_once_store_one_tombstone(app, live_server):
    """The sender and the group's owner revoke one message at the same moment, several
    times: every answer is the one tombstone, and the viewers' versions move once."""
    client = app.test_client()
    owner, sender, reader = register(client), register(client), register(client)
    group = owner.group(sender.user_id, reader.user_id)
    sent = sender.send("revoke me", group=group["groupID"])["message"]
    before = reader.sync()["version"]
    path = f"/api/conversations/{group['conversationID']}/revoke"

    def revoke(user) -> dict:
        with httpx.Client(base_url=live_server, headers=user.headers, timeout=30) as http:
            response = http.post(path, json={"clientMsgID": sent["clientMsgID"]})
            assert response.status_code == 200, response.text
            return response.json()["message"]

    with ThreadPoolExecutor(6) as pool:
        tombstones = list(pool.map(revoke, [owner, sender] * 4))
    assert all(t == tombstones[0] for t in tombstones)
    assert tombstones[0]["seq"] == sent["seq"]
    assert reader.sync()["version"] == before + 1


def test_read_all_while_messages_arrive(app, live_server):
    """Peers write first messages to a reader who marks all read at the same time: no
    answer fails (no deadlock between the reader's locks and the senders'), and each
    peer's copy of the reader's position is the reader's own."""
    client = app.test_client()
    reader = register(client, "m-reader")  # sorts between the peers: locks interleave
    peers = [register(client, f"{letter}-peer") for letter in "abcdefghxyz"]

    def send(peer) -> None:
        with httpx.Client(base_url=live_server, headers=peer.headers, timeout=30) as http:
            for _ in range(3):
                body = {"clientMsgID": uuid.uuid4().hex, "recvID": reader.user_id, "text": "x"}
                assert http.post("/api/messages", json=body).status_code == 200

    def read_all(_: int) -> None:
        with httpx.Client(base_url=live_server, headers=reader.headers, timeout=30) as http:
            for _ in range(4):
                response = http.post("/api/conversations/read-all", json={})
                assert response.status_code == 200, response.text

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(send, p) for p in peers] + [pool.submit(read_all, 0)]
        for job in jobs:
            job.result()
    reader.read_all()
    mine = {c["conversationID"]: c for c in reader.sync()["conversations"]}
    assert reader.sync()["totalUnreadCount"] == 0
    for peer in peers:
        (theirs,) = peer.sync()["conversations"]
        assert theirs["peerHasReadSeq"] == mine[theirs["conversationID"]]["hasReadSeq"] == 3
