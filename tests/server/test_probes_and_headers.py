"""Health probes (/healthz, /readyz) and the security headers on every answer, served
as ``tidemark serve`` serves them (a real socket through the ASGI layer)."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import httpx
import pytest
from flask import Flask

from server.asgi import TidemarkASGI
from server.security import CONTENT_SECURITY_POLICY
from server.serve import in_thread
from server.storage import Database
from tests.server.conftest import make_app

SECURITY = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_healthz_answers_alive(live_server: str) -> None:
    answer = httpx.get(f"{live_server}/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_names_what_it_checked(live_server: str) -> None:
    answer = httpx.get(f"{live_server}/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "database": "ok", "fanout": "ok"}


def test_readyz_is_503_when_the_database_is_gone(
    app: Flask, live_server: str, tmp_path: Path
) -> None:
    services = app.extensions["tidemark"]
    working = services.db
    # The same engine, at an address where nothing answers: a real failed connection.
    if working.is_sqlite:
        (tmp_path / "gone.db").mkdir()  # a directory where the file should be
        gone = f"sqlite:///{tmp_path / 'gone.db'}"
    else:
        gone = working.url.set(port=_closed_port()).render_as_string(hide_password=False)
    services.db = Database(gone)
    try:
        answer = httpx.get(f"{live_server}/readyz")
    finally:
        services.db.dispose()
        services.db = working
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"
    assert answer.json()["database"].startswith("unreachable")
    assert answer.json()["fanout"] == "ok"
    assert httpx.get(f"{live_server}/readyz").status_code == 200  # and back once it is


def test_readyz_is_503_when_redis_is_unreachable(database_url: str) -> None:
    with _Proxy(6379) as proxy:
        app = make_app(database_url, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0")
        try:
            with in_thread(TidemarkASGI(app)) as url:
                assert httpx.get(f"{url}/readyz").json()["fanout"] == "ok"
                proxy.cut()  # Redis is gone, as far as this server can tell
                answer = httpx.get(f"{url}/readyz")
        finally:
            app.extensions["tidemark"].hub.close()
            app.extensions["tidemark"].db.dispose()
    assert answer.status_code == 503
    assert answer.json()["database"] == "ok"
    assert answer.json()["fanout"].startswith("unreachable")


class _Proxy:
    """A TCP forwarder to 127.0.0.1:``target`` that can be cut (every connection closed,
    new ones refused): an unreachable Redis without stopping the real one."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.cut_off = False

    def __enter__(self) -> _Proxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()

    def cut(self) -> None:
        self.cut_off = True
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self.cut_off:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),  # the page
        ("GET", "/imsdk.js", 200),  # a page asset
        ("GET", "/api/openapi.json", 200),  # the API
        ("GET", "/api/sync", 401),  # an API error
        ("GET", "/no-such-file.js", 404),
        ("GET", "/healthz", 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    live_server: str, method: str, path: str, status: int
) -> None:
    answer = httpx.request(method, f"{live_server}{path}")
    assert answer.status_code == status
    for name, value in SECURITY.items():
        assert answer.headers.get(name) == value, name
    assert "strict-transport-security" not in answer.headers  # plain http by default


def test_the_asgi_layers_own_errors_carry_them_too(live_server: str) -> None:
    answer = httpx.post(
        f"{live_server}/api/messages",
        content=b"x" * (65 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    for name, value in SECURITY.items():
        assert answer.headers.get(name) == value, name


def test_hsts_is_sent_when_configured(database_url: str) -> None:
    app = make_app(database_url, HSTS_SECONDS=31536000)
    try:
        with in_thread(TidemarkASGI(app)) as url:
            answer = httpx.get(f"{url}/healthz")
    finally:
        app.extensions["tidemark"].db.dispose()
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_the_policy_is_strict() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    # Scripts from this origin only; no inline script, no eval beyond WebAssembly's.
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    for name in ("connect-src", "worker-src", "style-src"):
        assert directives[name] == "'self'", name
    # Images: also object URLs of the files the worker fetched with the token (issue 12).
    assert directives["img-src"] == "'self' blob:"
    for name in ("object-src", "base-uri", "frame-ancestors"):
        assert directives[name] == "'none'", name


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
