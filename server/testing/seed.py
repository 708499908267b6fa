"""Bulk-load a database straight through the storage tables, for large benchmark sizes.

Sending a million messages through the API would take longer than the benchmark itself;
the rows written here are exactly what the API would have written (same tables, same
invariants: seqs 1..max_seq, the sender's own read position, versions), only faster.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, update

from server.actions.users import password_hasher
from server.storage import Database
from server.storage.tables import conversations, members, messages, users

PASSWORD = "benchmark pw"
CHUNK = 20_000


@dataclass(frozen=True)
class Seeded:
    user_id: str
    peers: list[str]
    conversation_ids: list[str]
    total_unread: int


def insert_users(conn: Connection, user_ids: Iterable[str], now: int, version: int = 1) -> None:
    """Users named after their IDs, all with the password :data:`PASSWORD` (hashed once,
    cheaply), in one statement."""
    password_hash = password_hasher(fast=True).hash(PASSWORD)
    conn.execute(
        insert(users),
        [
            {
                "user_id": u,
                "nickname": u,
                "password_hash": password_hash,
                "version": version,
                "created_at": now,
            }
            for u in user_ids
        ],
    )


def seed(
    db: Database, conversation_count: int, message_count: int, unread_every: int = 5
) -> Seeded:
    """User ``me`` with ``conversation_count`` single chats holding ``message_count``
    messages in all; every ``unread_every``-th conversation has one unread message."""
    now = int(time.time() * 1000)
    peers = [f"p{i:06d}" for i in range(conversation_count)]
    cids = [f"si_me_{peer}" for peer in peers]  # "me" sorts before every "p…"
    per = [message_count // conversation_count] * conversation_count
    for i in range(message_count % conversation_count):
        per[i] += 1
    per = [max(1, n) for n in per]
    unread = 0
    with db.write() as tx:
        conn = tx.conn
        insert_users(conn, ["me", *peers], now)
        conn.execute(
            insert(conversations),
            [
                {"conversation_id": cid, "conversation_type": 1, "max_seq": n, "created_at": now}
                for cid, n in zip(cids, per, strict=True)
            ],
        )
        rows = []
        for i, (cid, peer, n) in enumerate(zip(cids, peers, per, strict=True)):
            mine = n - 1 if i % unread_every == 0 else n
            unread += n - mine
            rows.append(
                {
                    "user_id": "me",
                    "conversation_id": cid,
                    "peer_id": peer,
                    "has_read_seq": mine,
                    "peer_has_read_seq": n,
                    "max_seq": n,
                    "version": i + 1,
                }
            )
            rows.append(
                {
                    "user_id": peer,
                    "conversation_id": cid,
                    "peer_id": "me",
                    "has_read_seq": n,
                    "peer_has_read_seq": mine,
                    "max_seq": n,
                    "version": 1,
                }
            )
        conn.execute(insert(members), rows)
        conn.execute(update(users).where(users.c.user_id == "me").values(version=len(cids)))
        batch: list[dict[str, object]] = []
        for cid, peer, n in zip(cids, peers, per, strict=True):
            for seq in range(1, n + 1):
                batch.append(
                    {
                        "conversation_id": cid,
                        "seq": seq,
                        "server_msg_id": f"{cid}-{seq}",
                        "client_msg_id": f"{cid}-{seq}",
                        "sender_id": peer,
                        "content": f"message {seq}",
                        "send_time": now - (n - seq) * 1000,
                    }
                )
                if len(batch) >= CHUNK:
                    conn.execute(insert(messages), batch)
                    batch.clear()
        if batch:
            conn.execute(insert(messages), batch)
    return Seeded("me", peers, cids, unread)
