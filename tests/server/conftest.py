"""An app on a temporary database, an HTTP client, and a helper that acts as a user."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app, serve
from server.asgi import TidemarkASGI
from server.events import EVENT_ADAPTER

_ids = itertools.count(1)

TEST_CONFIG = {
    "TESTING": True,
    "FAST_PASSWORD_HASHING": True,
    "LOGIN_RATE_LIMIT": "10000 per minute",
    "REGISTER_RATE_LIMIT": "10000 per minute",
    "LOGIN_FAILURE_RATE_LIMIT": "10000 per minute",
    "SEND_RATE_LIMIT": "100000 per minute",
}


class CapturingHub:
    """Wraps the real hub: records every published event after validating its schema."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, events: Any) -> None:
        events = list(events)
        for _, event in events:
            EVENT_ADAPTER.validate_python(event)
        self.events.extend(events)
        self.inner.publish(events)

    def for_user(self, user_id: str) -> list[dict[str, Any]]:
        return [event for uid, event in self.events if uid == user_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def make_app(database_url: str, **config: Any) -> Flask:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, **config})
    services = app.extensions["tidemark"]
    services.hub = CapturingHub(services.hub)
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    yield app
    app.extensions["tidemark"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def hub(app: Flask) -> CapturingHub:
    hub: CapturingHub = app.extensions["tidemark"].hub
    return hub


@dataclass
class User:
    """A registered, logged-in user driving the API through a test client."""

    client: FlaskClient
    user_id: str
    token: str
    sent: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.client.open(path, method=method, json=body, headers=self.headers)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def send(
        self,
        text: str = "hello",
        *,
        to: str | None = None,
        group: str | None = None,
        at: list[str] | None = None,
    ) -> Any:
        body: dict[str, Any] = {"clientMsgID": uuid.uuid4().hex, "text": text}
        body["recvID" if to else "groupID"] = to or group
        if at is not None:
            body["atUserIDList"] = at
        return self.call("POST", "/api/messages", body)

    def read(self, conversation_id: str, seq: int | None = None, version: int | None = None) -> Any:
        body = {k: v for k, v in {"seq": seq, "version": version}.items() if v is not None}
        return self.call("POST", f"/api/conversations/{conversation_id}/read", body)["state"]

    def settings(self, conversation_id: str, **body: Any) -> Any:
        return self.call("POST", f"/api/conversations/{conversation_id}/settings", body)["state"]

    def mark_unread(self, conversation_id: str) -> Any:
        return self.call("POST", f"/api/conversations/{conversation_id}/unread", {})["state"]

    def hide(self, conversation_id: str) -> Any:
        return self.call("POST", f"/api/conversations/{conversation_id}/hide", {})["state"]

    def read_all(self, version: int | None = None) -> Any:
        body = {} if version is None else {"version": version}
        return self.call("POST", "/api/conversations/read-all", body)["state"]

    def revoke(self, conversation_id: str, client_msg_id: str, expect: int = 200) -> Any:
        body = {"clientMsgID": client_msg_id}
        return self.call("POST", f"/api/conversations/{conversation_id}/revoke", body, expect)

    def record(self, conversation_id: str) -> Any:
        """This user's record of the conversation, from a fresh full sync."""
        found = [c for c in self.sync()["conversations"] if c["conversationID"] == conversation_id]
        assert len(found) == 1, found
        return found[0]

    def sync(self, epoch: str | None = None, version: int | None = None) -> Any:
        query = {k: v for k, v in {"epoch": epoch, "version": version}.items() if v is not None}
        response = self.client.get("/api/sync", query_string=query, headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def group(self, *members: str, name: str = "team") -> Any:
        body = {"groupName": name, "memberUserIDs": list(members)}
        return self.call("POST", "/api/groups", body, expect=201)


def register(client: FlaskClient, user_id: str | None = None, login_only: bool = False) -> User:
    """A new user, logged in; ``login_only``: another login (token) of an existing one."""
    user_id = user_id or f"user{next(_ids)}"
    password = "correct horse"
    if not login_only:
        response = client.post(
            "/api/users",
            json={"userID": user_id, "password": password, "nickname": user_id.title()},
        )
        assert response.status_code == 201, response.get_json()
    login = client.post("/api/auth/login", json={"userID": user_id, "password": password})
    assert login.status_code == 200, login.get_json()
    return User(client, user_id, login.get_json()["token"])


@pytest.fixture
def make_user(client: FlaskClient) -> Any:
    return lambda user_id=None: register(client, user_id)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real socket, served as ``tidemark serve`` serves it: its base URL."""
    with serve.in_thread(TidemarkASGI(app)) as url:
        yield url
