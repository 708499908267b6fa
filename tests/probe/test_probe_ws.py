"""WebSocket attacks on a real ``tidemark serve``: slow reader, deflate bomb, oversized
frame, inbound flood, close handshake."""

from __future__ import annotations

import collections
import contextlib
import functools
import select
import statistics
import threading
import time
import zlib

import httpx
import pytest

from tests.probe import _api
from tests.probe._figures import ms, record, summary_ms
from tests.probe._server import ProbeServer, server_side_state, tcp_queues
from tests.probe._ws import OP_CLOSE, OP_TEXT, Closed, RawWebSocket, encode_frame, frame_header

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


# --- 1. slow reader -------------------------------------------------------------------------

SLOW_READER_SENDS = 1_500
SEND_TIMEOUT = 10.0
TEXT_1K = "slow reader " + "x" * 1000


def _server_let_go(server: ProbeServer, client_port: int, within: float) -> tuple[bool, object]:
    """Whether the server closed its end of this connection within ``within`` seconds
    (its socket is gone, orphaned (inode 0) or no longer ESTABLISHED)."""
    deadline = time.monotonic() + within
    while True:
        state = server_side_state(server.port, client_port)
        if state is None or state[1] == 0 or state[0] != "ESTABLISHED":
            return True, state
        if time.monotonic() >= deadline:
            return False, state
        time.sleep(0.1)


def _slow_reader_phase(
    server: ProbeServer, http: httpx.Client, sender: _api.User, slow_id: str, target: dict[str, str]
) -> dict[str, object]:
    slow = _api.login(http, slow_id)
    # A tiny receive buffer, and the probe never reads after the hello: the kernel
    # buffers fill and the server's writes to this socket can no longer complete.
    ws = RawWebSocket(server.port, rcvbuf=4096)
    try:
        ws.authenticate(slow.token)
        rss_before = server.rss_mib()
        latencies: list[float] = []
        statuses: collections.Counter[int] = collections.Counter()
        first_hang = None
        phase_deadline = time.monotonic() + 90
        for i in range(SLOW_READER_SENDS):
            started = time.perf_counter()
            try:
                answer = sender.send(TEXT_1K, timeout=SEND_TIMEOUT, **target)
            except httpx.TimeoutException:
                first_hang = i
                break
            latencies.append(time.perf_counter() - started)
            statuses[answer.status_code] += 1
            if time.monotonic() > phase_deadline:
                break
        rss_after_sends = server.rss_mib()
        closed, state = _server_let_go(server, ws.local_port, within=3.0)
        started = time.perf_counter()
        try:
            logout_status: int | str = slow.logout(timeout=5).status_code
        except httpx.TimeoutException:
            logout_status = "timeout"
        logout_seconds = time.perf_counter() - started
    finally:
        ws.abort()
    return {
        "sends_answered": len(latencies),
        "first_hang_at_send": first_hang,
        "statuses": dict(statuses),
        "latency": summary_ms(latencies),
        "slow_socket_closed_by_server": closed,
        "server_side_tcp": state,
        "logout_status": logout_status,
        "logout_ms": ms(logout_seconds),
        "rss_mib": [round(rss_before), round(rss_after_sends)],
    }


