"""B11: markAllConversationMessageAsRead at 100, 1,000 and 10,000 conversations.

The user has N conversations, every one unread: single chats with one unread message
each (every tenth also marked unread), and one group in a hundred (five members, five
messages, one of them mentioning the user and one everyone). One read-all clears them
all: one transaction, one version bump, one ``conversation.changed`` carrying N records,
and a ``receipt.c2c`` to each single chat's peer.

Measured in-process through the HTTP route (Flask's test client: parsing, the action,
the JSON answer), around the one call: wall time and the thread's CPU time
(``time.thread_time``; with PostgreSQL the database's own CPU is in the wall time only),
the SQL statements sent, the bytes of the answer and of every event frame pushed, to the
user and to the peers (a recording hub, frames encoded as the in-process hub encodes
them). The groups' coalesced ``receipt.group`` events leave later, in one flush, counted
apart. Medians over several runs; between runs, SQL puts the positions and flags back.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert, update

from server.actions.receipts import ReceiptBatcher
from server.app import create_app
from server.protocol import AT_ALL_TAG, CONTENT_TYPES, SESSION_TYPES
from server.storage import Database
from server.storage.tables import conversations, members, mentions, messages
from server.testing import scratch_database, seed
from server.testing.seed import PASSWORD

FULL = {"sizes": [100, 1_000, 10_000], "runs": 5}
TINY = {"sizes": [10, 100], "runs": 2}
GROUP_EVERY = 100  # one conversation in a hundred is a group
GROUP_PEERS = 4  # seeded peers in each group, besides the user
GROUP_MESSAGES = 5
FLAG_EVERY = 10  # every tenth single chat is also marked unread


class RecordingHub:
    """Keeps each published event's user and frame size: nothing is delivered."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, int]] = []  # (user, event type, bytes)

    def publish(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for user_id, event_ in events:
            frame = json.dumps(event_, separators=(",", ":"))
            self.frames.append((user_id, event_["type"], len(frame.encode())))

    def subscribe(self, connection: Any) -> None: ...
    def unsubscribe(self, connection: Any) -> None: ...
    def revoke(self, user_id: str, token_hash: str) -> None: ...
    def close(self) -> None: ...


def run(tiny: bool, postgres_url: str | None = None) -> list[dict[str, Any]]:
    size = TINY if tiny else FULL
    engines = [("sqlite", None)] + ([("postgres", postgres_url)] if postgres_url else [])
    results = []
    for engine, url in engines:
        for n in size["sizes"]:
            with tempfile.TemporaryDirectory() as folder, scratch_database(url, folder) as db_url:
                results.append({"engine": engine, **_measure(db_url, n, size["runs"])})
    return results


def _measure(database_url: str, n: int, runs: int) -> dict[str, Any]:
    app = create_app({"DATABASE_URL": database_url, "FAST_PASSWORD_HASHING": True})
    services = app.extensions["tidemark"]
    hub = RecordingHub()
    services.hub = hub
    # Flushed by hand after each call, so the groups' receipts are counted apart.
    services.receipts.close()
    services.receipts = ReceiptBatcher(services.db, lambda: hub, interval=3600)
    db = services.db
    layout = _seed(db, n)
    client = app.test_client()
    login = client.post("/api/auth/login", json={"userID": "me", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine, "before_cursor_execute", count)
    samples: list[dict[str, Any]] = []
    for attempt in range(runs + 1):  # the first one warms caches and is not kept
        _unread_again(db, layout)
        hub.frames.clear()
        statements = 0
        wall, cpu = time.perf_counter(), time.thread_time()
        response = client.post("/api/conversations/read-all", json={}, headers=headers)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        ran = statements
        assert response.status_code == 200, response.get_json()
        state = response.get_json()["state"]
        assert len(state["conversations"]) == n, len(state["conversations"])
        assert state["totalUnreadCount"] == 0
        frames = list(hub.frames)
        hub.frames.clear()
        flush_cpu = time.thread_time()
        services.receipts.flush()
        flush_cpu = time.thread_time() - flush_cpu
        mine = [f for f in frames if f[0] == "me"]
        theirs = [f for f in frames if f[0] != "me"]
        assert [t for _, t, _ in mine] == ["conversation.changed"], mine
        assert len(theirs) == len(layout["singles"]), len(theirs)
        if attempt:
            samples.append(
                {
                    "wall_ms": wall * 1000,
                    "cpu_ms": cpu * 1000,
                    "statements": ran,
                    "answer_bytes": len(response.data),
                    "user_event_bytes": sum(b for _, _, b in mine),
                    "peer_events": len(theirs),
                    "peer_event_bytes": sum(b for _, _, b in theirs),
                    "receipt_flush_events": len(hub.frames),
                    "receipt_flush_bytes": sum(b for _, _, b in hub.frames),
                    "receipt_flush_cpu_ms": flush_cpu * 1000,
                }
            )
    event.remove(db.engine, "before_cursor_execute", count)
    services.receipts.close()
    db.dispose()
    result: dict[str, Any] = {
        "conversations": n,
        "groups": len(layout["groups"]),
        "marked_unread": len(layout["flagged"]),
        "runs": runs,
    }
    for key in samples[0]:
        values = [s[key] for s in samples]
        result[key] = statistics.median(values)
        if key.endswith("_ms"):
            result[f"{key}_all"] = values
    return result


def _seed(db: Database, n: int) -> dict[str, list[str]]:
    """``me`` with n conversations, all unread; see the module docstring."""
    group_count = max(1, n // GROUP_EVERY)
    seeded = seed(db, n - group_count, n - group_count, unread_every=1)
    now = int(time.time() * 1000)
    groups = [f"g{i:05d}" for i in range(group_count)]
    with db.write() as tx:
        conn = tx.conn
        conn.execute(
            insert(conversations),
            [
                {
                    "conversation_id": f"sg_{g}",
                    "conversation_type": SESSION_TYPES["GROUP"],
                    "group_id": g,
                    "group_name": f"group {g}",
                    "max_seq": GROUP_MESSAGES,
                    "created_at": now,
                }
                for g in groups
            ],
        )
        rows, texts, mention_rows = [], [], []
        for i, g in enumerate(groups):
            cid = f"sg_{g}"
            peers = [
                seeded.peers[(i * GROUP_PEERS + k) % len(seeded.peers)] for k in range(GROUP_PEERS)
            ]
            for user_id, role in [
                ("me", 20),
                *((p, 100 if k == 0 else 20) for k, p in enumerate(peers)),
            ]:
                rows.append(
                    {
                        "user_id": user_id,
                        "conversation_id": cid,
                        "peer_id": None,
                        "has_read_seq": GROUP_MESSAGES if user_id != "me" else 0,
                        "peer_has_read_seq": 0,
                        "max_seq": GROUP_MESSAGES,
                        "version": 1,
                        "role": role,
                    }
                )
            for seq in range(1, GROUP_MESSAGES + 1):
                mention = seq in (2, 4)
                text = f"group message {seq}"
                content = (
                    json.dumps(
                        {
                            "text": text,
                            "atUserList": ["me" if seq == 2 else AT_ALL_TAG],
                            "atUsersInfo": [],
                        }
                    )
                    if mention
                    else text
                )
                texts.append(
                    {
                        "conversation_id": cid,
                        "seq": seq,
                        "server_msg_id": f"{cid}-{seq}",
                        "client_msg_id": f"{cid}-{seq}",
                        "sender_id": peers[seq % len(peers)],
                        "content_type": CONTENT_TYPES["AT_TEXT" if mention else "TEXT"],
                        "content": content,
                        "send_time": now - (GROUP_MESSAGES - seq) * 1000,
                    }
                )
            mention_rows += [
                {"conversation_id": cid, "seq": 2, "user_id": "me"},
                {"conversation_id": cid, "seq": 4, "user_id": AT_ALL_TAG},
            ]
        conn.execute(insert(members), rows)
        conn.execute(insert(messages), texts)
        conn.execute(insert(mentions), mention_rows)
    flagged = seeded.conversation_ids[::FLAG_EVERY]
    return {"singles": seeded.conversation_ids, "groups": groups, "flagged": flagged}


def _unread_again(db: Database, layout: dict[str, list[str]]) -> None:
    """Every conversation of ``me`` unread again (one message each in single chats, all
    five in groups), its peers' copies of the position too, and the flags set again."""
    with db.write() as tx:
        conn = tx.conn
        conn.execute(update(members).where(members.c.user_id == "me").values(has_read_seq=0))
        conn.execute(update(members).where(members.c.peer_id == "me").values(peer_has_read_seq=0))
        conn.execute(
            update(members)
            .where(members.c.user_id == "me", members.c.conversation_id.in_(layout["flagged"]))
            .values(marked_unread_version=1)
        )
