"""The user directory: prefix of user ID or nickname, any case, exact matches first, only
public fields, LIKE's wildcards taken literally, rate-limited per user."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.server.conftest import make_app, register

PUBLIC_FIELDS = {"userID", "nickname", "faceURL", "ex"}


def make(client: Any, user_id: str, nickname: str) -> None:
    body = {"userID": user_id, "password": "correct horse", "nickname": nickname}
    assert client.post("/api/users", json=body).status_code == 201


def search(user: Any, keyword: str, count: int | None = None, expect: int = 200) -> Any:
    query = f"keyword={quote(keyword)}" + ("" if count is None else f"&count={count}")
    return user.call("GET", f"/api/users/search?{query}", expect=expect)


def ids(answer: Any) -> list[str]:
    return [user["userID"] for user in answer["users"]]


@pytest.fixture
def people(client, make_user):
    for user_id, nickname in [
        ("ann", "Someone"),
        ("anna", "Anna Karenina"),
        ("annabel", "Belle"),
        ("bo", "ANN"),
        ("cy", "Cyann"),
        ("dee", "hannah"),
    ]:
        make(client, user_id, nickname)
    return make_user("searcher")


def test_prefix_of_id_or_nickname_in_any_case_exact_first(people):
    # Exact (ID "ann", nickname "ANN") first, then prefixes; each group by user ID.
    assert ids(search(people, "Ann")) == ["ann", "bo", "anna", "annabel"]
    assert ids(search(people, "ANNA")) == ["anna", "annabel"]
    assert ids(search(people, "anna k")) == ["anna"]
    assert ids(search(people, "bel")) == ["annabel"]  # nickname prefix
    assert ids(search(people, "yann")) == []  # inside a nickname is not a prefix
    assert ids(search(people, "Ann", count=2)) == ["ann", "bo"]


def test_answers_carry_only_public_fields(people, client):
    response = client.get("/api/users/search?keyword=ann", headers=people.headers)
    assert response.status_code == 200
    assert "argon2" not in response.get_data(as_text=True)
    users = response.get_json()["users"]
    assert users and all(set(user) == PUBLIC_FIELDS for user in users)
    assert users[0] == {"userID": "ann", "nickname": "Someone", "faceURL": "", "ex": ""}


def test_like_wildcards_are_literal(client, make_user):
    for user_id, nickname in [
        ("p1", "100% real"),
        ("p2", "100x"),
        ("p3", "a_c"),
        ("p4", "abc"),
        ("p5", "back\\slash"),
        ("p6", "backslash"),
    ]:
        make(client, user_id, nickname)
    me = make_user("me")
    assert ids(search(me, "100%")) == ["p1"]
    assert ids(search(me, "a_")) == ["p3"]
    assert ids(search(me, "%")) == []
    assert ids(search(me, "_")) == []
    assert ids(search(me, "back\\")) == ["p5"]


@pytest.mark.parametrize(
    "query",
    [
        "keyword=",
        "keyword=%20%20",
        f"keyword={'x' * 65}",
        "keyword=a&count=0",
        "keyword=a&count=51",
        "",
    ],
)
def test_search_validates(make_user, query):
    me = make_user()
    assert me.call("GET", f"/api/users/search?{query}", expect=400)["errCode"] == 1002


def test_search_needs_a_session(client):
    assert client.get("/api/users/search?keyword=a").status_code == 401


def test_search_is_rate_limited_per_user(database_url):
    app = make_app(database_url, USER_SEARCH_RATE_LIMIT="3 per minute")
    try:
        client = app.test_client()
        me = register(client, f"r{uuid.uuid4().hex[:8]}")
        other = register(client, f"o{uuid.uuid4().hex[:8]}")
        for _ in range(3):
            search(me, "o")
        assert search(me, "o", expect=429)["errCode"] == 1006
        # Another user (from the same address) still may.
        assert ids(search(other, other.user_id)) == [other.user_id]
    finally:
        app.extensions["tidemark_push"].delivery.close()
        app.extensions["tidemark"].db.dispose()
