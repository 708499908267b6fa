"""Hostile or unlucky requests get a 4xx or a 503, never a 500 or a wrong answer.

Bodies: JSON only (415), bounded even when chunked (413), decoded without recursion or
integer-size errors (400); NUL refused in every string (400, the same on both engines);
dropped database connections retried or answered 503; login guessing, password hashing
and sending bounded (429).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, func, select

from server import create_app
from server.errors import ApiError, ErrorCode
from server.ratelimit import KeyedRateLimit
from server.storage.tables import messages, users
from tests.server.conftest import TEST_CONFIG, make_app, register

JSON = {"Content-Type": "application/json"}
DEEP = ["[" * 20000, '{"a":' * 12000]  # both under the 64 KiB body limit
BODY_ROUTES = [
    "/api/users",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/groups",
    "/api/messages",
    "/api/conversations/si_a_b/read",
]


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]


# 1. Deeply nested JSON ---------------------------------------------------------------


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
@pytest.mark.parametrize("path", BODY_ROUTES)
def test_deeply_nested_json_is_invalid_json(client, make_user, path, body):
    alice = make_user()
    response = client.post(path, data=body, headers={**JSON, **alice.headers})
    assert error_of(response) == (400, "INVALID_JSON")
    assert "nested too deeply" in response.get_json()["errMsg"]


def test_deeply_nested_login_is_refused_before_its_rate_limit_key(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    for _ in range(3):
        response = client.post("/api/auth/login", data="[" * 20000, headers=JSON)
        assert error_of(response) == (400, "INVALID_JSON")


# 2. Huge numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"seq": ' + "9" * 5000 + "}",
        '{"seq": -' + "9" * 5000 + "}",
        '{"seq": 1, "x": [' + "1" * 5000 + "]}",
        '{"seq": ' + "9" * 25 + "}",
    ],
    ids=["huge", "huge-negative", "nested-unknown-field", "25-digits"],
)
def test_huge_integers_in_a_body_are_a_400(make_user, body):
    alice, bob = make_user(), make_user()
    cid = alice.send(to=bob.user_id)["message"]["conversationID"]
    response = alice.client.post(
        f"/api/conversations/{cid}/read", data=body, headers={**JSON, **alice.headers}
    )
    assert error_of(response) == (400, "VALIDATION_FAILED")
    assert bob.read(cid)["conversations"][0]["hasReadSeq"] == 1  # still works


@pytest.mark.parametrize(
    "path",
    [
        "/api/sync?version=" + "9" * 5000,
        "/api/conversations/si_a_b/messages?count=" + "9" * 5000,
        "/api/conversations/si_a_b/messages?beforeSeq=" + "9" * 5000,
    ],
)
def test_huge_integers_in_a_query_are_a_400(make_user, path):
    alice = make_user()
    response = alice.client.get(path, headers=alice.headers)
    assert error_of(response) == (400, "VALIDATION_FAILED")


def test_nan_and_infinity_are_not_json(make_user):
    alice = make_user()
    for constant in ("NaN", "Infinity", "-Infinity"):
        response = alice.client.post(
            "/api/conversations/si_a_b/read",
            data='{"seq": ' + constant + "}",
            headers={**JSON, **alice.headers},
        )
        assert error_of(response) == (400, "INVALID_JSON")


# 3. NUL characters --------------------------------------------------------------------

NUL = "\u0000"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", {"userID": "a" + NUL, "password": "correct horse"}),
        ("/api/auth/login", {"userID": "alice", "password": "correct" + NUL}),
        ("/api/users", {"userID": "b" + NUL, "password": "correct horse", "nickname": "B"}),
        ("/api/users", {"userID": "bob", "password": "correct horse" + NUL, "nickname": "B"}),
        ("/api/users", {"userID": "bob", "password": "correct horse", "nickname": "B" + NUL}),
        ("/api/users", {"userID": "bob", "password": "correct horse", "nickname": "B", NUL: 1}),
    ],
)
def test_nul_in_account_fields_is_refused(client, path, body):
    register(client, "alice")
    response = client.post(path, json=body)
    assert error_of(response) == (400, "VALIDATION_FAILED")
    assert "NUL" in response.get_json()["errMsg"]
    assert (
        client.post("/api/auth/login", json={"userID": "bob", "password": "x"}).status_code == 401
    )


def test_nul_in_user_content_is_refused(make_user):
    alice, bob = make_user(), make_user()
    cid = alice.send(to=bob.user_id)["message"]["conversationID"]
    refused = [
        ("POST", "/api/groups", {"groupName": "team" + NUL, "memberUserIDs": [bob.user_id]}),
        ("POST", "/api/groups", {"groupName": "team", "memberUserIDs": [bob.user_id + NUL]}),
        ("POST", "/api/messages", {"clientMsgID": "m1", "recvID": bob.user_id, "text": NUL}),
        ("POST", "/api/messages", {"clientMsgID": "m1" + NUL, "recvID": bob.user_id, "text": "x"}),
        ("POST", "/api/messages", {"clientMsgID": "m1", "recvID": "b" + NUL, "text": "x"}),
        ("POST", f"/api/conversations/{cid}%00/read", {}),
        ("GET", f"/api/conversations/{cid}%00x/messages", None),
        ("GET", f"/api/conversations/{cid}/messages?count=1%00", None),
        ("GET", "/api/sync?epoch=e%00", None),
        ("GET", "/api/sync?epoch%00=e", None),
    ]
    for method, path, body in refused:
        response = alice.client.open(path, method=method, json=body, headers=alice.headers)
        assert error_of(response) == (400, "VALIDATION_FAILED"), (path, body)
        assert "NUL" in response.get_json()["errMsg"], (path, body)
    assert alice.sync()["totalUnreadCount"] == 0
    assert bob.sync()["totalUnreadCount"] == 1  # nothing else was written


# 4. Dropped database connections ------------------------------------------------------


def test_a_write_whose_commit_fails_answers_503_and_can_be_sent_again(app, make_user, monkeypatch):
    alice, bob = make_user(), make_user()
    engine = app.extensions["tidemark"].db.engine
    dialect = engine.dialect
    lost = dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")
    failing = {"armed": True, "now": False}

    def on_commit(conn: Any) -> None:
        if failing["armed"] and conn.get_execution_options().get("tidemark_write"):
            failing.update(armed=False, now=True)

    real_commit, real_is_disconnect = dialect.do_commit, dialect.is_disconnect

    def do_commit(dbapi_connection: Any) -> None:
        if failing["now"]:
            failing["now"] = False
            raise lost
        real_commit(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", do_commit)
    monkeypatch.setattr(
        dialect, "is_disconnect", lambda e, *rest: e is lost or real_is_disconnect(e, *rest)
    )
    event.listen(engine, "commit", on_commit)
    body = {"clientMsgID": "once", "recvID": bob.user_id, "text": "hi"}
    response = alice.client.post("/api/messages", json=body, headers=alice.headers)
    event.remove(engine, "commit", on_commit)
    # The outcome of a failed COMMIT is unknown: never retried by the server, 503.
    assert error_of(response) == (503, "UNAVAILABLE")
    assert response.get_json()["errCode"] == 1503
    assert response.headers["Retry-After"] == "1"
    again = alice.call("POST", "/api/messages", body)  # sends are idempotent
    assert again["message"]["seq"] == 1
    assert bob.sync()["totalUnreadCount"] == 1


@pytest.fixture
def pg_app(postgres_url: str) -> Iterator[Flask]:
    app = make_app(postgres_url)
    yield app
    app.extensions["tidemark"].db.dispose()


def _admin_url(app: Flask) -> str:
    url = app.extensions["tidemark"].db.url
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def _terminate(app: Flask, pid: int | None = None) -> int:
    """End backends of the app's database (one, or all but ours): what a failover does."""
    with psycopg.connect(_admin_url(app), autocommit=True) as admin:
        if pid is not None:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            return 1
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


