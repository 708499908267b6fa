"""Web Push: pushes after commit, to a local push endpoint that checks and decrypts them.

The endpoint (a small HTTP server on 127.0.0.1, allowed by PUSH_INSECURE_HOSTS) checks the
VAPID header (RFC 8292: an ES256 JWT signed with the server's key) and decrypts the body
(aes128gcm, RFC 8291) with the subscription's private key and auth secret, which the test
made as a browser would. Waits are queues with timeouts; "nothing was pushed" is shown by
a later push arriving first, or by the delivery being idle with nothing received.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, delete, insert, select

from server.push.vapid import VapidKeys
from server.storage import Database
from server.storage import push as push_store
from server.storage.tables import push_subscriptions, secrets
from tests.server.conftest import make_app, register

CONTACT = "mailto:push-tests@tidemark.test"
WAIT = 10.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class PushEndpoint:
    """The push service: records each POST per path and answers ``statuses[path]``."""

    base: str
    statuses: dict[str, int] = field(default_factory=dict)
    inboxes: dict[str, queue.Queue[Received]] = field(default_factory=dict)

    def inbox(self, path: str) -> queue.Queue[Received]:
        return self.inboxes.setdefault(path, queue.Queue())


@pytest.fixture
def endpoint() -> Iterator[PushEndpoint]:
    state: dict[str, PushEndpoint] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            push = state["endpoint"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            push.inbox(self.path).put(Received(self.path, headers, body))
            self.send_response(push.statuses.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["endpoint"] = PushEndpoint(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state["endpoint"]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:
    app = make_app(database_url, PUSH_INSECURE_HOSTS="127.0.0.1", PUSH_CONTACT=CONTACT)
    yield app
    app.extensions["tidemark_push"].delivery.close()
    app.extensions["tidemark"].db.dispose()


@dataclass
class Browser:
    """A browser's push subscription: its keys are the test's, as PushManager makes them."""

    endpoint: PushEndpoint
    path: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def make(cls, endpoint: PushEndpoint, name: str) -> Browser:
        return cls(
            endpoint, f"/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )

    @property
    def url(self) -> str:
        return self.endpoint.base + self.path

    def subscription(self, previews: bool = False) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}
        return {"endpoint": self.url, "keys": keys, "previews": previews}

    def next(self, server_key: str) -> dict[str, Any]:
        """The next push this browser receives, checked and decrypted."""
        received = self.endpoint.inbox(self.path).get(timeout=WAIT)
        check_vapid(received.headers, server_key, self.endpoint.base)
        assert received.headers["content-encoding"] == "aes128gcm"
        assert int(received.headers["ttl"]) > 0
        plain = http_ece.decrypt(
            received.body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        data: dict[str, Any] = json.loads(plain)
        return data

    def nothing_received(self) -> bool:
        return self.endpoint.inbox(self.path).empty()


def check_vapid(headers: dict[str, str], server_key: str, audience: str) -> None:
    """``Authorization: vapid t=<JWT>, k=<key>``: the server's key, an ES256 signature by
    it, and claims naming this push service, the contact and a future expiry."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == server_key
    signing_input, _, signature = parts["t"].rpartition(".")
    header = json.loads(unb64url(signing_input.split(".")[0]))
    assert header == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(unb64url(signing_input.split(".")[1]))
    assert claims["aud"] == audience
    assert claims["sub"] == CONTACT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600


def _cid(a: Any, b: Any) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def _key(user: Any) -> str:
    key: str = user.call("GET", "/api/push/key")["publicKey"]
    return key


def _idle(app: Any) -> None:
    assert app.extensions["tidemark_push"].delivery.wait_idle(WAIT)


def _count(result: str) -> float:
    value = REGISTRY.get_sample_value("tidemark_push_notifications_total", {"result": result})
    return value or 0.0


def _subscriptions(app: Any) -> list[str]:
    with app.extensions["tidemark"].db.read() as conn:
        return list(conn.scalars(select(push_subscriptions.c.endpoint)))


# --- the key -------------------------------------------------------------------------------


