"""Fan-out engines: in-process by default, Redis pub/sub between server processes."""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server import serve
from server.asgi import TidemarkASGI
from server.events import EVENT_ADAPTER
from tests.server.conftest import make_app, register

REDIS_URL = os.environ.get("TIDEMARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def two_processes(postgres_url):
    """Two apps (as two server processes would be) on one database, joined by Redis."""
    channel = f"tidemark:test:{uuid.uuid4().hex}"  # apart from other tests' servers
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            app = make_app(postgres_url)
            hub = app.extensions["tidemark"].hub
            hub.inner.close()
            from server.fanout import RedisHub

            try:
                hub.inner = RedisHub(REDIS_URL, channel)
                hub.inner._redis.ping()
            except Exception as error:
                pytest.fail(f"Redis at {REDIS_URL} is not reachable: {error}")
            stack.callback(hub.inner.close)
            stack.callback(app.extensions["tidemark"].db.dispose)
            url = stack.enter_context(serve.in_thread(TidemarkASGI(app)))
            urls.append((app, url.replace("http", "ws") + "/api/ws"))
        yield urls, stack


@pytest.mark.postgres
def test_an_event_crosses_processes_through_redis(two_processes):
    (first_app, _), (_, second_ws) = two_processes[0]
    stack = two_processes[1]
    client = first_app.test_client()
    alice, bob = register(client), register(client)
    ws = stack.enter_context(connect(second_ws, open_timeout=5))
    ws.send(json.dumps({"type": "auth", "token": bob.token}))
    assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    sent = alice.send("across", to=bob.user_id)  # written through the first process
    event = json.loads(ws.recv(timeout=5))
    EVENT_ADAPTER.validate_python(event)
    assert event["message"]["serverMsgID"] == sent["message"]["serverMsgID"]


@pytest.mark.postgres
def test_a_logout_ends_sockets_held_by_another_process(two_processes):
    (first_app, _), (_, second_ws) = two_processes[0]
    stack = two_processes[1]
    alice = register(first_app.test_client())
    ws = stack.enter_context(connect(second_ws, open_timeout=5))
    ws.send(json.dumps({"type": "auth", "token": alice.token}))
    assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    alice.call("POST", "/api/auth/logout")  # through the first process
    assert json.loads(ws.recv(timeout=5))["error"] == "UNAUTHORIZED"
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_the_default_hub_is_in_process(tmp_path):
    from server.fanout import LocalHub

    app = make_app(f"sqlite:///{tmp_path}/db.sqlite")
    assert isinstance(app.extensions["tidemark"].hub.inner, LocalHub)
    app.extensions["tidemark"].db.dispose()


def test_several_worker_processes_deliver_every_event(tmp_path):
    """`tidemark serve --workers 2`: whichever process holds a socket, events reach it."""
    from server.testing import ServerProcess

    server = ServerProcess(
        f"sqlite:///{tmp_path}/db.sqlite",
        tmp_path / "server.log",
        extra_args=("--workers", "2", "--redis-url", REDIS_URL),
    ).start()
    log = tmp_path / "server.log"
    try:
        # Both workers up before the sockets are spread over them (a loaded machine
        # starts the second one later than the first answer).
        deadline = time.monotonic() + 30
        while log.read_text().count("Tidemark worker ready") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.1)
        with httpx.Client(base_url=server.url, timeout=10) as http, ExitStack() as stack:
            tokens = {}
            for name in ("alice", "bob"):
                body = {"userID": name, "password": "password!", "nickname": name}
                assert http.post("/api/users", json=body).status_code == 201
                login = {"userID": name, "password": "password!"}
                tokens[name] = http.post("/api/auth/login", json=login).json()["token"]
            sockets = []
            for _ in range(6):  # spread over both processes by the kernel
                ws = stack.enter_context(connect(server.url.replace("http", "ws") + "/api/ws"))
                ws.send(json.dumps({"type": "auth", "token": tokens["bob"]}))
                assert json.loads(ws.recv(timeout=5))["type"] == "hello"
                sockets.append(ws)
            headers = {"Authorization": f"Bearer {tokens['alice']}"}
            sent = []
            for n in range(5):
                body = {"clientMsgID": f"m{n}", "recvID": "bob", "text": f"hello {n}"}
                answer = http.post("/api/messages", json=body, headers=headers)
                sent.append(answer.json()["message"]["serverMsgID"])
            for ws in sockets:
                received = [json.loads(ws.recv(timeout=5))["message"]["serverMsgID"] for _ in sent]
                assert sorted(received) == sorted(sent)
        assert log.read_text().count("Tidemark worker ready") == 2
    finally:
        server.stop()
