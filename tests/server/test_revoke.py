"""revokeMessage: a tombstone with the same seq, everywhere (history, latestMsg, events,
incremental sync); who may revoke what, and when; the old text gone from the server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from server import create_app
from server.actions import revocation
from server.actions.users import now_ms
from server.protocol import AT_ALL_TAG, CONTENT_TYPES
from server.storage.tables import mentions, messages
from tests.server.conftest import TEST_CONFIG, make_app, register

REVOKED = CONTENT_TYPES["REVOKED"]
DAY = 24 * 3600


def _cid(a, b) -> str:
    return f"si_{min(a.user_id, b.user_id)}_{max(a.user_id, b.user_id)}"


def _info(message) -> dict:
    assert message["contentType"] == REVOKED
    assert message["textElem"] is None and message["atTextElem"] is None
    return json.loads(message["notificationElem"]["detail"])


@pytest.fixture
def later(monkeypatch):
    """Moves the revoke's clock forward by some seconds."""

    def move(seconds: float) -> None:
        start = now_ms()
        monkeypatch.setattr(revocation, "now_ms", lambda: start + int(seconds * 1000))

    return move


@pytest.fixture
def team(make_user):
    """ann owns a group; ben is its admin; cat and dan are members; eve is outside."""
    ann, ben, cat, dan, eve = (make_user() for _ in range(5))
    body = {
        "groupName": "team",
        "memberUserIDs": [ben.user_id, cat.user_id, dan.user_id],
    }
    group = ann.call("POST", "/api/groups", body, expect=201)
    ann.call(
        "POST", f"/api/groups/{group['groupID']}/role", {"userID": ben.user_id, "roleLevel": 60}
    )
    return group["groupID"], group["conversationID"], ann, ben, cat, dan, eve


def test_the_sender_revokes_and_every_device_gets_the_tombstone(make_user, hub, database_url):
    alice, bob = make_user(), make_user()
    sent = alice.send("a secret", to=bob.user_id)["message"]
    cid = _cid(alice, bob)
    before = {u.user_id: u.sync()["version"] for u in (alice, bob)}
    hub.events.clear()

    answer = alice.revoke(cid, sent["clientMsgID"])
    tombstone = answer["message"]
    for field in ("serverMsgID", "clientMsgID", "seq", "sendID", "recvID", "groupID"):
        assert tombstone[field] == sent[field]
    assert (tombstone["sessionType"], tombstone["sendTime"]) == (1, sent["sendTime"])
    info = _info(tombstone)
    assert info == {
        "revokerID": alice.user_id,
        "revokerRole": 0,
        "revokerNickname": alice.user_id.title(),
        "clientMsgID": sent["clientMsgID"],
        "revokeTime": info["revokeTime"],
        "sourceMessageSendTime": sent["sendTime"],
        "sourceMessageSendID": alice.user_id,
        "sourceMessageSenderNickname": alice.user_id.title(),
        "sessionType": 1,
        "seq": 1,
        "ex": "",
    }
    assert answer["state"]["conversations"][0]["latestMsg"] == tombstone
    for user in (alice, bob):
        (event,) = hub.for_user(user.user_id)
        assert event["type"] == "message.revoked"
        assert event["message"] == tombstone
        assert event["conversation"]["latestMsg"] == tombstone
        assert event["version"] == before[user.user_id] + 1 == user.sync()["version"]
        assert event["conversation"]["version"] == event["version"]
    # Positions and unread do not change (rule 2).
    record = bob.record(cid)
    assert (record["unreadCount"], record["maxSeq"], record["latestMsg"]) == (1, 1, tombstone)
    assert bob.call("GET", f"/api/conversations/{cid}/messages")["messages"] == [tombstone]
    # The old text is gone from the server.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        contents = list(conn.scalars(select(messages.c.content)))
    engine.dispose()
    assert contents and not any("a secret" in c for c in contents)


def test_a_revoke_asked_again_answers_the_same_and_changes_nothing(make_user, hub, later):
    alice, bob = make_user(), make_user()
    sent = alice.send(to=bob.user_id)["message"]
    cid = _cid(alice, bob)
    first = alice.revoke(cid, sent["clientMsgID"])
    hub.events.clear()
    later(2 * DAY)  # a retry after the window has passed still succeeds
    again = alice.revoke(cid, sent["clientMsgID"])
    assert again == first
    assert hub.events == []
    # Someone who may not revoke it is still told so.
    assert bob.revoke(cid, sent["clientMsgID"], 403)["error"] == "REVOKE_NOT_ALLOWED"


