"""Acting as users over HTTP (httpx), with short per-request timeouts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct-horse-battery"


def new_id(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class User:
    user_id: str
    token: str
    expires_at: int
    http: httpx.Client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: Any, timeout: float = 10) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.auth, timeout=timeout)

    def get(self, path: str, timeout: float = 10, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None, headers=self.auth, timeout=timeout)

    def send(
        self,
        text: str,
        recv_id: str | None = None,
        group_id: str | None = None,
        timeout: float = 10,
    ) -> httpx.Response:
        body: dict[str, Any] = {"clientMsgID": uuid.uuid4().hex, "text": text}
        if group_id is not None:
            body["groupID"] = group_id
        else:
            body["recvID"] = recv_id
        return self.post("/api/messages", body, timeout=timeout)

    def logout(self, timeout: float = 10) -> httpx.Response:
        return self.http.post("/api/auth/logout", headers=self.auth, timeout=timeout)


def client(base_url: str, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=timeout)


def register(http: httpx.Client, user_id: str | None = None, password: str = PASSWORD) -> str:
    user_id = user_id or new_id()
    answer = http.post(
        "/api/users",
        json={"userID": user_id, "password": password, "nickname": user_id},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return user_id


def login(http: httpx.Client, user_id: str, password: str = PASSWORD) -> User:
    answer = http.post(
        "/api/auth/login", json={"userID": user_id, "password": password}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return User(user_id, body["token"], body["expiresAt"], http)


def new_user(http: httpx.Client, password: str = PASSWORD) -> User:
    return login(http, register(http, password=password), password)