def test_slow_reader_cannot_stall_senders(start_server) -> None:
    server = start_server()
    with _api.client(server.url) as http:
        sender = _api.new_user(http)
        slow_id = _api.register(http)
        third = _api.register(http)
        single = _slow_reader_phase(server, http, sender, slow_id, {"recv_id": slow_id})
        group = sender.post(
            "/api/groups",
            {"groupName": "slow", "memberUserIDs": [slow_id, third]},
            timeout=SEND_TIMEOUT,
        )
        assert group.status_code == 201, group.text
        grouped = _slow_reader_phase(
            server, http, sender, slow_id, {"group_id": group.json()["groupID"]}
        )
    record("1_slow_reader", single_chat=single, group_of_3=grouped)
    for name, phase in (("single chat", single), ("group", grouped)):
        assert phase["first_hang_at_send"] is None, (
            f"{name}: send {phase['first_hang_at_send']} hung > {SEND_TIMEOUT} s"
        )
        assert phase["sends_answered"] == SLOW_READER_SENDS, f"{name}: {phase}"
        assert phase["statuses"] == {200: SLOW_READER_SENDS}, f"{name}: {phase['statuses']}"
        assert phase["latency"]["p99_ms"] < 1000, f"{name}: send p99 {phase['latency']}"
        assert phase["slow_socket_closed_by_server"], (
            f"{name}: the slow socket is still held: {phase['server_side_tcp']}"
        )
        assert phase["logout_status"] == 200 and phase["logout_ms"] < 2000, (
            f"{name}: logout {phase['logout_status']} in {phase['logout_ms']} ms"
        )


# --- helpers for the frame attacks ---------------------------------------------------------


def _watch(
    server: ProbeServer,
    ws: RawWebSocket,
    seconds: float,
    settle: float = 1.0,
    rss_cap_mib: float = 4096,
) -> dict[str, object]:
    """Read the socket and sample the server's RSS until the stream has ended (plus
    ``settle`` seconds) or ``seconds`` pass. Kills the server past ``rss_cap_mib``."""
    peak = server.rss_mib()
    close_code = None
    ended_at = None
    started = time.monotonic()
    deadline = started + seconds
    killed = False
    while time.monotonic() < deadline:
        if ended_at is not None and time.monotonic() - ended_at >= settle:
            break
        if ended_at is None:
            try:
                frame = ws.recv_frame(timeout=0.1)
                if frame.opcode == OP_CLOSE:
                    close_code = frame.close_code
                    ended_at = time.monotonic()
            except TimeoutError:
                pass
            except Closed:
                ended_at = time.monotonic()
        else:
            time.sleep(0.1)
        rss = server.rss_mib()
        peak = max(peak, rss)
        if rss > rss_cap_mib:
            killed = True
            server.kill9()
            break
    return {
        "closed": ended_at is not None,
        "seconds_to_close": None if ended_at is None else round(ended_at - started, 2),
        "close_code": close_code,
        "rss_peak_mib": round(peak),
        "server_killed_at_rss_cap": killed,
    }


