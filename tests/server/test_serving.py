"""The network edge: what a hostile or broken client can do to ``tidemark serve``.

Each test drives the app as ``tidemark serve`` serves it (uvicorn with Tidemark's
protocols, :mod:`server.serve`) over real sockets, often with a hand-made client that
misbehaves on purpose: stops reading, floods, sends half a request or a compressed frame.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from server import serve, ws
from tests.server.conftest import register


class RawSocket:
    """A WebSocket client written by hand, so it can do what a real client never would."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, rcvbuf: int = 0):
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /api/ws HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.head = head.decode("latin-1")
        self.buffer = b""

    def send_frame(self, payload: bytes, opcode: int = 1, rsv1: bool = False) -> None:
        self.sock.sendall(frame(payload, opcode, rsv1))

    def send_json(self, value: object) -> None:
        self.send_frame(json.dumps(value).encode())

    def recv_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame from the server."""
        while True:
            if len(self.buffer) >= 2:
                opcode, length, start = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
                if length == 126:
                    length, start = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif length == 127:
                    length, start = struct.unpack("!Q", self.buffer[2:10])[0], 10
                if len(self.buffer) >= start + length:
                    payload = self.buffer[start : start + length]
                    self.buffer = self.buffer[start + length :]
                    return opcode, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the TCP connection")
            self.buffer += chunk

    def recv_json(self) -> dict:
        opcode, payload = self.recv_frame()
        assert opcode == 1, (opcode, payload)
        return json.loads(payload)

    def recv_close(self) -> int:
        """Frames until the server's close frame: its code."""
        while True:
            opcode, payload = self.recv_frame()
            if opcode == 8:
                return int(struct.unpack("!H", payload[:2])[0])

    def read_rest(self, timeout: float = 3.0) -> bytes:
        """Everything the server still sends until it closes the TCP connection."""
        self.sock.settimeout(timeout)
        rest = self.buffer
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return rest
            rest += chunk

    def close(self) -> None:
        self.sock.close()


def frame(payload: bytes, opcode: int = 1, rsv1: bool = False) -> bytes:
    """One masked client frame."""
    head = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def authed(live_server: str, token: str, **kwargs) -> RawSocket:
    raw = RawSocket(live_server, **kwargs)
    assert raw.status == 101, raw.head
    raw.send_json({"type": "auth", "token": token})
    assert raw.recv_json()["type"] == "hello"
    return raw


@pytest.fixture
def pair(app):
    client = app.test_client()
    return register(client, f"a{uuid.uuid4().hex[:8]}"), register(
        client, f"b{uuid.uuid4().hex[:8]}"
    )


def connections(app) -> int:
    return app.extensions["tidemark"].hub.inner.connection_count()


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# --- A client that stops reading ---------------------------------------------------------


@pytest.mark.parametrize("where", ["chat", "group"])
def test_a_reader_that_stopped_never_blocks_its_senders(app, live_server, pair, where):
    sender, slow = pair
    raw = authed(live_server, slow.token, rcvbuf=4096)  # and never reads again
    target = {"recvID": slow.user_id}
    if where == "group":
        bystander = register(app.test_client(), f"c{uuid.uuid4().hex[:8]}")
        group = sender.group(slow.user_id, bystander.user_id)
        target = {"groupID": group["groupID"]}
    text = "x" * 1000
    slowest = 0.0
    with httpx.Client(base_url=live_server, headers=sender.headers, timeout=10) as http:
        for n in range(ws.OUTBOUND_QUEUE + 300):
            started = time.monotonic()
            answer = http.post(
                "/api/messages", json={"clientMsgID": f"m{n}", "text": text, **target}
            )
            slowest = max(slowest, time.monotonic() - started)
            assert answer.status_code == 200, answer.text
        # The socket fell behind by more than its queue: it was dropped, and its user
        # can still log out at once.
        assert wait_for(lambda: connections(app) == 0), "the slow socket was never dropped"
        logout = httpx.post(f"{live_server}/api/auth/logout", headers=slow.headers, timeout=5)
        assert logout.status_code == 200
    assert slowest < 5.0
    raw.close()


# --- Frames that would cost memory -------------------------------------------------------


def test_compression_is_never_negotiated(live_server):
    raw = RawSocket(live_server, {"Sec-WebSocket-Extensions": "permessage-deflate"})
    assert raw.status == 101
    assert "sec-websocket-extensions" not in raw.head.lower()
    # So a compressed frame (a deflate bomb: 1 MiB of zeros here) is a protocol error.
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\0" * (1 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    raw.send_frame(payload[:-4], rsv1=True)
    assert raw.recv_close() == 1002
    raw.close()


def test_an_oversized_frame_is_refused_from_its_header(live_server):
    raw = RawSocket(live_server)
    header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 128 << 20) + os.urandom(4)
    raw.sock.sendall(header + b"\0" * 65536)  # the rest would follow: 128 MiB
    assert raw.recv_close() == 1009
    raw.close()