@contextmanager
def _terminate_once(app: Flask, when: str, write_only: bool) -> Iterator[list[int]]:
    """End the backend of the connection in use, once: at its first statement of a
    (write) transaction, or as its (write) transaction commits."""
    engine = app.extensions["tidemark"].db.engine
    ended: list[int] = []

    def kill(conn: Any, *_: Any) -> None:
        if ended or (write_only and not conn.get_execution_options().get("tidemark_write")):
            return
        pid = conn.connection.driver_connection.info.backend_pid
        ended.append(pid)
        _terminate(app, pid)

    event.listen(engine, when, kill)
    try:
        yield ended
    finally:
        event.remove(engine, when, kill)


def _pg_users(app: Flask) -> tuple[Any, Any]:
    client = app.test_client()
    return register(client), register(client)


@pytest.mark.postgres
def test_requests_succeed_after_the_pools_backends_are_terminated(pg_app):
    alice, bob = _pg_users(pg_app)
    cid = alice.send(to=bob.user_id)["message"]["conversationID"]
    for n in range(3):
        assert _terminate(pg_app) >= 1
        assert bob.sync()["totalUnreadCount"] == n + 1
        assert _terminate(pg_app) >= 1
        alice.send(to=bob.user_id)
    assert _terminate(pg_app) >= 1
    assert bob.read(cid)["totalUnreadCount"] == 0


