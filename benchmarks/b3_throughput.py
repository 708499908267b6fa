"""B3: server throughput with many connected WebSocket clients.

The load generator is the CPython SDK: every simulated user is a ``TidemarkClient``
(own cache, own WebSocket, the same code the browser runs), sharing one HTTP pool.
Clients are paired; a send goes from a client to its partner, and its delivery latency
runs from the moment the send starts to the partner's ``OnRecvNewMessages``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tidemark_sdk import HttpTransport, MemoryStore, TidemarkClient

from benchmarks._util import summary
from server.testing import ServerProcess, scratch_database

PASSWORD = "benchmark pw"
REDIS_URL = os.environ.get("TIDEMARK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def run(tiny: bool, postgres_url: str | None, workers: int = 1) -> list[dict[str, Any]]:
    """``workers`` > 1 runs ``tidemark serve --workers N`` with Redis fan-out."""
    clients, seconds, concurrency = (20, 2.0, 8) if tiny else (1000, 10.0, 64)
    results = []
    engines = [("sqlite", None)] + ([("postgres", postgres_url)] if postgres_url else [])
    for engine, url in engines:
        with (
            tempfile.TemporaryDirectory() as folder,
            scratch_database(url, folder) as database_url,
        ):
            extra = ("--workers", str(workers), "--redis-url", REDIS_URL) if workers > 1 else ()
            log = Path(folder) / "server.log"
            server = ServerProcess(database_url, log, extra_args=extra).start()
            try:
                result = asyncio.run(_measure(server, clients, seconds, concurrency))
            finally:
                server.stop()
        results.append({"engine": engine, "workers": workers, **result})
    return results


async def _measure(
    server: ServerProcess, count: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    assert server.process is not None
    pid = server.process.pid
    names = [f"u{n:05d}" for n in range(count)]
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        for batch in range(0, count, 50):
            await asyncio.gather(
                *(
                    http.post("/api/users", json={"userID": n, "password": PASSWORD, "nickname": n})
                    for n in names[batch : batch + 50]
                )
            )
    transport = HttpTransport(server.url, timeout=60)
    clients = [TidemarkClient(transport, MemoryStore()) for _ in names]
    arrivals: dict[str, float] = {}
    online: set[int] = set()
    for n, client in enumerate(clients):
        client.on("OnRecvNewMessages", lambda messages: _arrived(messages, arrivals))
        client.on("OnConnectSuccess", functools.partial(_connected, online, n))
    for batch in range(0, count, 50):
        await asyncio.gather(
            *(
                c.login(n, PASSWORD)
                for c, n in zip(clients[batch : batch + 50], names[batch : batch + 50], strict=True)
            )
        )
    connected = await _wait_for(lambda: len(online) == count, 120)
    cpu_before, wall_before = _cpu_seconds(pid), time.perf_counter()
    load_cpu_before = time.process_time()

    started: dict[str, float] = {}
    talked: list[int] = []  # clients whose chat with their partner exists

    def partner(i: int) -> str:
        return names[i ^ 1 if (i ^ 1) < count else i - 1]

    async def send_one() -> None:
        i = random.randrange(count)
        sender = clients[i]
        message = await sender.create_text_message("benchmark")
        started[message["clientMsgID"]] = time.perf_counter()
        await sender.send_message(message, recv_id=partner(i))
        talked.append(i)

    sends, send_elapsed = await _closed_loop(send_one, seconds, concurrency)
    await asyncio.sleep(1.0)  # let the last deliveries land
    latencies = [(arrivals[cid] - t0) * 1000 for cid, t0 in started.items() if cid in arrivals]
    sent = len(started)

    async def read_one() -> None:
        i = random.choice(talked)
        partner = names[i ^ 1 if (i ^ 1) < count else i - 1]
        await clients[i].mark_conversation_message_as_read(
            f"si_{'_'.join(sorted((names[i], partner)))}"
        )

    reads, read_elapsed = await _closed_loop(read_one, seconds / 2, concurrency)
    cpu_seconds = _cpu_seconds(pid) - cpu_before
    load_cpu_seconds = time.process_time() - load_cpu_before
    cpu = cpu_seconds / (time.perf_counter() - wall_before)
    peak_mb = _peak_rss_mb(pid)

    # The closed loop measures capacity; its latency is mostly queueing (in flight /
    # rate). Sends offered at a steady half of that capacity show the latency of a
    # server with headroom.
    steady_rate = max(1.0, sends / send_elapsed / 2)
    started.clear()
    await _open_loop(send_one, steady_rate, seconds / 2)
    await asyncio.sleep(1.0)
    steady = [(arrivals[cid] - t0) * 1000 for cid, t0 in started.items() if cid in arrivals]

    for client in clients:
        await client.logout()
    await transport.aclose()
    return {
        "clients": count,
        "all_connected": connected,
        "online": len(online),
        "concurrency": concurrency,
        "sends_per_s": sends / send_elapsed,
        "mark_reads_per_s": reads / read_elapsed,
        "delivered": len(latencies),
        "sent": sent,
        "delivery_ms": summary(latencies) if latencies else None,
        "steady_sends_per_s": steady_rate,
        "steady_delivery_ms": summary(steady) if steady else None,
        "steady_lost": len(started) - len(steady),
        "server_cpu_cores": cpu,
        # What one operation costs the server: its capacity whatever the load generator.
        "server_cpu_ms_per_op": cpu_seconds * 1000 / max(1, sends + reads),
        "server_peak_rss_mb": peak_mb,
        # The load generator (this process, 1,000 SDK clients) shares the same cores.
        "load_generator_cpu_ms_per_op": load_cpu_seconds * 1000 / max(1, sends + reads),
        "latencies_ms": sorted(latencies),
    }


def _connected(online: set[int], n: int, _data: Any) -> None:
    online.add(n)


def _arrived(messages: list[dict[str, Any]], arrivals: dict[str, float]) -> None:
    now = time.perf_counter()
    for message in messages:
        arrivals.setdefault(message["clientMsgID"], now)


async def _closed_loop(action: Any, seconds: float, concurrency: int) -> tuple[int, float]:
    done = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await action()
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start


async def _open_loop(action: Any, rate: float, seconds: float) -> None:
    """Start ``action`` ``rate`` times a second whatever the answers' pace."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        tasks.append(asyncio.ensure_future(action()))
    await asyncio.gather(*tasks)


async def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def _processes(pid: int) -> list[int]:
    """The server and its worker processes (``--workers``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for process in _processes(pid):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _peak_rss_mb(pid: int) -> float:
    """Sum of every process's peak resident memory."""
    total = 0.0
    for process in _processes(pid):
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total
