"""HTTP-side attacks on a real ``tidemark serve``: argon2 concurrency, slowloris, and
inputs that must be answered with a 4xx, never a 5xx."""

from __future__ import annotations

import collections
import concurrent.futures
import json
import select
import socket
import statistics
import threading
import time
import uuid

import httpx
import pytest

from tests.probe import _api
from tests.probe._figures import ms, record, summary_ms
from tests.probe._ws import RawWebSocket

pytestmark = pytest.mark.slow


# --- 5. argon2 concurrency --------------------------------------------------------------------

STORM = 16
STORM_ROUNDS = 3


def test_argon2_login_storm(start_server) -> None:
    server = start_server(env={"TIDEMARK_FAST_PASSWORD_HASHING": None})
    with _api.client(server.url, timeout=30) as http:
        victim = _api.register(http)
        bystander = _api.new_user(http)
        baseline = []
        for _ in range(20):
            started = time.perf_counter()
            assert bystander.get("/api/sync").status_code == 200
            baseline.append(time.perf_counter() - started)
        time.sleep(0.5)
        rss_before = server.rss_mib()
        peak = [rss_before]
        storming = threading.Event()
        done = threading.Event()
        during: list[float] = []
        sync_errors: list[str] = []

        def sample_rss() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], server.rss_mib())
                time.sleep(0.02)

        def bystander_loop() -> None:
            with _api.client(server.url) as own:
                user = _api.User(bystander.user_id, bystander.token, bystander.expires_at, own)
                while not done.is_set():
                    if not storming.is_set():
                        time.sleep(0.005)
                        continue
                    started = time.perf_counter()
                    try:
                        status = user.get("/api/sync", timeout=10).status_code
                        if status != 200:
                            sync_errors.append(str(status))
                    except httpx.TimeoutException:
                        sync_errors.append("timeout")
                    if storming.is_set():
                        during.append(time.perf_counter() - started)

        def wrong_login(barrier: threading.Barrier) -> tuple[int | str, float]:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                barrier.wait(timeout=30)
                started = time.perf_counter()
                try:
                    answer = own.post(
                        "/api/auth/login",
                        json={"userID": victim, "password": "wrong-password-" + uuid.uuid4().hex},
                    )
                    return answer.status_code, time.perf_counter() - started
                except httpx.TimeoutException:
                    return "timeout", time.perf_counter() - started

        helpers = [
            threading.Thread(target=sample_rss, daemon=True),
            threading.Thread(target=bystander_loop, daemon=True),
        ]
        for helper in helpers:
            helper.start()
        statuses: collections.Counter[str] = collections.Counter()
        storm_seconds = []
        login_latencies = []
        try:
            with concurrent.futures.ThreadPoolExecutor(STORM) as pool:
                for _ in range(STORM_ROUNDS):
                    barrier = threading.Barrier(STORM)
                    storming.set()
                    started = time.perf_counter()
                    results = list(pool.map(wrong_login, [barrier] * STORM))
                    storm_seconds.append(time.perf_counter() - started)
                    storming.clear()
                    for status, latency in results:
                        statuses[str(status)] += 1
                        login_latencies.append(latency)
                    time.sleep(0.3)
        finally:
            done.set()
            for helper in helpers:
                helper.join(timeout=15)
    growth = peak[0] - rss_before
    median_during = statistics.median(during) if during else None
    record(
        "5_argon2_storm",
        concurrent_logins=STORM,
        rounds=STORM_ROUNDS,
        login_statuses=dict(statuses),
        login_latency=summary_ms(login_latencies),
        storm_seconds=[round(s, 2) for s in storm_seconds],
        rss_before_mib=round(rss_before),
        rss_peak_mib=round(peak[0]),
        rss_growth_mib=round(growth),
        bystander_sync_baseline_median_ms=ms(statistics.median(baseline)),
        bystander_sync_during_storm=summary_ms(during),
        bystander_sync_errors=sync_errors[:5],
    )
    assert set(statuses) <= {"401", "429"}, f"wrong-password logins answered {dict(statuses)}"
    assert growth < 300, f"RSS grew {growth:.0f} MiB"
    assert during, "no bystander sync completed during the storms"
    assert median_during is not None and median_during < 0.1, (
        f"bystander sync median {ms(median_during)} ms during the storm"
    )
    assert not sync_errors, f"bystander sync failed: {sync_errors[:5]}"


# --- 6. slowloris ----------------------------------------------------------------------------

SLOWLORIS = 300
SLOWLORIS_WINDOW = 17.0  # seconds each connection is kept trickling, at most
CLOSE_WITHIN = 15.0


