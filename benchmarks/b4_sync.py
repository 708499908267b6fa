"""B4: catch-up sync after a few changes, against a full snapshot, for a big account."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from benchmarks._util import login, summary
from server.testing import seeded_server

CHANGES = 10


def run(tiny: bool) -> dict[str, Any]:
    conversation_count = 200 if tiny else 10_000
    runs = 3 if tiny else 10
    with seeded_server(conversation_count, conversation_count) as (server, seeded):
        return _measure(server.url, seeded.peers, conversation_count, runs)


def _measure(base: str, peers: list[str], conversation_count: int, runs: int) -> dict[str, Any]:
    me = login(base, "me")
    senders = {peer: login(base, peer) for peer in peers[:CHANGES]}
    full_ms, full_bytes, delta_ms, delta_bytes = [], [], [], []
    with httpx.Client(base_url=base, timeout=60) as http:
        snapshot = http.get("/api/sync", headers=me).json()
        assert len(snapshot["conversations"]) == conversation_count
        epoch, version = snapshot["epoch"], snapshot["version"]
        for _ in range(runs):
            start = time.perf_counter()
            full = http.get("/api/sync", headers=me)
            full_ms.append((time.perf_counter() - start) * 1000)
            full_bytes.append(len(full.content))
            for peer, headers in senders.items():
                body = {"clientMsgID": uuid.uuid4().hex, "recvID": "me", "text": f"from {peer}"}
                http.post("/api/messages", json=body, headers=headers).raise_for_status()
            start = time.perf_counter()
            delta = http.get(f"/api/sync?epoch={epoch}&version={version}", headers=me)
            delta_ms.append((time.perf_counter() - start) * 1000)
            delta_bytes.append(len(delta.content))
            answer = delta.json()
            assert not answer["full"] and len(answer["conversations"]) == CHANGES
            version = answer["version"]
    return {
        "conversations": conversation_count,
        "changed": CHANGES,
        "full_ms": summary(full_ms),
        "catchup_ms": summary(delta_ms),
        "full_bytes": full_bytes[-1],
        "catchup_bytes": delta_bytes[-1],
        "bytes_ratio": delta_bytes[-1] / full_bytes[-1],
    }
