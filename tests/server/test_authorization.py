"""Every endpoint refuses anonymous callers, and members-only ones refuse outsiders."""

from __future__ import annotations

import re

import pytest

from server.api import OPERATIONS

AUTHENTICATED = [op for op in OPERATIONS if op.auth]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "si_a_b", path)


@pytest.mark.parametrize("op", AUTHENTICATED, ids=lambda op: f"{op.method} {op.path}")
def test_anonymous_callers_are_refused(client, op):
    response = client.open(_concrete(op.path), method=op.method.upper(), json={})
    assert response.status_code == 401
    assert response.get_json()["error"] == "UNAUTHORIZED"


def test_every_api_route_is_a_declared_operation(app):
    declared = {(op.method.upper(), op.path) for op in OPERATIONS}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in ("/api/ws", "/api/openapi.json"):
            continue
        path = re.sub(r"<([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in declared


@pytest.fixture
def outsider_case(make_user):
    alice, bob, mallory = make_user(), make_user(), make_user()
    single = alice.send(to=bob.user_id)["message"]["conversationID"]
    group = alice.group(bob.user_id)
    alice.send(group=group["groupID"])
    return mallory, single, group


@pytest.mark.parametrize("kind", ["single", "group"])
def test_outsiders_cannot_touch_a_conversation(outsider_case, kind):
    mallory, single, group = outsider_case
    cid = single if kind == "single" else group["conversationID"]
    for method, path, body in [
        ("GET", f"/api/conversations/{cid}/messages", None),
        ("POST", f"/api/conversations/{cid}/read", {}),
    ]:
        answer = mallory.call(method, path, body, expect=404)
        assert answer["error"] == "CONVERSATION_NOT_FOUND"
    if kind == "group":
        body = {"clientMsgID": "x", "groupID": group["groupID"], "text": "let me in"}
        assert mallory.call("POST", "/api/messages", body, 404)["error"] == "CONVERSATION_NOT_FOUND"
    assert mallory.sync()["conversations"] == []
