"""A ``tidemark serve`` for the probes: chosen environment, process tree, RSS, threads.

Reuses :class:`server.testing.ServerProcess` (port, log, stop) and adds what the probes
measure. Everything here reads ``/proc``; no extra dependency.

``TIDEMARK_PROBE_SERVER_ROOT=/some/checkout`` runs the server from another source tree
(``python -c 'from server.cli import main'`` with that tree first on ``PYTHONPATH``)
instead of the installed ``tidemark`` script: that is how the BEFORE figures are taken
from an older commit while the working tree moves on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.testing import TIDEMARK, ServerProcess

# What every probe server gets unless the probe says otherwise (None unsets a variable).
BASE_ENV: dict[str, str | None] = {
    "TIDEMARK_FAST_PASSWORD_HASHING": "1",
    "TIDEMARK_LOGIN_RATE_LIMIT": "10000 per minute",
    "TIDEMARK_REGISTER_RATE_LIMIT": "10000 per minute",
    # Limits added by the hardening: out of the way, except where a probe tests them.
    "TIDEMARK_LOGIN_FAILURE_RATE_LIMIT": "100000 per minute",
    "TIDEMARK_SEND_RATE_LIMIT": "100000 per minute",
}


def _command() -> list[str]:
    root = os.environ.get("TIDEMARK_PROBE_SERVER_ROOT")
    if root:
        return [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]
    return [TIDEMARK]


class ProbeServer(ServerProcess):
    def __init__(
        self,
        database_url: str,
        log_path: Path,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str | None] | None = None,
    ) -> None:
        super().__init__(database_url, log_path, port=port, extra_args=extra_args)
        self.env_overrides = {**BASE_ENV, **(env or {})}
        # Every process of the tree ever seen: (pid, start time), to clean up orphans.
        self.seen: set[tuple[int, int]] = set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30) -> ProbeServer:
        env = dict(os.environ)
        for name, value in self.env_overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        root = os.environ.get("TIDEMARK_PROBE_SERVER_ROOT")
        if root:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        command = [*_command(), "serve", "--port", str(self.port)]
        command += ["--database-url", self.database_url, *self.extra_args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=log, cwd=root or None
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tidemark serve exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.url}/api/openapi.json", timeout=1)
                self.tree()
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tidemark serve did not answer within {timeout} s")

    # --- the process tree ----------------------------------------------------------------

    def tree(self) -> list[int]:
        """The master and all its live descendants (pids)."""
        if self.process is None or self.process.poll() is not None:
            return []
        pids = [self.pid, *descendants(self.pid)]
        for pid in pids:
            started = start_time(pid)
            if started is not None:
                self.seen.add((pid, started))
        return pids

    def children(self) -> list[int]:
        return direct_children(self.pid) if self.process and self.process.poll() is None else []

    def rss_mib(self) -> float:
        return sum(status_field(pid, "VmRSS") for pid in self.tree()) / 1024

    def threads(self) -> int:
        return int(sum(status_field(pid, "Threads") for pid in self.tree()))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole live tree."""
        total = 0
        for pid in self.tree():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.tree()
        super().stop()
        self.kill_leftovers()

    def kill_leftovers(self) -> list[int]:
        """SIGKILL every process of this server's tree still alive (by pid and start time)."""
        killed = []
        for pid, started in sorted(self.seen):
            if start_time(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        return killed


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def status_field(pid: int, name: str) -> int:
    """A number from /proc/<pid>/status (VmRSS in KiB, Threads); 0 when gone."""
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def start_time(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie holds nothing; its parent has yet to reap it
    return int(fields[19])


def direct_children(pid: int) -> list[int]:
    children: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = _read(f"/proc/{pid}/task/{task}/children") or ""
            children.update(int(child) for child in text.split())
    return sorted(child for child in children if start_time(child) is not None)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = direct_children(pid)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(direct_children(child))
    return sorted(found)


def alive(pid: int) -> bool:
    return start_time(pid) is not None


# --- who listens on a port ------------------------------------------------------------------


def listening_inodes(port: int) -> set[int]:
    """Socket inodes in LISTEN state on this TCP port (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in (_read(table) or "").splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port and inode:
                inodes.add(inode)
    return inodes


def pids_holding(inodes: set[int], candidates: list[int] | None = None) -> list[int]:
    """Processes (of this user, readable) with an fd on one of these socket inodes."""
    if not inodes:
        return []
    wanted = {f"socket:[{inode}]" for inode in inodes}
    pids = candidates
    if pids is None:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    holders = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    holders.append(pid)
                    break
            except OSError:
                continue
    return sorted(holders)


TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def server_side_state(server_port: int, client_port: int) -> tuple[str, int] | None:
    """(state, inode) of the server's end of one loopback connection, None when gone.

    The inode is 0 once the server process has closed its socket (the kernel still
    finishes the connection), so ``inode == 0`` or a state other than ESTABLISHED means
    the server has let go of it.
    """
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in (_read(table) or "").splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return TCP_STATES.get(fields[3], fields[3]), int(fields[9])
    return None


def tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(tx_queue, rx_queue) bytes of the loopback socket local_port -> remote_port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in (_read(table) or "").splitlines()[1:]:
            fields = line.split()
            if (
                int(fields[1].rsplit(":", 1)[1], 16) == local_port
                and int(fields[2].rsplit(":", 1)[1], 16) == remote_port
            ):
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None