def test_the_sender_may_revoke_only_within_the_window(make_user, later):
    alice, bob = make_user(), make_user()
    sent = alice.send("too late", to=bob.user_id)["message"]
    cid = _cid(alice, bob)
    later(DAY + 1)
    answer = alice.revoke(cid, sent["clientMsgID"], 403)
    assert answer["error"] == "REVOKE_TOO_LATE"
    assert bob.record(cid)["latestMsg"] == sent
    later(DAY - 1)
    assert _info(alice.revoke(cid, sent["clientMsgID"])["message"])["revokerID"] == alice.user_id


def test_the_window_is_configured(database_url, later):
    app = make_app(database_url, REVOKE_WINDOW_SECONDS=5)
    try:
        client = app.test_client()
        alice, bob = register(client), register(client)
        first = alice.send(to=bob.user_id)["message"]
        second = alice.send(to=bob.user_id)["message"]
        cid = _cid(alice, bob)
        later(6)
        assert alice.revoke(cid, first["clientMsgID"], 403)["error"] == "REVOKE_TOO_LATE"
        later(4)
        alice.revoke(cid, second["clientMsgID"])
    finally:
        app.extensions["tidemark"].db.dispose()


def test_the_window_comes_from_the_environment(monkeypatch, sqlite_url):
    monkeypatch.setenv("TIDEMARK_REVOKE_WINDOW_SECONDS", "90")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": sqlite_url})
    try:
        assert app.extensions["tidemark"].revoke_window_seconds == 90
    finally:
        app.extensions["tidemark"].db.dispose()


def test_the_peer_of_a_single_chat_may_not_revoke(make_user):
    alice, bob = make_user(), make_user()
    sent = alice.send(to=bob.user_id)["message"]
    answer = bob.revoke(_cid(alice, bob), sent["clientMsgID"], 403)
    assert answer["error"] == "REVOKE_NOT_ALLOWED"


def test_the_owner_revokes_any_message_at_any_age(team, later, hub):
    gid, cid, ann, ben, cat, dan, _ = team
    by_cat = cat.send("cat's", group=gid)["message"]
    by_ben = ben.send("ben's", group=gid)["message"]
    later(30 * DAY)
    hub.events.clear()
    info = _info(ann.revoke(cid, by_cat["clientMsgID"])["message"])
    assert (info["revokerID"], info["revokerRole"], info["sessionType"]) == (ann.user_id, 100, 3)
    assert info["sourceMessageSendID"] == cat.user_id
    assert {uid for uid, _ in hub.events} == {ann.user_id, ben.user_id, cat.user_id, dan.user_id}
    ann.revoke(cid, by_ben["clientMsgID"])


def test_an_admin_revokes_any_message_but_the_owners(team, later):
    gid, cid, ann, ben, cat, *_ = team
    by_cat = cat.send(group=gid)["message"]
    by_ann = ann.send(group=gid)["message"]
    mine = ben.send(group=gid)["message"]
    later(30 * DAY)
    assert _info(ben.revoke(cid, by_cat["clientMsgID"])["message"])["revokerRole"] == 60
    assert ben.revoke(cid, mine["clientMsgID"])["message"]["contentType"] == REVOKED
    answer = ben.revoke(cid, by_ann["clientMsgID"], 403)
    assert answer["error"] == "REVOKE_NOT_ALLOWED"


def test_a_member_revokes_only_their_own(team):
    gid, cid, ann, ben, cat, dan, _ = team
    by_dan = dan.send(group=gid)["message"]
    assert cat.revoke(cid, by_dan["clientMsgID"], 403)["error"] == "REVOKE_NOT_ALLOWED"
    assert _info(dan.revoke(cid, by_dan["clientMsgID"])["message"])["revokerRole"] == 20


def test_a_notification_is_not_revocable(team):
    gid, cid, ann, *_ = team
    notification = ann.call("GET", f"/api/conversations/{cid}/messages")["messages"][0]
    assert notification["contentType"] == CONTENT_TYPES["MEMBER_SET_TO_ADMIN"]
    answer = ann.revoke(cid, notification["clientMsgID"], 400)
    assert answer["error"] == "NOT_REVOCABLE"


def test_the_notification_of_ones_own_joining_is_not_revocable(team):
    """It is in the joiner's history (from their join seq) but before the seqs a
    revocation would reach: still NOT_REVOCABLE, never "not found"."""
    gid, cid, ann, ben, cat, dan, eve = team
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [eve.user_id]})
    joined = eve.record(cid)["latestMsg"]
    assert joined["contentType"] == CONTENT_TYPES["MEMBER_INVITED"]
    assert eve.revoke(cid, joined["clientMsgID"], 400)["error"] == "NOT_REVOCABLE"