def test_a_frame_flood_is_closed_not_processed(live_server, pair):
    alice, _ = pair
    raw = authed(live_server, alice.token)
    raw.sock.sendall(frame(b'{"type":"ping"}') * (ws.FRAME_BURST * 10))
    pongs = 0
    while True:
        opcode, payload = raw.recv_frame()
        if opcode == 8:
            assert struct.unpack("!H", payload[:2])[0] == ws.CLOSE_POLICY
            break
        if json.loads(payload)["type"] == "pong":
            pongs += 1
    # The burst, and what the steady rate refilled while it was answered: not the flood.
    assert ws.FRAME_BURST - 5 <= pongs < ws.FRAME_BURST * 2
    raw.close()


# --- Requests that never finish ---------------------------------------------------------


def test_half_sent_request_headers_are_cut_off(live_server, monkeypatch):
    monkeypatch.setattr(serve, "HEADER_TIMEOUT", 0.5)
    host, port = live_server.removeprefix("http://").split(":")
    silent = socket.create_connection((host, int(port)), timeout=5)  # sends nothing at all
    slow = socket.create_connection((host, int(port)), timeout=5)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    for sock in (silent, slow):
        assert sock.recv(1024) == b""  # closed by the server
        sock.close()
    assert time.monotonic() - started < 3
    assert httpx.get(f"{live_server}/api/openapi.json").status_code == 200


def test_a_body_that_never_finishes_is_answered_408(live_server, monkeypatch):
    from server import asgi

    monkeypatch.setattr(asgi, "BODY_TIMEOUT", 0.5)
    host, port = live_server.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    answer = b""
    while chunk := sock.recv(4096):  # the server closes after answering
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"REQUEST_TIMEOUT"' in answer
    sock.close()


def test_a_chunked_body_over_the_limit_is_413(live_server):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    answer = httpx.post(
        f"{live_server}/api/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "BODY_TOO_LARGE"


def test_answers_name_no_server_software(live_server):
    answer = httpx.get(f"{live_server}/api/openapi.json")
    assert "server" not in answer.headers
    assert answer.headers.get("connection") != "close"  # keep-alive


# --- Closing ----------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["not json", '{"type": "auth", "token": "forged"}'])
def test_a_server_close_ends_the_tcp_connection_cleanly(live_server, first):
    for _ in range(10):
        raw = RawSocket(live_server)
        raw.send_frame(first.encode())
        error = raw.recv_json()
        assert error["type"] == "error"
        assert raw.recv_close() in (ws.CLOSE_BAD_FRAME, ws.CLOSE_UNAUTHORIZED)
        raw.send_frame(struct.pack("!H", 1000), opcode=8)  # our answer to the close
        assert raw.read_rest() == b""  # no stray bytes, then the server's FIN
        raw.close()


def test_a_peer_that_never_answers_the_close_is_cut_off(live_server):
    raw = RawSocket(live_server)
    raw.send_frame(b"not json")
    raw.recv_json()
    assert raw.recv_close() == ws.CLOSE_BAD_FRAME
    started = time.monotonic()
    assert raw.read_rest(timeout=serve.CLOSE_TIMEOUT + 3) == b""  # we never answered
    assert time.monotonic() - started < serve.CLOSE_TIMEOUT + 2
    raw.close()


# --- Sessions ---------------------------------------------------------------------------


def test_a_socket_ends_when_its_token_expires(app, live_server, pair):
    sender, _ = pair
    app.config["TOKEN_TTL_SECONDS"] = 2
    short = register(app.test_client(), f"s{uuid.uuid4().hex[:8]}")
    expires = time.time() + 2  # a little after the token's true expiry
    with connect(live_server.replace("http", "ws") + "/api/ws", open_timeout=5) as socket_:
        socket_.send(json.dumps({"type": "auth", "token": short.token}))
        assert json.loads(socket_.recv(timeout=5))["type"] == "hello"
        with ThreadPoolExecutor(1) as pool:

            def keep_sending() -> None:
                for n in range(12):
                    sender.send(f"tick {n}", to=short.user_id)
                    time.sleep(0.25)

            sending = pool.submit(keep_sending)
            frames = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    frames.append((time.time(), json.loads(socket_.recv(timeout=10))))
            sending.result()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == ws.CLOSE_UNAUTHORIZED
    assert frames[-1][1]["error"] == "TOKEN_EXPIRED"
    events = [at for at, f in frames if f["type"] == "message.new"]
    assert events and max(events) <= expires + 0.5
    assert time.time() - expires < 2.0


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [(None, True), ("same", True), ("http://evil.example", False), ("null", False)],
)
def test_a_socket_from_another_origin_is_refused(live_server, pair, origin, accepted):
    headers = {}
    if origin is not None:
        headers["Origin"] = live_server if origin == "same" else origin
    url = live_server.replace("http", "ws") + "/api/ws"
    if not accepted:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=5)
        assert refused.value.response.status_code == 403
        return
    with connect(url, additional_headers=headers, open_timeout=5) as socket_:
        socket_.send(json.dumps({"type": "auth", "token": pair[0].token}))
        assert json.loads(socket_.recv(timeout=5))["type"] == "hello"


def test_a_request_whose_op_is_not_a_string_is_a_validation_error(live_server, pair):
    raw = authed(live_server, pair[0].token)
    raw.send_json({"type": "request", "id": 1, "op": 5, "body": {}})
    answer = raw.recv_json()
    assert (answer["type"], answer["id"], answer["errCode"]) == ("response", 1, 1002)
    raw.close()