@pytest.mark.postgres
def test_a_read_cut_by_a_terminated_backend_is_retried(pg_app):
    alice, bob = _pg_users(pg_app)
    alice.send(to=bob.user_id)
    with _terminate_once(pg_app, "before_cursor_execute", write_only=False) as ended:
        assert bob.sync()["totalUnreadCount"] == 1
    assert len(ended) == 1


@pytest.mark.postgres
def test_a_write_cut_before_commit_is_retried_and_stored_once(pg_app):
    alice, bob = _pg_users(pg_app)
    with _terminate_once(pg_app, "before_cursor_execute", write_only=True) as ended:
        sent = alice.send("once", to=bob.user_id)
    assert len(ended) == 1
    assert sent["message"]["seq"] == 1
    with pg_app.extensions["tidemark"].db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(messages)) == 1
    assert bob.sync()["totalUnreadCount"] == 1


@pytest.mark.postgres
def test_a_write_cut_during_commit_answers_503(pg_app):
    alice, bob = _pg_users(pg_app)
    body = {"clientMsgID": "once", "recvID": bob.user_id, "text": "hi"}
    with _terminate_once(pg_app, "commit", write_only=True) as ended:
        response = alice.client.post("/api/messages", json=body, headers=alice.headers)
    assert len(ended) == 1
    assert error_of(response) == (503, "UNAVAILABLE")
    assert response.headers["Retry-After"] == "1"
    assert alice.call("POST", "/api/messages", body)["message"]["seq"] == 1
    assert bob.sync()["totalUnreadCount"] == 1


@pytest.mark.postgres
def test_a_storm_of_terminated_backends_gives_no_500(pg_app):
    alice, bob = _pg_users(pg_app)
    stop = threading.Event()

    def storm() -> None:
        while not stop.is_set():
            _terminate(pg_app)
            time.sleep(0.01)

    killer = threading.Thread(target=storm)
    killer.start()
    codes = []
    try:
        for n in range(40):
            body = {"clientMsgID": f"m{n}", "recvID": bob.user_id, "text": "x"}
            sent = alice.client.post("/api/messages", json=body, headers=alice.headers)
            synced = bob.client.get("/api/sync", headers=bob.headers)
            codes += [sent.status_code, synced.status_code]
            for response in (sent, synced):
                if response.status_code == 503:
                    assert response.headers["Retry-After"] == "1"
    finally:
        stop.set()
        killer.join()
    assert set(codes) <= {200, 503}, codes
    assert codes.count(200) > len(codes) // 2, codes