@functools.cache
def _deflate_bomb() -> bytes:
    """1 GiB of zeros as raw deflate (about 1 MiB), without the 00 00 ff ff tail (RFC 7692)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(1024)]
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    bomb = b"".join(parts)
    assert bomb.endswith(b"\x00\x00\xff\xff")
    return bomb[:-4]


# --- 2. deflate bomb ----------------------------------------------------------------------


def test_deflate_bomb_before_auth(start_server) -> None:
    bomb = _deflate_bomb()
    server = start_server()
    time.sleep(0.5)
    rss_before = server.rss_mib()
    with RawWebSocket(server.port) as ws:
        handshake = ws.upgrade(
            headers={"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
        )
        negotiated = handshake.headers.get("sec-websocket-extensions")
        send_error = None
        if handshake.status == 101:
            try:
                ws.sock.settimeout(10)
                ws.sock.sendall(encode_frame(OP_TEXT, bomb, rsv1=True))
            except OSError as error:
                send_error = type(error).__name__
            watched = _watch(server, ws, seconds=20)
        else:
            watched = {"closed": True, "rss_peak_mib": round(server.rss_mib())}
    rss_after = server.rss_mib() if server.process and server.process.poll() is None else None
    growth = watched["rss_peak_mib"] - rss_before
    record(
        "2_deflate_bomb",
        upgrade_status=handshake.status,
        negotiated_extensions=negotiated,
        compressed_bytes=len(bomb),
        inflated_bytes=1 << 30,
        send_error=send_error,
        rss_before_mib=round(rss_before),
        rss_after_mib=None if rss_after is None else round(rss_after),
        rss_growth_mib=round(growth),
        **watched,
    )
    assert negotiated is None, f"the server negotiated compression: {negotiated}"
    assert watched["closed"], "the connection is still open after the compressed frame"
    assert growth < 50, f"RSS grew {growth:.0f} MiB"


# --- 3. oversized frame ---------------------------------------------------------------------


def test_oversized_frame_is_refused_at_its_header(start_server) -> None:
    announced = 128 * MiB
    server = start_server()
    time.sleep(0.5)
    rss_before = server.rss_mib()
    peak = rss_before
    sent = 0
    close_code = None
    closed_after = None
    ended = False
    with RawWebSocket(server.port, sndbuf=256 * 1024) as ws:
        assert ws.upgrade().status == 101
        mask = b"\x01\x02\x03\x04"
        ws.sock.sendall(frame_header(OP_TEXT, announced, mask=mask))
        chunk = bytes(64 * 1024)
        ws.sock.setblocking(False)
        started = time.monotonic()
        deadline = started + 20
        last_sample = 0.0
        try:
            while not ended and time.monotonic() < deadline:
                want_write = [ws.sock] if sent < announced else []
                readable, writable, _ = select.select([ws.sock], want_write, [], 0.1)
                if readable:
                    try:
                        data = ws.sock.recv(1 << 16)
                    except (ConnectionResetError, BrokenPipeError):
                        data = b""
                    if not data:
                        ended = True
                    ws.buffer += data
                    frame = ws._parse()
                    if frame is not None and frame.opcode == OP_CLOSE:
                        close_code = frame.close_code
                        ended = True
                    if ended:
                        closed_after = sent
                if writable and not ended:
                    try:
                        sent += ws.sock.send(chunk[: min(len(chunk), announced - sent)])
                    except BlockingIOError:
                        pass
                    except (ConnectionResetError, BrokenPipeError):
                        ended = True
                        closed_after = sent
                if time.monotonic() - last_sample > 0.1:
                    last_sample = time.monotonic()
                    peak = max(peak, server.rss_mib())
        finally:
            ws.sock.setblocking(True)
        seconds = time.monotonic() - started
    peak = max(peak, server.rss_mib())
    growth = peak - rss_before
    record(
        "3_oversized_frame",
        announced_mib=announced // MiB,
        closed=ended,
        close_code=close_code,
        sent_mib_when_closed=None if closed_after is None else round(closed_after / MiB, 2),
        sent_mib_total=round(sent / MiB, 2),
        seconds=round(seconds, 2),
        rss_before_mib=round(rss_before),
        rss_peak_mib=round(peak),
        rss_growth_mib=round(growth),
    )
    assert ended, f"not closed after {sent / MiB:.1f} MiB of a {announced // MiB} MiB frame"
    assert close_code in (1009, None), f"closed with {close_code}, expected 1009"
    assert closed_after is not None and closed_after < 8 * MiB, (
        f"closed only after {sent / MiB:.1f} MiB"
    )
    assert growth < 50, f"RSS grew {growth:.0f} MiB"


# --- 4. inbound flood -----------------------------------------------------------------------

FLOOD_FRAMES = 117_000


class _Drain(threading.Thread):
    """Reads and drops everything the server sends; notes a close frame or the end."""

    def __init__(self, ws: RawWebSocket) -> None:
        super().__init__(daemon=True)
        self.ws = ws
        self.ended = False
        self.close_code: int | None = None
        self.received = 0
        self._stop_flag = threading.Event()

    def run(self) -> None:
        tail = bytearray()
        while not self._stop_flag.is_set():
            try:
                data = self.ws.sock.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError:
                self.ended = True
                return
            if not data:
                self.ended = True
                return
            self.received += len(data)
            tail = (tail + data)[-256:]
            # A server close frame: 0x88, a short length, then the code.
            at = tail.rfind(b"\x88")
            if at != -1 and len(tail) >= at + 4 and tail[at + 1] < 126 and tail[at + 1] >= 2:
                code = int.from_bytes(tail[at + 2 : at + 4], "big")
                if 1000 <= code < 5000:
                    self.close_code = code

    def stop(self) -> None:
        self._stop_flag.set()
        self.join(timeout=2)


def _sync_latency(bystander: _api.User) -> float:
    started = time.perf_counter()
    try:
        answer = bystander.get("/api/sync", timeout=5)
        assert answer.status_code == 200, answer.text
    except httpx.TimeoutException:
        return 5.0
    return time.perf_counter() - started


def test_inbound_flood_stops_at_disconnect(start_server) -> None:
    server = start_server()
    with _api.client(server.url) as http:
        flooder = _api.new_user(http)
        bystander = _api.new_user(http)
        baseline = [_sync_latency(bystander) for _ in range(10)]
        rss_before = server.rss_mib()
        peak = rss_before
        ws = RawWebSocket(server.port)
        ws.authenticate(flooder.token)
        one = encode_frame(OP_TEXT, b'{"type":"ping"}')
        payload = memoryview(one * FLOOD_FRAMES)
        sent = 0
        closed_by_server = False
        ws.sock.settimeout(0.5)
        # The flooder reads (and drops) what the server answers, as a client library
        # would: the server is never held up by its own writes, only by its reading.
        drained = _Drain(ws)
        drained.start()
        started = time.monotonic()
        while sent < len(payload) and time.monotonic() - started < 10 and not drained.ended:
            try:
                sent += ws.sock.send(payload[sent : sent + 256 * 1024])
            except TimeoutError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                closed_by_server = True
                break
            peak = max(peak, server.rss_mib())
        send_seconds = time.monotonic() - started
        # Stay until the server has taken every byte off the kernel (or 10 s in all):
        # what it read is now work queued inside the server, which the disconnect
        # must cancel.
        while time.monotonic() - started < 10 and not drained.ended:
            ours = tcp_queues(ws.local_port, server.port)
            theirs = tcp_queues(server.port, ws.local_port)
            if ours is None or theirs is None or (ours[0] == 0 and theirs[1] == 0):
                break
            peak = max(peak, server.rss_mib())
            time.sleep(0.05)
        ingest_seconds = time.monotonic() - started
        drained.stop()
        closed_by_server = closed_by_server or drained.ended
        close_code = drained.close_code
        ws.abort()
        disconnected = time.monotonic()
        cpu_mark, mark_at = server.cpu_seconds(), 0.0
        samples: list[tuple[float, float]] = []
        cpu_windows: list[tuple[float, float]] = []
        while time.monotonic() - disconnected < 8:
            latency = _sync_latency(bystander)
            now = time.monotonic() - disconnected
            samples.append((now, latency))
            peak = max(peak, server.rss_mib())
            if now - mark_at >= 1.0:
                cpu = server.cpu_seconds()
                cpu_windows.append((round(now, 1), round(100 * (cpu - cpu_mark) / (now - mark_at))))
                cpu_mark, mark_at = cpu, now
            time.sleep(0.1)
    recovered_at = None
    for i in range(len(samples) - 2):
        if all(latency < 0.2 for _, latency in samples[i : i + 3]):
            recovered_at = samples[i][0]
            break
    late = [latency for at, latency in samples if at >= 3.0]
    # The window ending at >= 4 s covers 3..4 s: work still going on then is the leak.
    late_cpu = max((cpu for at, cpu in cpu_windows if at >= 4.0), default=None)
    growth = peak - rss_before
    record(
        "4_inbound_flood",
        frames_offered=FLOOD_FRAMES,
        frames_sent=sent // len(one),
        send_seconds=round(send_seconds, 2),
        seconds_until_server_read_everything=round(ingest_seconds, 2),
        closed_by_server_during_flood=closed_by_server,
        close_code=close_code,
        bystander_sync_baseline_median_ms=ms(statistics.median(baseline)),
        bystander_sync_recovered_below_200ms_after_s=None
        if recovered_at is None
        else round(recovered_at, 2),
        bystander_sync_median_ms_3s_to_8s=ms(statistics.median(late)) if late else None,
        bystander_sync_max_ms_3s_to_8s=ms(max(late)) if late else None,
        server_cpu_percent_per_second_after_disconnect=cpu_windows,
        server_cpu_percent_after_3s_max=late_cpu,
        bytes_received_by_flooder=drained.received,
        rss_before_mib=round(rss_before),
        rss_peak_mib=round(peak),
        rss_growth_mib=round(growth),
    )
    assert close_code in (None, 1008), f"flooder closed with {close_code}"
    assert recovered_at is not None and recovered_at <= 3.5, (
        f"bystander sync not back below 200 ms within 3 s of the disconnect (at {recovered_at})"
    )
    assert late_cpu is not None and late_cpu < 50, (
        f"the server still burns {late_cpu} % CPU 3 s after the flooder left: {cpu_windows}"
    )
    assert growth < 100, f"RSS grew {growth:.0f} MiB"


# --- 7. close handshake ---------------------------------------------------------------------

CLOSE_ROUNDS = 50


def test_close_handshake_is_clean(start_server) -> None:
    server = start_server()
    outcomes: list[dict[str, object]] = []
    with _api.client(server.url) as http:
        user = _api.new_user(http)
        started = time.monotonic()
        for i in range(CLOSE_ROUNDS):
            if time.monotonic() - started > 75:
                break
            kind = "bad_frame" if i % 2 == 0 else "bad_token"
            expected = 4400 if kind == "bad_frame" else 4401
            outcome: dict[str, object] = {"kind": kind}
            with RawWebSocket(server.port) as ws:
                try:
                    if kind == "bad_frame":
                        ws.authenticate(user.token)
                        ws.send_text("not json")
                    else:
                        assert ws.upgrade().status == 101
                        ws.send_json({"type": "auth", "token": "not-a-real-token"})
                    _frames, close = ws.recv_until_close(timeout=5)
                except TimeoutError:
                    close = None
                    outcome["no_close_within_5s"] = True
                outcome["close_code"] = close.close_code if close else None
                outcome["wrong_code"] = outcome["close_code"] != expected
                stray = bytes(ws.buffer)
                ws.buffer.clear()
                ended = False
                if close is not None:
                    with contextlib.suppress(OSError):
                        ws.send_close(close.close_code or 1000)
                    more, ended = ws.read_to_eof(2.0)
                    stray += more
                outcome["stray_bytes"] = stray[:60].decode("latin-1") if stray else ""
                outcome["left_open"] = not ended
            outcomes.append(outcome)
    rounds = len(outcomes)
    left_open = sum(1 for o in outcomes if o["left_open"])
    stray = sum(1 for o in outcomes if o["stray_bytes"])
    wrong = sum(1 for o in outcomes if o["wrong_code"])
    examples = sorted({o["stray_bytes"] for o in outcomes if o["stray_bytes"]})[:3]
    record(
        "7_close_handshake",
        rounds=rounds,
        left_tcp_open=left_open,
        left_tcp_open_percent=round(100 * left_open / max(rounds, 1), 1),
        stray_bytes_after_close=stray,
        stray_examples=examples,
        wrong_or_missing_close_code=wrong,
        close_codes=dict(collections.Counter(f"{o['kind']}:{o['close_code']}" for o in outcomes)),
    )
    assert rounds == CLOSE_ROUNDS
    assert wrong == 0, f"{wrong} rounds without the expected 4400/4401 close frame"
    assert stray == 0, f"{stray} rounds with bytes after the close frame: {examples}"
    assert left_open == 0, f"{left_open} of {rounds} rounds left the TCP connection open"
