"""Metrics (``/metrics``), the JSON request log with its request ID, and the formatter."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from server.observability import JsonFormatter
from tests.server.conftest import register


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_a_known_load(client: FlaskClient) -> None:
    alice, bob = register(client), register(client)
    before = scrape(client)
    for _ in range(3):
        alice.send("hi", to=bob.user_id)
    conversation = "si_" + "_".join(sorted((alice.user_id, bob.user_id)))
    bob.read(conversation)
    client.get("/api/no-such-route")  # the page's catch-all route pattern answers 404
    client.post("/api/no-such-route", json={})  # no route takes POST here: none matched
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    sends = {"route": "/api/messages", "method": "POST", "status": "200"}
    assert delta("tidemark_http_requests_total", **sends) == 3
    read = {"route": "/api/conversations/<conversation_id>/read", "method": "POST"}
    assert delta("tidemark_http_requests_total", **read, status="200") == 1
    page = {"route": "/<path:filename>", "method": "GET", "status": "404"}
    assert delta("tidemark_http_requests_total", **page) == 1
    unmatched = {"route": "(unmatched)", "method": "POST", "status": "405"}
    assert delta("tidemark_http_requests_total", **unmatched) == 1
    latency = "tidemark_http_request_duration_seconds_count"
    assert delta(latency, route="/api/messages") == 3
    # Each send pushes to both users (two events), the read to bob (and a receipt to alice).
    assert delta("tidemark_events_published_total") >= 3 * 2 + 1
    transactions = "tidemark_db_transaction_duration_seconds_count"
    assert delta(transactions, kind="write") >= 4
    assert delta(transactions, kind="read") >= 1


def test_sockets_and_delivery_are_counted(client: FlaskClient, live_server: str) -> None:
    alice, bob = register(client), register(client)
    ws_url = live_server.replace("http://", "ws://") + "/api/ws"
    before = scrape(client)
    with connect(ws_url) as socket:
        socket.send(json.dumps({"type": "auth", "token": bob.token}))
        assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        connected = scrape(client)
        assert value(connected, "tidemark_websocket_connections") == (
            value(before, "tidemark_websocket_connections") + 1
        )
        alice.send("over the socket", to=bob.user_id)
        assert json.loads(socket.recv(timeout=10))["type"] == "message.new"
        after = scrape(client)
    assert value(after, "tidemark_events_delivered_total") - value(
        before, "tidemark_events_delivered_total"
    ) == pytest.approx(1)
    lag = "tidemark_fanout_lag_seconds_count"
    assert value(after, lag) - value(before, lag) == 1
    closed = scrape(client)
    for _ in range(50):  # the server notices the close on its own loop
        if value(closed, "tidemark_websocket_connections") == value(
            before, "tidemark_websocket_connections"
        ):
            break
        closed = scrape(client)
    assert value(closed, "tidemark_websocket_connections") == value(
        before, "tidemark_websocket_connections"
    )


def test_each_request_logs_one_json_line_with_its_request_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tidemark.access"):
        answer = client.get("/healthz")
        given = client.get("/healthz", headers={"X-Request-ID": "proxy-42"})
        forged = client.get("/healthz", headers={"X-Request-ID": "bad id; DROP"})
    lines = [r for r in caplog.records if r.name == "tidemark.access"]
    assert len(lines) == 3
    fields = [r.fields for r in lines]  # type: ignore[attr-defined]
    assert fields[0]["requestID"] == answer.headers["X-Request-ID"]
    assert len(fields[0]["requestID"]) == 32
    assert fields[1]["requestID"] == given.headers["X-Request-ID"] == "proxy-42"
    assert fields[2]["requestID"] == forged.headers["X-Request-ID"] != "bad id; DROP"
    assert {k: fields[0][k] for k in ("method", "route", "path", "status")} == {
        "method": "GET",
        "route": "/healthz",
        "path": "/healthz",
        "status": 200,
    }
    assert fields[0]["durationMs"] >= 0
    line = json.loads(JsonFormatter().format(lines[0]))
    assert line["level"] == "info"
    assert line["logger"] == "tidemark.access"
    assert line["requestID"] == fields[0]["requestID"]
    assert line["message"] == "GET /healthz 200"


def test_the_formatter_keeps_exceptions_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info=True
        )
        record.exc_info = __import__("sys").exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed here"
    assert "ValueError: boom" in line["exception"]


def test_metrics_over_the_served_app(live_server: str) -> None:
    answer = httpx.get(f"{live_server}/metrics")
    assert answer.status_code == 200
    assert "tidemark_http_requests_total" in answer.text


def test_workers_share_metrics_and_a_dead_workers_sockets_leave_the_gauge(tmp_path) -> None:
    """`--workers 2`: any worker's /metrics sums both; after kill -9 of one worker (it is
    replaced), the connected-sockets gauge counts only the sockets still open, and the
    metrics folder is removed when the server stops."""
    import os
    import signal
    import time
    from contextlib import ExitStack
    from pathlib import Path

    from server.testing import ServerProcess
    from tests.server.test_fanout import REDIS_URL

    log = tmp_path / "server.log"
    server = ServerProcess(
        f"sqlite:///{tmp_path}/db.sqlite",
        log,
        extra_args=("--workers", "2", "--redis-url", REDIS_URL),
    ).start()
    assert server.process is not None
    try:
        deadline = time.monotonic() + 30
        while log.read_text().count("Tidemark worker ready") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.1)
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
        workers = [
            int(pid)
            for pid in children.read_text().split()
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not its tracker
        ]
        assert len(workers) == 2
        folder = next(
            entry.split(b"=", 1)[1].decode()
            for entry in Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
            if entry.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        )
        with httpx.Client(base_url=server.url, timeout=10) as http, ExitStack() as stack:
            body = {"userID": "alice", "password": "password!", "nickname": "alice"}
            assert http.post("/api/users", json=body).status_code == 201
            login = {"userID": "alice", "password": "password!"}
            token = http.post("/api/auth/login", json=login).json()["token"]
            sockets = []
            for _ in range(8):  # spread over both processes by the kernel
                ws = stack.enter_context(connect(server.url.replace("http", "ws") + "/api/ws"))
                ws.send(json.dumps({"type": "auth", "token": token}))
                assert json.loads(ws.recv(timeout=5))["type"] == "hello"
                sockets.append(ws)

            def gauge() -> float:
                text = http.get("/metrics").text
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "tidemark_websocket_connections":
                            return float(sample.value)
                raise AssertionError("no tidemark_websocket_connections in /metrics")

            assert gauge() == 8  # whichever worker answers: the sum of both
            os.kill(workers[0], signal.SIGKILL)
            open_sockets = []
            for ws in sockets:
                try:
                    ws.send(json.dumps({"type": "ping"}))
                    assert json.loads(ws.recv(timeout=5))["type"] == "pong"
                    open_sockets.append(ws)
                except Exception:
                    continue
            assert 0 < len(open_sockets) < 8, "the kernel put every socket on one worker"
            while log.read_text().count("Tidemark worker ready") < 3:
                assert time.monotonic() < deadline + 30, "the dead worker was not replaced"
                time.sleep(0.1)
            assert gauge() == len(open_sockets)
    finally:
        server.stop()
    assert not Path(folder).exists()
