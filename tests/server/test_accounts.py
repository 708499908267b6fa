from __future__ import annotations

import pytest
from sqlalchemy import select

from server.storage.tables import tokens, users
from tests.server.conftest import register


def test_register_login_logout(client):
    user = register(client, "alice")
    assert user.call("GET", "/api/sync")["conversations"] == []
    user.call("POST", "/api/auth/logout")
    refused = user.client.get("/api/sync", headers=user.headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "UNAUTHORIZED"


def test_secrets_are_stored_only_as_hashes(app, client):
    user = register(client, "alice")
    with app.extensions["tidemark"].db.read() as conn:
        password_hash = conn.scalar(select(users.c.password_hash))
        token_hashes = list(conn.scalars(select(tokens.c.token_hash)))
    assert password_hash.startswith("$argon2")
    assert "correct horse" not in password_hash
    assert user.token not in token_hashes and len(token_hashes) == 1


def test_duplicate_user_is_refused(client):
    register(client, "alice")
    again = client.post(
        "/api/users", json={"userID": "alice", "password": "another one", "nickname": "A"}
    )
    assert again.status_code == 409
    assert again.get_json()["errCode"] == 1201


@pytest.mark.parametrize(
    "user_id", ["", "Alice", "a_b", "-lead", ".lead", "x" * 33, "a b", "ü", 7, None]
)
def test_bad_user_ids_are_refused(client, user_id):
    response = client.post(
        "/api/users", json={"userID": user_id, "password": "long enough", "nickname": "N"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "body",
    [
        {"userID": "bob", "password": "short", "nickname": "B"},
        {"userID": "bob", "password": "x" * 129, "nickname": "B"},
        {"userID": "bob", "password": "long enough", "nickname": ""},
        {"userID": "bob", "password": "long enough", "nickname": "B", "admin": True},
        {"userID": "bob", "password": "long enough"},
    ],
)
def test_bad_registrations_are_refused(client, body):
    response = client.post("/api/users", json=body)
    assert response.status_code == 400, response.get_json()
    login = client.post("/api/auth/login", json={"userID": "bob", "password": "long enough"})
    assert login.status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(client):
    register(client, "alice")
    wrong = client.post("/api/auth/login", json={"userID": "alice", "password": "not it!"})
    unknown = client.post("/api/auth/login", json={"userID": "nobody", "password": "not it!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_expired_token_is_refused_with_its_own_code(app, client):
    app.config["TOKEN_TTL_SECONDS"] = 0
    user = register(client, "alice")
    refused = client.get("/api/sync", headers=user.headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "TOKEN_EXPIRED"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nonsense", "Basic abc", "bearer  "])
def test_bad_authorization_headers(client, header):
    response = client.get("/api/sync", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["errCode"] == 1101


def test_login_is_rate_limited(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    register(client, "alice")  # one login
    codes = [
        client.post("/api/auth/login", json={"userID": "alice", "password": "wrong!!"}).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]
    assert (
        client.post("/api/auth/login", json={"userID": "alice", "password": "x"}).get_json()[
            "error"
        ]
        == "RATE_LIMITED"
    )