# 5. Chunked bodies --------------------------------------------------------------------


@pytest.mark.parametrize("terminated", [False, True], ids=["asgi-bridge", "dev-server"])
def test_a_chunked_body_over_the_limit_is_413(client, terminated):
    response = client.post(
        "/api/auth/login",
        input_stream=io.BytesIO(b" " * 70_000),
        headers={**JSON, "Transfer-Encoding": "chunked"},
        # werkzeug's server says it ends chunked streams itself; a2wsgi does not.
        environ_overrides={"wsgi.input_terminated": True} if terminated else {},
    )
    assert error_of(response) == (413, "BODY_TOO_LARGE")


def test_a_small_chunked_body_is_read(client):
    register(client, "alice")
    body = json.dumps({"userID": "alice", "password": "correct horse"}).encode()
    response = client.post(
        "/api/auth/login",
        input_stream=io.BytesIO(body),
        headers={**JSON, "Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 200, response.get_json()


# 6. JSON bodies only ------------------------------------------------------------------

SIGN_UP = json.dumps({"userID": "mallory", "password": "correct horse", "nickname": "M"})


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",  # what a cross-site no-cors fetch() or form sends
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,  # a no-cors fetch of a Blob sends no Content-Type at all
    ],
)
def test_a_cross_site_sign_up_with_a_non_json_body_is_415(app, client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/users", data=SIGN_UP, headers=headers)
    assert error_of(response) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert response.get_json()["errCode"] == 1007
    with app.extensions["tidemark"].db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(users)) == 0


def test_json_with_a_charset_is_json(client):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert client.post("/api/users", data=SIGN_UP, headers=headers).status_code == 201


def test_a_post_without_a_body_needs_no_content_type(make_user):
    alice = make_user()
    response = alice.client.post("/api/auth/logout", headers=alice.headers)
    assert response.status_code == 200
    assert alice.client.get("/api/sync", headers=alice.headers).status_code == 401


def test_415_comes_before_authentication_and_rate_limits(app, client):
    register(client, "alice")  # its login is the one allowed below
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    login = json.dumps({"userID": "alice", "password": "correct horse"})
    for _ in range(3):
        plain = client.post("/api/auth/login", data=login, headers={"Content-Type": "text/plain"})
        assert error_of(plain) == (415, "UNSUPPORTED_MEDIA_TYPE")
    unauthenticated = client.post(
        "/api/messages", data="{}", headers={"Content-Type": "text/plain"}
    )
    assert error_of(unauthenticated) == (415, "UNSUPPORTED_MEDIA_TYPE")


# 7. Login guessing --------------------------------------------------------------------


