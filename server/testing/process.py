"""The real ``tidemark serve`` as a subprocess, for tests and benchmarks that need the process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TIDEMARK = str(Path(sys.executable).with_name("tidemark"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``tidemark serve`` on a port and database; its output goes to ``log_path``."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.database_url = database_url
        self.extra_args = extra_args
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {
            **os.environ,
            "TIDEMARK_FAST_PASSWORD_HASHING": "1",
            "TIDEMARK_LOGIN_RATE_LIMIT": "10000 per minute",
            "TIDEMARK_REGISTER_RATE_LIMIT": "10000 per minute",
            "TIDEMARK_LOGIN_FAILURE_RATE_LIMIT": "10000 per minute",
            "TIDEMARK_SEND_RATE_LIMIT": "100000 per minute",
            # Its own fan-out channel: servers of tests running at once may share a Redis.
            "TIDEMARK_REDIS_CHANNEL": f"tidemark:test:{os.getpid()}:{self.port}",
        }
        command = [TIDEMARK, "serve", "--port", str(self.port), "--database-url", self.database_url]
        command += self.extra_args
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tidemark serve exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                httpx.get(f"{self.url}/api/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tidemark serve did not answer within {timeout} s")

    def kill9(self) -> None:
        """Crash the process: no shutdown code runs."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
