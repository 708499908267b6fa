"""Redis may restart without any device ending stale (issue 13): `tidemark serve --workers 2`
with Redis fan-out; Redis is killed while messages are sent and started again; every
device, whichever worker holds its socket, ends with the server's truth (a fresh sync)
without any later event to reveal a gap, and no send failed while Redis was down.

Redis here is a private ``redis-server`` on a free port (Debian's, as on every machine),
so that killing it touches nothing else.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tidemark_sdk import HttpTransport, MemoryStore, TidemarkClient

from server.testing import ServerProcess, free_port

PASSWORD = "password!"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class Redis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is missing: apt-get install redis-server", pytrace=False)
    server = Redis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def test_a_redis_restart_leaves_no_device_with_a_stale_count(tmp_path: Path, redis: Redis) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(
        f"sqlite:///{tmp_path}/db.sqlite",
        log,
        extra_args=("--workers", "2", "--redis-url", redis.url),
    ).start()
    try:
        deadline = time.monotonic() + 30
        while log.read_text().count("Tidemark worker ready") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.1)
        asyncio.run(_scenario(server.url, redis))
    finally:
        server.stop()
    assert "subscribed again" in log.read_text()  # the recovery ran, in the workers


async def _scenario(url: str, redis: Redis) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        tokens = {}
        for name in ("alice", "bob"):
            body = {"userID": name, "password": PASSWORD, "nickname": name}
            assert (await http.post("/api/users", json=body)).status_code == 201
            login = await http.post("/api/auth/login", json={"userID": name, "password": PASSWORD})
            tokens[name] = login.json()["token"]
        alice = {"Authorization": f"Bearer {tokens['alice']}"}

        async def send(n: int) -> None:
            body = {"clientMsgID": f"m{n}", "recvID": "bob", "text": f"hello {n}"}
            answer = await http.post("/api/messages", json=body, headers=alice)
            assert answer.status_code == 200, answer.text  # stored: Redis down or not

        transport = HttpTransport(url, timeout=15)
        devices = [TidemarkClient(transport, MemoryStore()) for _ in range(6)]
        for device in devices:  # spread over both workers by the kernel
            await device.login("bob", PASSWORD)
        await send(0)
        await _until(devices, 1)

        redis.kill()
        for n in range(1, 4):
            await send(n)
        redis.start()  # empty: Redis keeps nothing, the database keeps everything
        # No further event: each device learns of the 3 sends only through the resync.
        await _until(devices, 4, timeout=20)
        truth = await http.get("/api/sync", headers={"Authorization": f"Bearer {tokens['bob']}"})
        (record,) = truth.json()["conversations"]
        assert record["unreadCount"] == 4
        # And the fan-out works again afterwards.
        await send(4)
        await _until(devices, 5)
        for device in devices:
            await device.logout()
        await transport.aclose()


async def _until(devices: list[TidemarkClient], total: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        totals = [await device.get_total_unread_msg_count() for device in devices]
        if all(t == total for t in totals):
            return
        assert time.monotonic() < deadline, f"devices show {totals}, the server {total}"
        await asyncio.sleep(0.1)
