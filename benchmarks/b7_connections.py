"""B7: connected devices. 10,000 authenticated WebSockets on one server process, idle
with heartbeats, and sends to some of them while all stay connected.

Users and their tokens are written straight into the database (no 10,000 logins); each
device is a bare WebSocket client (auth, then a ping every ``PING_INTERVAL`` seconds with
jitter, as the SDK does), all in this process's event loop. Reported:

- the server's RSS once all are connected, and its growth per 1,000 sockets;
- the server's CPU while they are idle (heartbeats only), in % of one core;
- delivery latency of sends (HTTP, from other users) to connected devices: from the
  send's start to the ``message.new`` frame on the target's socket.

Each socket is a file descriptor on both ends: the benchmark raises this process's
``RLIMIT_NOFILE`` to its hard limit (the server inherits it) and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import resource
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import insert

from benchmarks._util import summary
from server.storage import Database
from server.storage.tables import tokens
from server.testing import ServerProcess
from server.testing.seed import insert_users

PING_INTERVAL = 25.0  # seconds; the protocol asks for one at least every 30 s
FULL = {"devices": 10_000, "idle_seconds": 60.0, "sends": 300, "send_rate": 30.0}
TINY = {"devices": 200, "idle_seconds": 3.0, "sends": 20, "send_rate": 20.0}


def run(tiny: bool) -> dict[str, Any]:
    size = TINY if tiny else FULL
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * size["devices"] + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'b7.db'}"
        db = Database(database_url)
        db.migrate()
        device_tokens = _seed(db, size["devices"])
        sender_token = device_tokens.pop("sender")
        db.dispose()
        server = ServerProcess(database_url, Path(folder) / "server.log").start()
        try:
            assert server.process is not None
            result = asyncio.run(
                _measure(server.url, server.process.pid, device_tokens, sender_token, size)
            )
        finally:
            server.stop()
    return {"nofile_limit": wanted, "nofile_limit_before": soft, **result}


def _seed(db: Database, count: int) -> dict[str, str]:
    now = int(time.time() * 1000)
    names = [f"d{n:05d}" for n in range(count)] + ["sender"]
    issued = {name: secrets.token_urlsafe(32) for name in names}
    with db.write() as tx:
        insert_users(tx.conn, names, now, version=0)
        tx.conn.execute(
            insert(tokens),
            [
                {
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                    "user_id": name,
                    "expires_at": now + 86_400_000,
                }
                for name, token in issued.items()
            ],
        )
    return issued


class Device:
    def __init__(self, user_id: str, socket: Any) -> None:
        self.user_id = user_id
        self.socket = socket
        self.arrived: dict[str, float] = {}  # clientMsgID -> perf_counter
        self.closed: str | None = None


async def _measure(
    url: str, pid: int, device_tokens: dict[str, str], sender_token: str, size: dict[str, Any]
) -> dict[str, Any]:
    ws_url = url.replace("http://", "ws://") + "/api/ws"
    rss_start = _rss_mb(pid)
    devices: list[Device] = []
    started = time.perf_counter()
    items = list(device_tokens.items())
    for batch in range(0, len(items), 250):
        devices += await asyncio.gather(
            *(_connect(ws_url, url, user, token) for user, token in items[batch : batch + 250])
        )
    connect_seconds = time.perf_counter() - started
    readers = [asyncio.create_task(_read(device)) for device in devices]
    pingers = [asyncio.create_task(_ping(device)) for device in devices]
    rss_connected = _rss_mb(pid)

    await asyncio.sleep(min(5.0, size["idle_seconds"]))  # the connect burst settles
    cpu_before, wall_before = _cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(size["idle_seconds"])
    idle_cpu = (_cpu_seconds(pid) - cpu_before) / (time.perf_counter() - wall_before)

    sent: dict[str, tuple[Device, float]] = {}
    async with httpx.AsyncClient(
        base_url=url, timeout=30, headers={"Authorization": f"Bearer {sender_token}"}
    ) as http:

        async def send(n: int) -> None:
            target = random.choice(devices)
            client_msg_id = f"b7-{n}-{secrets.token_hex(4)}"
            sent[client_msg_id] = (target, time.perf_counter())
            answer = await http.post(
                "/api/messages",
                json={"clientMsgID": client_msg_id, "recvID": target.user_id, "text": "b7"},
            )
            answer.raise_for_status()

        tasks = []
        for n in range(size["sends"]):
            tasks.append(asyncio.create_task(send(n)))
            await asyncio.sleep(1 / size["send_rate"])
        await asyncio.gather(*tasks)
        await asyncio.sleep(2.0)
    latencies = [
        (target.arrived[cid] - t0) * 1000
        for cid, (target, t0) in sent.items()
        if cid in target.arrived
    ]
    still_open = sum(device.closed is None for device in devices)
    rss_end = _rss_mb(pid)
    for task in readers + pingers:
        task.cancel()
    await asyncio.gather(*(device.socket.close() for device in devices), return_exceptions=True)
    count = len(devices)
    return {
        "devices": count,
        "connect_seconds": connect_seconds,
        "still_open": still_open,
        "server_rss_mb_start": rss_start,
        "server_rss_mb_connected": rss_connected,
        "server_rss_mb_end": rss_end,
        "rss_mb_per_1000_sockets": (rss_connected - rss_start) * 1000 / count,
        "idle_cpu_percent_of_core": idle_cpu * 100,
        "pings_per_s": count / PING_INTERVAL,
        "sends": len(sent),
        "delivered": len(latencies),
        "delivery_ms": summary(latencies) if latencies else None,
    }


async def _connect(ws_url: str, origin: str, user_id: str, token: str) -> Device:
    socket = await websockets.connect(
        ws_url,
        origin=origin,
        compression=None,
        max_size=2**20,
        ping_interval=None,  # type: ignore[arg-type]
    )
    await socket.send(json.dumps({"type": "auth", "token": token}))
    hello = json.loads(await socket.recv())
    if hello.get("type") != "hello":
        raise RuntimeError(f"{user_id}: no hello: {hello}")
    return Device(user_id, socket)


async def _read(device: Device) -> None:
    try:
        async for raw in device.socket:
            frame = json.loads(raw)
            if frame.get("type") == "message.new":
                device.arrived.setdefault(frame["message"]["clientMsgID"], time.perf_counter())
    except websockets.ConnectionClosed as closed:
        device.closed = str(closed)
    else:
        device.closed = "closed"


async def _ping(device: Device) -> None:
    await asyncio.sleep(random.uniform(0, PING_INTERVAL))
    while True:
        await device.socket.send('{"type":"ping"}')
        await asyncio.sleep(PING_INTERVAL * random.uniform(0.9, 1.0))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100  # USER_HZ