def test_the_key_is_a_p256_point_kept_in_the_database(app):
    alice = register(app.test_client())
    key = _key(alice)
    point = unb64url(key)
    assert len(point) == 65 and point[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    db = app.extensions["tidemark"].db
    assert VapidKeys.load(db, CONTACT).public_key == key  # a restart reads it back


def test_processes_starting_at_once_share_one_key(app, database_url):
    db = app.extensions["tidemark"].db
    with db.write() as tx:
        tx.conn.execute(delete(secrets))  # as before the first start
    keys: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        other = Database(database_url)
        try:
            barrier.wait(WAIT)
            keys.append(VapidKeys.load(other, CONTACT).public_key)
        except BaseException as error:
            errors.append(error)
        finally:
            other.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(keys) == 3 and len(set(keys)) == 1


@pytest.mark.postgres
def test_the_first_insert_wins_when_another_process_stores_a_key_meanwhile(postgres_url):
    """PostgreSQL lets another process insert between this one's read and its insert
    (SQLite's BEGIN IMMEDIATE makes each writer alone): the later insert reads the
    winner's key instead of failing."""
    db = Database(postgres_url)
    db.migrate()
    other = create_engine(postgres_url)
    try:

        def make_while_another_wins() -> str:
            with other.begin() as conn:
                conn.execute(insert(secrets).values(name="k", value="theirs"))
            return "mine"

        with db.write() as tx:
            assert push_store.secret(tx.conn, "k", make_while_another_wins) == "theirs"
        with db.read() as conn:
            assert push_store.secret(conn, "k", lambda: "again") == "theirs"
    finally:
        other.dispose()
        db.dispose()


def test_a_fresh_database_gets_its_own_key(app, tmp_path):
    other = make_app(f"sqlite:///{tmp_path}/other.db")
    try:
        mine = app.extensions["tidemark_push"].keys.public_key
        assert other.extensions["tidemark_push"].keys.public_key != mine
    finally:
        other.extensions["tidemark_push"].delivery.close()
        other.extensions["tidemark"].db.dispose()


# --- what a push carries -----------------------------------------------------------------


def test_a_message_push_carries_no_text_without_previews(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    phone = Browser.make(endpoint, "bob-phone")
    assert bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201) == {
        "endpoint": phone.url,
        "previews": False,
    }
    alice.send("the secret plan", to=bob.user_id)
    received = endpoint.inbox(phone.path).get(timeout=WAIT)
    assert b"secret" not in received.body  # encrypted on the wire
    endpoint.inbox(phone.path).put(received)
    assert phone.next(_key(bob)) == {
        "type": "message",
        "conversationID": _cid(alice, bob),
        "seq": 1,
        "title": alice.user_id.title(),  # the sender's nickname
        "body": "New message",
        "total": 1,
    }


def test_a_message_push_carries_the_text_with_previews_and_the_group_name(app, endpoint):
    client = app.test_client()
    alice, bob, carol = register(client), register(client), register(client)
    phone = Browser.make(endpoint, "bob-phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(previews=True), expect=201)
    key = _key(bob)
    alice.send("see you at 5", to=bob.user_id)
    assert phone.next(key)["body"] == "see you at 5"
    group = alice.group(bob.user_id, carol.user_id, name="Ops")
    alice.send("deploy now", group=group["groupID"])
    pushed = phone.next(key)
    assert pushed == {
        "type": "message",
        "conversationID": group["conversationID"],
        "seq": pushed["seq"],
        "title": "Ops",
        "body": "deploy now",
        "total": 2,
    }
    assert pushed["seq"] >= 1


def test_previews_follow_each_subscription(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    laptop = register(client, bob.user_id, login_only=True)
    phone, desk = Browser.make(endpoint, "phone"), Browser.make(endpoint, "desk")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(previews=False), expect=201)
    laptop.call("POST", "/api/push/subscriptions", desk.subscription(previews=True), expect=201)
    alice.send("hello both", to=bob.user_id)
    key = _key(bob)
    assert phone.next(key)["body"] == "New message"
    assert desk.next(key)["body"] == "hello both"


def test_long_text_is_cut_to_fit_a_push(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(previews=True), expect=201)
    alice.send("é" * 4000, to=bob.user_id)
    body = phone.next(_key(bob))["body"]
    assert body == "é" * 499 + "…"


# --- who gets one ------------------------------------------------------------------------


def test_nothing_is_pushed_for_a_muted_conversation(app, endpoint):
    client = app.test_client()
    alice, bob, carol = register(client), register(client), register(client)
    alice.send("first", to=bob.user_id)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(previews=True), expect=201)
    bob.settings(_cid(alice, bob), recvMsgOpt=2)
    alice.send("muted", to=bob.user_id)
    carol.send("not muted", to=bob.user_id)
    pushed = phone.next(_key(bob))
    assert (pushed["conversationID"], pushed["body"]) == (_cid(carol, bob), "not muted")
    # The muted chat is outside the total (rule 13): carol's message is the one unread.
    assert pushed["total"] == 1
    _idle(app)
    assert phone.nothing_received()


def test_the_sender_gets_no_push(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    mine, theirs = Browser.make(endpoint, "alice"), Browser.make(endpoint, "bob")
    alice.call("POST", "/api/push/subscriptions", mine.subscription(previews=True), expect=201)
    bob.call("POST", "/api/push/subscriptions", theirs.subscription(previews=True), expect=201)
    alice.send("from alice", to=bob.user_id)
    assert theirs.next(_key(bob))["body"] == "from alice"
    bob.send("from bob", to=alice.user_id)
    pushed = mine.next(_key(alice))
    assert (pushed["seq"], pushed["body"], pushed["title"]) == (2, "from bob", bob.user_id.title())


def test_membership_notifications_are_not_pushed(app, endpoint):
    client = app.test_client()
    alice, bob, carol = register(client), register(client), register(client)
    group = alice.group(bob.user_id, name="Team")
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(previews=True), expect=201)
    invite = {"userIDList": [carol.user_id]}
    alice.call("POST", f"/api/groups/{group['groupID']}/members", invite)
    alice.send("welcome", group=group["groupID"])
    assert phone.next(_key(bob))["body"] == "welcome"


def test_a_read_on_another_device_pushes_read(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    laptop = register(client, bob.user_id, login_only=True)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    key = _key(bob)
    alice.send("one", to=bob.user_id)
    assert phone.next(key)["type"] == "message"
    laptop.read(_cid(alice, bob))
    assert phone.next(key) == {"type": "read", "conversationID": _cid(alice, bob), "total": 0}


def test_read_and_message_pushes_of_a_conversation_share_a_topic(app, endpoint):
    """A push service holding an undelivered message push replaces it with the read."""
    client = app.test_client()
    alice, bob = register(client), register(client)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    alice.send("one", to=bob.user_id)
    message = endpoint.inbox(phone.path).get(timeout=WAIT)
    bob.read(_cid(alice, bob))
    read = endpoint.inbox(phone.path).get(timeout=WAIT)
    assert message.headers["topic"] == read.headers["topic"]
    assert len(read.headers["topic"]) <= 32
    assert message.headers["urgency"] == "high"


# --- subscriptions end -------------------------------------------------------------------


def test_logout_removes_the_sessions_subscription(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    tablet = register(client, bob.user_id, login_only=True)
    phone, pad = Browser.make(endpoint, "phone"), Browser.make(endpoint, "pad")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    tablet.call("POST", "/api/push/subscriptions", pad.subscription(), expect=201)
    key = _key(tablet)
    bob.call("POST", "/api/auth/logout", {})
    assert _subscriptions(app) == [pad.url]
    alice.send("after logout", to=bob.user_id)
    assert pad.next(key)["type"] == "message"
    _idle(app)
    assert phone.nothing_received()


def test_gone_subscriptions_are_deleted(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    phone, other = Browser.make(endpoint, "phone"), Browser.make(endpoint, "other")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    endpoint.statuses[phone.path] = 410
    gone = _count("gone")
    alice.send("one", to=bob.user_id)
    endpoint.inbox(phone.path).get(timeout=WAIT)
    _idle(app)
    assert _subscriptions(app) == []
    assert _count("gone") == gone + 1
    bob.call("POST", "/api/push/subscriptions", other.subscription(), expect=201)
    alice.send("two", to=bob.user_id)
    assert other.next(_key(bob))["seq"] == 2
    _idle(app)
    assert phone.nothing_received()


def test_a_failing_push_service_never_fails_the_request(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    endpoint.statuses[phone.path] = 500
    failed = _count("failed")
    alice.send("one", to=bob.user_id)  # 200 (User.call checks it)
    endpoint.inbox(phone.path).get(timeout=WAIT)
    _idle(app)
    assert _count("failed") == failed + 1
    assert _subscriptions(app) == [phone.url]  # kept: only 404/410 mean gone


def test_unreachable_push_service_is_counted(app, endpoint):
    client = app.test_client()
    alice, bob = register(client), register(client)
    sub = Browser.make(endpoint, "x").subscription()
    sub["endpoint"] = "http://127.0.0.1:9/push/nowhere"  # the discard port: refused
    bob.call("POST", "/api/push/subscriptions", sub, expect=201)
    failed = _count("failed")
    alice.send("one", to=bob.user_id)
    _idle(app)
    assert _count("failed") == failed + 1


# --- the subscriptions API ---------------------------------------------------------------


def test_subscribing_again_replaces_and_unsubscribing_removes(app, endpoint):
    client = app.test_client()
    bob, mallory = register(client), register(client)
    phone = Browser.make(endpoint, "phone")
    bob.call("POST", "/api/push/subscriptions", phone.subscription(), expect=201)
    again = bob.call("POST", "/api/push/subscriptions", phone.subscription(True), expect=201)
    assert again == {"endpoint": phone.url, "previews": True}
    with app.extensions["tidemark"].db.read() as conn:
        rows = conn.execute(select(push_subscriptions.c.previews)).all()
    assert [bool(r.previews) for r in rows] == [True]
    # Someone else's endpoint is not theirs to remove.
    mallory.call("DELETE", "/api/push/subscriptions", {"endpoint": phone.url})
    assert _subscriptions(app) == [phone.url]
    assert bob.call("DELETE", "/api/push/subscriptions", {"endpoint": phone.url}) == {}
    assert _subscriptions(app) == []


def test_a_user_keeps_a_bounded_number_of_subscriptions(database_url, endpoint):
    app = make_app(database_url, PUSH_INSECURE_HOSTS="127.0.0.1", PUSH_MAX_SUBSCRIPTIONS_PER_USER=2)
    try:
        bob = register(app.test_client())
        browsers = [Browser.make(endpoint, f"b{i}") for i in range(3)]
        for browser in browsers:
            bob.call("POST", "/api/push/subscriptions", browser.subscription(), expect=201)
            time.sleep(0.002)  # distinct created_at (ms)
        assert sorted(_subscriptions(app)) == sorted(b.url for b in browsers[1:])
    finally:
        app.extensions["tidemark_push"].delivery.close()
        app.extensions["tidemark"].db.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.com/x",  # not https
        "https://10.0.0.1/x",  # an address
        "https://[::1]/x",
        "https://localhost/x",
        "https://user:pw@push.example.com/x",
        "ftp://push.example.com/x",
        "https:///x",
        "not a url",
        "https://push.example.com:99999/x",
    ],
)
def test_endpoints_must_be_https_to_a_named_host(app, endpoint, url):
    bob = register(app.test_client())
    sub = Browser.make(endpoint, "x").subscription()
    sub["endpoint"] = url
    answer = bob.call("POST", "/api/push/subscriptions", sub, expect=400)
    assert answer["errCode"] == 1002
    assert _subscriptions(app) == []


def test_an_https_endpoint_is_accepted(app, endpoint):
    bob = register(app.test_client())
    sub = Browser.make(endpoint, "x").subscription()
    sub["endpoint"] = "https://fcm.googleapis.com/fcm/send/abc"
    sub["expirationTime"] = None  # PushSubscription.toJSON() has it
    bob.call("POST", "/api/push/subscriptions", sub, expect=201)


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": b64url(b"a" * 16)},  # not on P-256
        {"p256dh": b64url(b"\x02" + b"\x01" * 32), "auth": b64url(b"a" * 16)},  # compressed
        {"auth": b64url(b"a" * 16)},
        {"p256dh": "!!!", "auth": b64url(b"a" * 16)},
    ],
)
def test_keys_are_checked(app, endpoint, keys):
    bob = register(app.test_client())
    sub = Browser.make(endpoint, "x").subscription()
    good = sub["keys"]["p256dh"]
    sub["keys"] = {**keys}
    answer = bob.call("POST", "/api/push/subscriptions", sub, expect=400)
    assert answer["errCode"] == 1002
    sub["keys"] = {"p256dh": good, "auth": b64url(b"short")}
    bob.call("POST", "/api/push/subscriptions", sub, expect=400)


def test_push_routes_need_a_session(app, endpoint):
    client = app.test_client()
    assert client.get("/api/push/key").status_code == 401
    sub = Browser.make(endpoint, "x").subscription()
    assert client.post("/api/push/subscriptions", json=sub).status_code == 401
    assert client.delete("/api/push/subscriptions", json={"endpoint": "x"}).status_code == 401