def test_password_spraying_from_one_address_is_stopped(app, client):
    app.config["LOGIN_FAILURE_RATE_LIMIT"] = "30 per 10 minutes"
    register(client, "alice")
    codes = []
    for guess in range(200):
        body = {"userID": f"user{guess % 40}", "password": f"guess {guess}"}
        codes.append(client.post("/api/auth/login", json=body).status_code)
    assert codes[:30] == [401] * 30
    assert codes[30:] == [429] * 170
    # Tripped, the limit refuses the right password too: it does not check passwords.
    right = {"userID": "alice", "password": "correct horse"}
    refused = client.post("/api/auth/login", json=right)
    assert error_of(refused) == (429, "RATE_LIMITED")
    assert "Retry-After" in refused.headers
    elsewhere = client.post("/api/auth/login", json=right, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert elsewhere.status_code == 200


def test_successful_logins_do_not_count_as_failures(app, client):
    app.config["LOGIN_FAILURE_RATE_LIMIT"] = "3 per 10 minutes"
    register(client, "alice")
    for _ in range(10):
        register(client, "alice", login_only=True)


# 8. Password hashing ------------------------------------------------------------------


class SlowHasher:
    """A fake hasher that takes its time and records how many hash at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.peak = 0
        self.verified = 0
        self._lock = threading.Lock()

    @contextmanager
    def _busy(self) -> Iterator[None]:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        yield
        with self._lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        with self._busy():
            return "fake$" + password

    def verify(self, hash: str, password: str) -> bool:
        with self._busy():
            self.verified += 1
            return hash == "fake$" + password


def test_concurrent_hashing_is_capped_and_the_rest_get_429(database_url):
    config = {"PASSWORD_HASH_CONCURRENCY": 1, "PASSWORD_HASH_WAIT_SECONDS": 0.1}
    app = create_app({**TEST_CONFIG, **config, "DATABASE_URL": database_url})
    slow = SlowHasher(0.5)
    app.extensions["tidemark"].hasher.hasher = slow  # the cap stays the app's own
    client = app.test_client()
    register(client, "alice")
    start = threading.Barrier(6)
    answers: list[Any] = []

    def attempt(n: int) -> None:
        own = app.test_client()
        start.wait()
        if n % 2:
            body = {"userID": "alice", "password": f"wrong {n}"}
            answers.append(own.post("/api/auth/login", json=body))
        else:
            body = {"userID": f"new{n}", "password": "correct horse", "nickname": "N"}
            answers.append(own.post("/api/users", json=body))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slow.peak == 1
    limited = [r for r in answers if r.status_code == 429]
    assert len(limited) >= 3, [r.status_code for r in answers]
    assert {r.status_code for r in answers} <= {201, 401, 429}
    for response in limited:
        assert response.get_json()["error"] == "RATE_LIMITED"
        # 1 s, or later if Flask-Limiter's login window resets later (it takes the max).
        assert int(response.headers["Retry-After"]) >= 1
    app.extensions["tidemark"].db.dispose()


# 9. Sending ---------------------------------------------------------------------------


def test_sends_are_limited_per_sender(app, make_user):
    app.extensions["tidemark"].rate_limits = KeyedRateLimit("3 per minute")
    alice, bob = make_user(), make_user()
    for _ in range(3):
        alice.send(to=bob.user_id)
    body = {"clientMsgID": uuid.uuid4().hex, "recvID": bob.user_id, "text": "one too many"}
    refused = alice.client.post("/api/messages", json=body, headers=alice.headers)
    assert error_of(refused) == (429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert bob.sync()["totalUnreadCount"] == 3  # the refused one was not stored
    bob.send(to=alice.user_id)  # another sender has its own budget


def test_a_refused_send_does_not_count():
    limits = KeyedRateLimit("2 per minute;3 per hour")
    limits.check("alice")
    limits.check("alice")
    for _ in range(3):
        with pytest.raises(ApiError) as refused:
            limits.check("alice")
        assert refused.value.code == ErrorCode.RATE_LIMITED
        assert refused.value.retry_after is not None
    limits.check("bob")


def test_send_limits_in_redis_hold_across_processes():
    url = os.environ.get("TIDEMARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    user_id = f"u{uuid.uuid4().hex}"
    first, second = KeyedRateLimit("2 per minute", url), KeyedRateLimit("2 per minute", url)
    try:
        first.check(user_id)
    except Exception as error:
        pytest.fail(f"Redis at {url} is not reachable: {error}")
    second.check(user_id)
    with pytest.raises(ApiError):
        first.check(user_id)


def test_a_login_for_an_unknown_user_costs_a_password_check_too(app):
    """Timing must not tell which user IDs exist: both wrong answers verify a hash."""
    slow = SlowHasher(0.0)
    app.extensions["tidemark"].hasher.hasher = slow
    client = app.test_client()
    register(client, "alice")
    before = slow.verified
    assert (
        client.post("/api/auth/login", json={"userID": "alice", "password": "nope"}).status_code
        == 401
    )
    known = slow.verified - before
    assert (
        client.post("/api/auth/login", json={"userID": "nobody", "password": "nope"}).status_code
        == 401
    )
    assert slow.verified - before - known == known == 1
