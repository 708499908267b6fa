"""Authentication and abuse: socket token expiry, content types, password spraying,
cross-site sign-up, WebSocket Origin, the Server header."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest

from tests.probe import _api
from tests.probe._figures import record
from tests.probe._ws import OP_CLOSE, OP_TEXT, Closed, RawWebSocket

pytestmark = pytest.mark.slow

EVIL = "http://evil.example"


# --- 10a. a socket ends when its token expires --------------------------------------------------

TTL = 4


def test_socket_closes_at_token_expiry(start_server) -> None:
    server = start_server(env={"TIDEMARK_TOKEN_TTL_SECONDS": str(TTL)})
    with _api.client(server.url) as http:
        sender_id = _api.register(http)
        receiver_id = _api.register(http)
        receiver = _api.login(http, receiver_id)
        expires_at = receiver.expires_at / 1000  # wall clock, seconds
        stop_at = expires_at + 3.0
        statuses: list[int | str] = []

        def send_every_half_second() -> None:
            # The sender logs in again as its own short token runs out, so messages keep
            # coming after the receiver's token has expired.
            with _api.client(server.url) as own:
                user = _api.login(own, sender_id)
                while time.time() < stop_at:
                    if time.time() > user.expires_at / 1000 - 1.0:
                        user = _api.login(own, sender_id)
                    try:
                        statuses.append(
                            user.send("tick", recv_id=receiver_id, timeout=5).status_code
                        )
                    except httpx.TimeoutException:
                        statuses.append("timeout")
                    time.sleep(0.5)

        with RawWebSocket(server.port) as ws:
            ws.authenticate(receiver.token)
            thread = threading.Thread(target=send_every_half_second, daemon=True)
            thread.start()
            before, after = 0, 0
            close_code, closed_at = None, None
            while time.time() < stop_at:
                try:
                    frame = ws.recv_frame(timeout=max(0.05, stop_at - time.time()))
                except TimeoutError:
                    break
                except Closed:
                    closed_at = time.time()
                    break
                if frame.opcode == OP_CLOSE:
                    close_code, closed_at = frame.close_code, time.time()
                    break
                if frame.opcode == OP_TEXT:
                    event = frame.json()
                    if event.get("type") == "message.new":
                        if event["message"]["sendTime"] / 1000 > expires_at:
                            after += 1
                        else:
                            before += 1
            thread.join(timeout=10)
    closed_after_expiry = None if closed_at is None else round(closed_at - expires_at, 2)
    record(
        "10a_socket_token_expiry",
        ttl_s=TTL,
        message_new_before_expiry=before,
        message_new_after_expiry=after,
        close_code=close_code,
        closed_seconds_after_expiry=closed_after_expiry,
        still_open_at_expiry_plus_3s=closed_at is None,
        send_statuses=sorted(set(map(str, statuses))),
    )
    assert before > 0, "no message.new arrived while the token was valid"
    assert after == 0, f"{after} message.new delivered after the token expired"
    assert close_code == 4401, f"closed with {close_code} ({closed_after_expiry} s after expiry)"
    assert closed_after_expiry is not None and -1.0 <= closed_after_expiry <= 1.5, (
        f"closed {closed_after_expiry} s after the expiry"
    )


# --- 10b. JSON routes refuse text/plain --------------------------------------------------------


def test_text_plain_bodies_are_415(start_server) -> None:
    server = start_server()
    with _api.client(server.url) as http:
        user_id = _api.register(http)
        plain = {"Content-Type": "text/plain"}
        register_answer = http.post(
            "/api/users",
            content=json.dumps(
                {"userID": _api.new_id(), "password": _api.PASSWORD, "nickname": "n"}
            ),
            headers=plain,
        )
        login_answer = http.post(
            "/api/auth/login",
            content=json.dumps({"userID": user_id, "password": _api.PASSWORD}),
            headers=plain,
        )
    record(
        "10b_text_plain_bodies",
        register_status=register_answer.status_code,
        login_status=login_answer.status_code,
    )
    assert register_answer.status_code == 415, register_answer.text
    assert login_answer.status_code == 415, login_answer.text


# --- 10c. password spraying ------------------------------------------------------------------

GUESSES = 200
SPRAYED_USERS = 40


def test_password_spraying_is_limited(start_server) -> None:
    # The login limits at their defaults (whatever the server defines).
    server = start_server(
        env={"TIDEMARK_LOGIN_RATE_LIMIT": None, "TIDEMARK_LOGIN_FAILURE_RATE_LIMIT": None}
    )
    with _api.client(server.url) as http:
        users = [_api.register(http) for _ in range(SPRAYED_USERS)]
        statuses: dict[int | str, int] = {}
        first_429 = None
        started = time.monotonic()
        for guess in range(1, GUESSES + 1):
            try:
                status: int | str = http.post(
                    "/api/auth/login",
                    json={
                        "userID": users[guess % SPRAYED_USERS],
                        "password": f"guess-{guess:04d}-wrong",
                    },
                    timeout=10,
                ).status_code
            except httpx.TimeoutException:
                status = "timeout"
            statuses[status] = statuses.get(status, 0) + 1
            if status == 429 and first_429 is None:
                first_429 = guess
        seconds = time.monotonic() - started
    record(
        "10c_password_spraying",
        guesses=GUESSES,
        user_ids=SPRAYED_USERS,
        seconds=round(seconds, 1),
        statuses={str(k): v for k, v in statuses.items()},
        first_429_at_guess=first_429,
    )
    assert first_429 is not None and first_429 <= 150, (
        f"first 429 at guess {first_429} of {GUESSES}: {statuses}"
    )
    assert set(statuses) <= {401, 429}, statuses


# --- 10d. cross-site sign-up -------------------------------------------------------------------


def test_cross_site_signup_is_refused(start_server) -> None:
    server = start_server()
    user_id = _api.new_id()
    with _api.client(server.url) as http:
        answer = http.post(
            "/api/users",
            content=json.dumps({"userID": user_id, "password": _api.PASSWORD, "nickname": "csrf"}),
            headers={"Content-Type": "text/plain", "Origin": EVIL},
        )
        login = http.post("/api/auth/login", json={"userID": user_id, "password": _api.PASSWORD})
    record(
        "10d_cross_site_signup",
        signup_status=answer.status_code,
        login_of_that_user=login.status_code,
    )
    assert answer.status_code == 415, answer.text
    assert login.status_code == 401, (
        f"the cross-site sign-up created an account: login {login.status_code}"
    )


# --- 10e. WebSocket Origin --------------------------------------------------------------------


def _socket_with_origin(port: int, origin: str, token: str) -> tuple[str, object]:
    with RawWebSocket(port) as ws:
        handshake = ws.upgrade(headers={"Origin": origin})
        if handshake.status != 101:
            return "refused_at_handshake", handshake.status
        try:
            ws.send_json({"type": "auth", "token": token})
            frame = ws.recv_frame(timeout=5)
        except (Closed, OSError):
            return "closed_before_hello", None
        except TimeoutError:
            return "no_answer", None
        if frame.opcode == OP_CLOSE:
            return "closed_before_hello", frame.close_code
        if frame.opcode == OP_TEXT and frame.json().get("type") == "hello":
            return "hello", None
        return "other", frame.payload[:80].decode(errors="replace")


def test_websocket_origin_is_checked(start_server) -> None:
    server = start_server()
    with _api.client(server.url) as http:
        user = _api.new_user(http)
        evil = _socket_with_origin(server.port, EVIL, user.token)
        own = _socket_with_origin(server.port, server.url, user.token)
    record("10e_websocket_origin", evil_origin=evil, own_origin=own)
    assert evil[0] in ("refused_at_handshake", "closed_before_hello"), f"evil origin: {evil}"
    assert evil[0] != "refused_at_handshake" or evil[1] == 403, f"evil origin: {evil}"
    assert own[0] == "hello", f"own origin: {own}"


# --- 10f. the Server header ---------------------------------------------------------------------


def test_server_header_reveals_no_versions(start_server) -> None:
    server = start_server()
    seen = {}
    with _api.client(server.url) as http:
        for path in ("/", "/api/openapi.json", "/api/sync", "/no-such-page"):
            seen[path] = http.get(path).headers.get("server")
    record("10f_server_header", server_headers=seen)
    for path, value in seen.items():
        if value is not None:
            assert not re.search(r"\d", value) and "python" not in value.lower(), (
                f"{path}: Server: {value}"
            )