class _Trickler:
    """One half-sent request: a byte more every ``every`` seconds, never finished."""

    def __init__(self, port: int, head: bytes, trickle: bytes, every: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(head)
        self.opened = time.monotonic()
        self.trickle = trickle
        self.every = every
        self.sent_at = self.opened
        self.position = 0
        self.closed_after: float | None = None
        self.answer = b""

    def tick(self, now: float) -> None:
        if self.closed_after is None and now - self.sent_at >= self.every:
            try:
                at = self.position % len(self.trickle)
                self.sock.send(self.trickle[at : at + 1])
                self.position += 1
                self.sent_at = now
            except OSError:
                self.closed_after = now - self.opened

    def readable(self, now: float) -> None:
        """The server answered (a 408, say) or closed: either ends this connection."""
        try:
            data = self.sock.recv(4096)
        except OSError:
            data = b""
        self.answer += data
        if self.closed_after is None:
            self.closed_after = now - self.opened


def test_slowloris(start_server) -> None:
    server = start_server()
    time.sleep(0.5)
    threads_before = server.threads()
    connections: list[_Trickler] = []
    slow_body = None
    threads_peak = threads_before
    bystander: dict[str, object] = {}
    try:
        for i in range(SLOWLORIS):
            connections.append(
                _Trickler(
                    server.port,
                    b"GET / HTTP/1.1\r\nHost: x\r\n",
                    f"X-Slow-{i}: ".encode() + b"a" * 200,
                    every=3.0,
                )
            )
        slow_body = _Trickler(
            server.port,
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
            b'{"userID": "' + b"a" * 990,
            every=1.0,
        )
        everyone = [*connections, slow_body]
        started = time.monotonic()
        while time.monotonic() - started < SLOWLORIS_WINDOW:
            now = time.monotonic()
            open_ones = [c for c in everyone if c.closed_after is None]
            if not open_ones:
                break
            readable, _, _ = select.select([c.sock for c in open_ones], [], [], 0.2)
            by_sock = {c.sock: c for c in open_ones}
            now = time.monotonic()
            for sock in readable:
                by_sock[sock].readable(now)
            for c in open_ones:
                c.tick(now)
            threads_peak = max(threads_peak, server.threads())
            if not bystander and now - started >= 2.0:
                begun = time.perf_counter()
                try:
                    status: int | str = httpx.get(server.url + "/", timeout=5).status_code
                except httpx.TransportError as error:
                    status = type(error).__name__
                bystander = {"status": status, "ms": ms(time.perf_counter() - begun)}
    finally:
        for c in [*connections, *([slow_body] if slow_body else [])]:
            c.sock.close()
    closed_times = [c.closed_after for c in connections if c.closed_after is not None]
    held = SLOWLORIS - len(closed_times)
    late = sum(1 for t in closed_times if t > CLOSE_WITHIN)
    assert slow_body is not None
    record(
        "6_slowloris",
        connections=SLOWLORIS,
        threads_before=threads_before,
        threads_peak=threads_peak,
        thread_growth=threads_peak - threads_before,
        bystander_get=bystander,
        header_connections_closed=len(closed_times),
        header_connections_still_open_after_s=SLOWLORIS_WINDOW if held else None,
        header_connections_held=held,
        header_closed_after_s_median=round(statistics.median(closed_times), 1)
        if closed_times
        else None,
        header_closed_after_s_max=round(max(closed_times), 1) if closed_times else None,
        header_closed_later_than_15s=late,
        slow_body_closed_after_s=None
        if slow_body.closed_after is None
        else round(slow_body.closed_after, 1),
        slow_body_answer=slow_body.answer[:40].decode("latin-1"),
    )
    assert threads_peak - threads_before <= 20, f"threads {threads_before} -> {threads_peak}"
    assert bystander.get("status") == 200, f"bystander GET / while held: {bystander}"
    assert held == 0 and late == 0, (
        f"{held} half-sent connections still open after {SLOWLORIS_WINDOW} s, {late} closed after {CLOSE_WITHIN} s"
    )
    assert slow_body.closed_after is not None and slow_body.closed_after <= CLOSE_WITHIN, (
        f"slow body still open after {slow_body.closed_after or SLOWLORIS_WINDOW} s"
    )


# --- 9. inputs that must be 4xx, never 5xx -------------------------------------------------------

NESTED = "[" * 20000


def test_malformed_inputs_are_4xx(start_server, postgres_url) -> None:
    server = start_server(database_url=postgres_url)
    results: dict[str, object] = {}
    bad: dict[str, object] = {}

    def check(name: str, answer: httpx.Response | int | str, allowed: set[int] | range) -> None:
        status = answer.status_code if isinstance(answer, httpx.Response) else answer
        results[name] = status
        if not isinstance(status, int) or status not in allowed:
            bad[name] = status

    four_xx = range(400, 500)
    with _api.client(server.url) as http:
        alice = _api.new_user(http)
        bob = _api.new_user(http)
        throwaway = _api.login(http, bob.user_id)
        group = alice.post("/api/groups", {"groupName": "g", "memberUserIDs": [bob.user_id]})
        assert group.status_code == 201, group.text
        sent = alice.send("hello", recv_id=bob.user_id)
        assert sent.status_code == 200, sent.text
        conversation = sent.json()["message"]["conversationID"]
        json_headers = {"Content-Type": "application/json"}

        def raw(
            path: str, content: str | bytes, user: _api.User | None = None
        ) -> httpx.Response | str:
            headers = {**json_headers, **(user.auth if user else {})}
            try:
                return http.post(path, content=content, headers=headers, timeout=10)
            except httpx.TimeoutException:
                return "timeout"

        # Deeply nested JSON on every POST route.
        check("nested: POST /api/users", raw("/api/users", NESTED), four_xx)
        check("nested: POST /api/auth/login", raw("/api/auth/login", NESTED), four_xx)
        check("nested: POST /api/groups", raw("/api/groups", NESTED, alice), four_xx)
        check("nested: POST /api/messages", raw("/api/messages", NESTED, alice), four_xx)
        check(
            "nested: POST /api/conversations/{id}/read",
            raw(f"/api/conversations/{conversation}/read", NESTED, alice),
            four_xx,
        )
        check(
            "nested: POST /api/auth/logout",
            raw("/api/auth/logout", NESTED, throwaway),
            range(200, 500),
        )

        # An integer of 5,000 digits.
        check(
            "seq of 5000 digits: mark read",
            raw(f"/api/conversations/{conversation}/read", '{"seq": ' + "9" * 5000 + "}", alice),
            four_xx,
        )

        # NUL characters (PostgreSQL text cannot hold them).
        nul = "a\u0000b"
        fresh = _api.new_id()
        check(
            "NUL userID: login",
            http.post("/api/auth/login", json={"userID": nul, "password": _api.PASSWORD}),
            {400},
        )
        check(
            "NUL password: login",
            http.post(
                "/api/auth/login", json={"userID": alice.user_id, "password": "pass\u0000word"}
            ),
            {400},
        )
        check(
            "NUL userID: register",
            http.post(
                "/api/users", json={"userID": nul, "password": _api.PASSWORD, "nickname": "n"}
            ),
            {400},
        )
        check(
            "NUL password: register",
            http.post(
                "/api/users",
                json={"userID": fresh, "password": "pass\u0000word-long", "nickname": "n"},
            ),
            {400},
        )
        check(
            "NUL nickname: register",
            http.post(
                "/api/users",
                json={"userID": _api.new_id(), "password": _api.PASSWORD, "nickname": nul},
            ),
            {400},
        )
        check(
            "NUL message text",
            alice.post(
                "/api/messages",
                {"clientMsgID": uuid.uuid4().hex, "recvID": bob.user_id, "text": nul},
            ),
            {400},
        )
        check(
            "NUL group name",
            alice.post("/api/groups", {"groupName": nul, "memberUserIDs": [bob.user_id]}),
            {400},
        )
        check(
            "NUL conversation ID: history",
            alice.get("/api/conversations/si_a%00b/messages"),
            {400, 404},
        )
        check(
            "NUL conversation ID: mark read",
            alice.post("/api/conversations/si_a%00b/read", {}),
            {400, 404},
        )

        # A chunked body over 64 KiB.
        big = json.dumps(
            {"clientMsgID": uuid.uuid4().hex, "recvID": bob.user_id, "text": "a" * 100_000}
        ).encode()

        def chunks():
            for at in range(0, len(big), 8192):
                yield big[at : at + 8192]

        try:
            chunked: httpx.Response | str = http.post(
                "/api/messages",
                content=chunks(),
                headers={**json_headers, **alice.auth},
                timeout=10,
            )
        except httpx.TransportError as error:
            chunked = type(error).__name__
        check("chunked body of 100 KB: POST /api/messages", chunked, {413})

        # Socket requests whose op is not a string.
        with RawWebSocket(server.port) as ws:
            ws.authenticate(alice.token)
            for i, op in enumerate([5, [1], {"a": 1}, None, True], start=1):
                name = f"socket request op={json.dumps(op)}"
                try:
                    ws.send_json({"type": "request", "id": i, "op": op, "body": {}})
                    frame = ws.recv_frame(timeout=5)
                    answer = frame.json() if frame.opcode == 1 else {"closed": frame.close_code}
                except (TimeoutError, OSError, ValueError) as error:
                    answer = {"failed": type(error).__name__}
                code = answer.get("errCode", answer)
                results[name] = code
                if code != 1002:
                    bad[name] = code
                if "errCode" not in answer:
                    break
    record("9_never_5xx", results=results, failures=bad, failed=len(bad), checked=len(results))
    assert not bad, f"{len(bad)} of {len(results)} answered wrongly: {bad}"
