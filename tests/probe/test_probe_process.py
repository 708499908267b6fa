"""Process supervision of ``tidemark serve --workers 2``: a killed worker is replaced, a
SIGTERM takes the whole tree down and frees the port."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.probe._figures import record
from tests.probe._server import ProbeServer, alive, listening_inodes, pids_holding

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379"


def _workers(server: ProbeServer) -> list[int]:
    """Descendants of the master that hold a listening socket on the server's port."""
    descendants = [pid for pid in server.tree() if pid != server.pid]
    return pids_holding(listening_inodes(server.port), descendants)


def _wait_workers(
    server: ProbeServer, count: int, exclude: set[int], within: float
) -> tuple[list[int], float | None]:
    started = time.monotonic()
    while True:
        workers = _workers(server)
        if len(workers) >= count and not exclude & set(workers):
            return workers, time.monotonic() - started
        if time.monotonic() - started > within:
            return workers, None
        time.sleep(0.1)


def _requests_ok(url: str, count: int = 10) -> int:
    ok = 0
    for _ in range(count):
        try:
            # A new connection each time, so the kernel spreads them over the workers.
            with httpx.Client(timeout=5) as http:
                if http.get(f"{url}/api/openapi.json").status_code == 200:
                    ok += 1
        except httpx.TransportError:
            pass
    return ok


def test_workers_are_supervised(start_server, postgres_url, tmp_path) -> None:
    server = start_server(
        database_url=postgres_url, extra_args=("--workers", "2", "--redis-url", REDIS_URL)
    )
    workers, _ = _wait_workers(server, 2, set(), within=15)
    figures: dict[str, object] = {"workers_at_start": len(workers)}
    assert len(workers) == 2, f"expected 2 workers, found {workers} in tree {server.tree()}"

    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    figures["ok_requests_of_10_right_after_kill"] = _requests_ok(server.url)
    replaced, respawn_seconds = _wait_workers(server, 2, {victim}, within=8)
    figures["respawned_within_s"] = None if respawn_seconds is None else round(respawn_seconds, 2)
    figures["workers_after_kill"] = len([pid for pid in replaced if pid != victim])
    figures["ok_requests_of_10_after_respawn_wait"] = _requests_ok(server.url)
    figures["master_alive_after_kill"] = (
        server.process is not None and server.process.poll() is None
    )

    tree = server.tree()
    sent_term = time.monotonic()
    if server.process is not None and server.process.poll() is None:
        os.kill(server.pid, signal.SIGTERM)
    try:
        assert server.process is not None
        server.process.wait(timeout=10)
        master_exit: float | None = time.monotonic() - sent_term
    except subprocess.TimeoutExpired:
        master_exit = None
    figures["master_exit_code"] = server.process.returncode if server.process else None
    figures["master_exited_within_s"] = None if master_exit is None else round(master_exit, 2)
    # Every process of the tree gone and the port free, within 10 s of the SIGTERM.
    while time.monotonic() - sent_term < 10:
        if not any(alive(pid) for pid in tree) and not listening_inodes(server.port):
            break
        time.sleep(0.1)
    survivors = [pid for pid in tree if alive(pid)]
    figures["survivors_after_10s"] = survivors
    figures["port_still_listening"] = bool(listening_inodes(server.port))
    log_tail = server.log_path.read_text(errors="replace")[-4000:]
    figures["master_traceback"] = (
        next((line for line in reversed(log_tail.splitlines()) if "Error" in line), None)
        if figures["master_exit_code"] not in (0, None)
        else None
    )

    # A new server on the same port, once the old tree is gone.
    replacement = ProbeServer(postgres_url, tmp_path / "replacement.log", port=server.port)
    try:
        replacement.start(timeout=20)
        time.sleep(0.5)
        holders = pids_holding(listening_inodes(server.port))
        restarted = (
            replacement.process is not None
            and replacement.process.poll() is None
            and set(holders) <= set(replacement.tree())
        )
        restart_error = None if restarted else f"listener held by {holders}"
    except RuntimeError as error:
        restarted = False
        restart_error = str(error).splitlines()[-1][:200]
    finally:
        replacement.stop()
    figures["restart_on_same_port"] = restarted
    figures["restart_error"] = restart_error
    record("8_workers_supervision", **figures)

    assert respawn_seconds is not None and respawn_seconds <= 5.5, (
        f"no new worker within 5 s of kill -9: {figures}"
    )
    assert figures["ok_requests_of_10_after_respawn_wait"] == 10, figures
    assert master_exit is not None, "the master did not exit within 10 s of SIGTERM"
    assert not survivors, f"processes left after SIGTERM: {survivors}"
    assert not figures["port_still_listening"], "something still listens on the port"
    assert restarted, f"a new server on the same port failed: {restart_error}"