def test_a_message_you_cannot_see_is_not_found(team):
    gid, cid, ann, ben, cat, dan, eve = team
    early = ann.send(group=gid)["message"]
    answer = ann.revoke(cid, "no-such-message", 404)
    assert answer["error"] == "MESSAGE_NOT_FOUND"
    assert eve.revoke(cid, early["clientMsgID"], 404)["error"] == "CONVERSATION_NOT_FOUND"
    # eve joins later: the message is before her window.
    ann.call("POST", f"/api/groups/{gid}/role", {"userID": ben.user_id, "roleLevel": 20})
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [eve.user_id]})
    ann.call("POST", f"/api/groups/{gid}/transfer", {"newOwnerUserID": eve.user_id})
    assert eve.revoke(cid, early["clientMsgID"], 404)["error"] == "MESSAGE_NOT_FOUND"


def test_a_member_who_left_or_a_dismissed_group_cannot_revoke(team):
    gid, cid, ann, ben, cat, *_ = team
    by_cat = cat.send(group=gid)["message"]
    cat.call("POST", f"/api/groups/{gid}/quit", {})
    assert cat.revoke(cid, by_cat["clientMsgID"], 403)["error"] == "NOT_GROUP_MEMBER"
    by_ann = ann.send(group=gid)["message"]
    ann.call("POST", f"/api/groups/{gid}/dismiss", {})
    assert ann.revoke(cid, by_ann["clientMsgID"], 410)["error"] == "GROUP_DISMISSED"


def test_everyone_whose_window_holds_it_is_told_even_after_leaving(team, hub):
    gid, cid, ann, ben, cat, dan, eve = team
    sent = dan.send(group=gid)["message"]
    cat.call("POST", f"/api/groups/{gid}/quit", {})  # cat saw it, then left
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [eve.user_id]})  # eve did not
    hub.events.clear()
    dan.revoke(cid, sent["clientMsgID"])
    told = {uid for uid, e in hub.events if e["type"] == "message.revoked"}
    assert told == {ann.user_id, ben.user_id, cat.user_id, dan.user_id}
    assert (
        cat.call("GET", f"/api/conversations/{cid}/messages")["messages"][1]["seq"] == sent["seq"]
    )


def test_an_offline_device_gets_the_tombstone_in_its_incremental_sync(make_user, client):
    alice, bob = make_user(), make_user()
    sent = [alice.send(f"m{i}", to=bob.user_id)["message"] for i in range(3)]
    cid = _cid(alice, bob)
    phone = register(client, bob.user_id, login_only=True)
    base = phone.sync()
    assert base["revokedMessages"] == []
    tombstone = alice.revoke(cid, sent[0]["clientMsgID"])["message"]
    delta = phone.sync(base["epoch"], base["version"])
    assert delta["full"] is False
    assert delta["revokedMessages"] == [tombstone]
    assert [c["conversationID"] for c in delta["conversations"]] == [cid]
    # Nothing newer since: nothing to replace; a full snapshot carries none.
    assert phone.sync(delta["epoch"], delta["version"])["revokedMessages"] == []
    assert phone.sync()["revokedMessages"] == []
    # The peer's latestMsg is unchanged: the revoked one was not the latest.
    assert delta["conversations"][0]["latestMsg"] == sent[2]


def test_revoking_a_mention_takes_the_mention_away(team, database_url):
    gid, cid, ann, ben, cat, *_ = team
    sent = ann.send("@all", group=gid, at=[AT_ALL_TAG, ben.user_id])["message"]
    assert ben.record(cid)["groupAtType"] == 3
    ann.revoke(cid, sent["clientMsgID"])
    for user in (ben, cat):
        record = user.record(cid)
        assert (record["mentionCount"], record["groupAtType"]) == (0, 0)
        assert record["unreadCount"] == 2  # the role notification and the tombstone
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(mentions)).all() == []
        content = conn.scalar(select(messages.c.content).where(messages.c.seq == sent["seq"]))
    engine.dispose()
    assert "@all" not in content


@pytest.mark.parametrize("body", [{}, {"clientMsgID": ""}, {"clientMsgID": 5}, {"seq": 1}])
def test_a_bad_revoke_is_refused(make_user, body):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    path = f"/api/conversations/{_cid(alice, bob)}/revoke"
    assert alice.call("POST", path, body, 400)["error"] == "VALIDATION_FAILED"
