"""A raw WebSocket client on a plain TCP socket: every byte under the probe's control.

The ``websockets`` library would refuse to send the frames the probes need (RSV1 without
a negotiated extension, a 128 MiB header without its payload) and would read for us
when a probe must not read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class Closed(Exception):
    """The TCP stream ended (EOF or reset)."""


def mask_bytes(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def frame_header(
    opcode: int, length: int, fin: bool = True, rsv1: bool = False, mask: bytes | None = None
) -> bytes:
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    return header + (mask or b"")


def encode_frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A client frame (masked, as a client must)."""
    mask = os.urandom(4)
    return frame_header(opcode, len(payload), fin, rsv1, mask) + mask_bytes(payload, mask)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()


@dataclass
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True
    rsv1: bool = False

    @property
    def close_code(self) -> int | None:
        if self.opcode != OP_CLOSE:
            return None
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else 1005

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Handshake:
    status: int
    headers: dict[str, str]
    raw: bytes


@dataclass
class RawWebSocket:
    port: int
    host: str = "127.0.0.1"
    rcvbuf: int | None = None
    sndbuf: int | None = None
    sock: socket.socket = field(init=False)
    buffer: bytearray = field(default_factory=bytearray)
    handshake: Handshake | None = None

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        if self.sndbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(10)
        self.sock.connect((self.host, self.port))

    @property
    def local_port(self) -> int:
        return int(self.sock.getsockname()[1])

    # --- handshake ---------------------------------------------------------------------------

    def upgrade(
        self, path: str = "/api/ws", headers: dict[str, str] | None = None, timeout: float = 10
    ) -> Handshake:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            self._fill(deadline)
        end = self.buffer.index(b"\r\n\r\n") + 4
        raw = bytes(self.buffer[:end])
        del self.buffer[:end]
        head = raw.decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        parsed = {}
        for line in head[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                parsed[name.strip().lower()] = value.strip()
        self.handshake = Handshake(status, parsed, raw)
        return self.handshake

    # --- frames ------------------------------------------------------------------------------

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> None:
        self.sock.sendall(encode_frame(opcode, payload, fin, rsv1))

    def send_json(self, value: Any) -> None:
        self.send_frame(OP_TEXT, json.dumps(value).encode())

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode())

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from the server in time")
        ready, _, _ = select.select([self.sock], [], [], remaining)
        if not ready:
            raise TimeoutError("no data from the server in time")
        try:
            chunk = self.sock.recv(1 << 16)
        except (ConnectionResetError, BrokenPipeError) as error:
            raise Closed(f"connection reset: {error}") from error
        if not chunk:
            raise Closed("EOF")
        self.buffer += chunk

    def _parse(self) -> Frame | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buf) < 4:
                return None
            length = struct.unpack("!H", buf[2:4])[0]
            offset = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length = struct.unpack("!Q", buf[2:10])[0]
            offset = 10
        mask = None
        if second & 0x80:
            mask = bytes(buf[offset : offset + 4])
            offset += 4
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset : offset + length])
        if mask:
            payload = mask_bytes(payload, mask)
        del buf[: offset + length]
        return Frame(first & 0x0F, payload, bool(first & 0x80), bool(first & 0x40))

    def recv_frame(self, timeout: float = 10) -> Frame:
        """The next frame; raises TimeoutError or Closed."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            self._fill(deadline)

    def recv_until_close(self, timeout: float = 10) -> tuple[list[Frame], Frame | None]:
        """Frames up to and including the server's close frame (None if the stream ended
        without one). Raises TimeoutError when nothing closes within ``timeout``."""
        frames: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except Closed:
                return frames, None
            frames.append(frame)
            if frame.opcode == OP_CLOSE:
                return frames, frame

    def authenticate(self, token: str, timeout: float = 10) -> dict[str, Any]:
        """Upgrade (if not yet), send the auth frame, return the hello frame."""
        if self.handshake is None:
            handshake = self.upgrade()
            if handshake.status != 101:
                raise AssertionError(f"WebSocket upgrade answered {handshake.status}")
        self.send_json({"type": "auth", "token": token})
        frame = self.recv_frame(timeout)
        if frame.opcode != OP_TEXT:
            raise AssertionError(
                f"expected hello, got opcode {frame.opcode} {frame.payload[:200]!r}"
            )
        hello = frame.json()
        if hello.get("type") != "hello":
            raise AssertionError(f"expected hello, got {hello}")
        return hello

    def read_to_eof(self, timeout: float) -> tuple[bytes, bool]:
        """Everything left on the stream, and whether it ended (EOF/reset) within ``timeout``."""
        data = bytes(self.buffer)
        self.buffer.clear()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data, False
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                return data, False
            try:
                chunk = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError):
                return data, True
            if not chunk:
                return data, True
            data += chunk

    def abort(self) -> None:
        """Close with a TCP reset (SO_LINGER 0): an abrupt disconnect."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawWebSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
