"""Rule 14: mentions are positions too. @ messages (contentType 106) and the records'
mentionCount and groupAtType, derived from mention rows and read positions."""

from __future__ import annotations

import json
import uuid

import pytest

from server.protocol import AT_ALL_TAG, CONTENT_TYPES
from tests.server.conftest import register
from tests.server.test_events import _next_event, _recv, _request, open_ws  # noqa: F401

AT_TEXT = CONTENT_TYPES["AT_TEXT"]


@pytest.fixture
def team(make_user):
    """ann owns a group with ben and cat; dan is outside."""
    ann, ben, cat, dan = (make_user() for _ in range(4))
    group = ann.group(ben.user_id, cat.user_id)
    return group["groupID"], group["conversationID"], ann, ben, cat, dan


def _at(user, cid) -> tuple[int, int]:
    record = user.record(cid)
    return record["mentionCount"], record["groupAtType"]


def test_an_at_message_is_stored_with_its_elem(team):
    gid, cid, ann, ben, *_ = team
    body = {
        "clientMsgID": uuid.uuid4().hex,
        "groupID": gid,
        "text": "@Ben look",
        "atUserIDList": [ben.user_id],
        "atUsersInfo": [{"atUserID": ben.user_id, "groupNickname": "Ben"}],
    }
    sent = ann.call("POST", "/api/messages", body)["message"]
    assert sent["contentType"] == AT_TEXT
    assert sent["textElem"] is None and sent["notificationElem"] is None
    assert sent["atTextElem"] == {
        "text": "@Ben look",
        "atUserList": [ben.user_id],
        "atUsersInfo": [{"atUserID": ben.user_id, "groupNickname": "Ben"}],
    }
    history = ben.call("GET", f"/api/conversations/{cid}/messages")["messages"]
    assert history[0] == sent
    assert ben.record(cid)["latestMsg"] == sent
    # Idempotent by clientMsgID, as any send.
    assert ann.call("POST", "/api/messages", body)["message"] == sent


def test_group_at_type_is_openims_values(team, hub):
    gid, cid, ann, ben, cat, _ = team
    hub.events.clear()
    ann.send(group=gid, at=[ben.user_id])
    pushed = {uid: e for uid, e in hub.events}
    assert (pushed[ben.user_id]["conversation"]["mentionCount"], _at(ben, cid)) == (1, (1, 1))
    assert pushed[cat.user_id]["conversation"]["groupAtType"] == 0
    assert _at(cat, cid) == (0, 0)
    assert _at(ann, cid) == (0, 0)  # a sender's own mention is never counted
    ann.send(group=gid, at=[AT_ALL_TAG])
    assert _at(ben, cid) == (2, 3)  # all and me
    assert _at(cat, cid) == (1, 2)  # all
    assert _at(ann, cid) == (0, 0)


def test_one_message_mentioning_me_and_everyone_is_one_mention(team):
    gid, cid, ann, ben, *_ = team
    ann.send(group=gid, at=[ben.user_id, AT_ALL_TAG])
    assert _at(ben, cid) == (1, 3)


def test_a_read_clears_them_everywhere_and_for_good(team, client):
    gid, cid, ann, ben, *_ = team
    ann.send(group=gid, at=[ben.user_id])
    ann.send(group=gid)
    ann.send(group=gid, at=[AT_ALL_TAG])
    # A read below a mention leaves it unread.
    partial = ben.read(cid, seq=2)
    assert (partial["conversations"][0]["mentionCount"], _at(ben, cid)) == (1, (1, 2))
    state = ben.read(cid)
    assert (
        state["conversations"][0]["mentionCount"],
        state["conversations"][0]["groupAtType"],
    ) == (
        0,
        0,
    )
    # Another login (a re-login, a reload) never brings it back (openim-sdk-core #934).
    again = register(client, ben.user_id, login_only=True)
    assert _at(again, cid) == (0, 0)


def test_a_reset_clears_them_but_not_the_unread(team, hub):
    gid, cid, ann, ben, *_ = team
    ann.send(group=gid, at=[ben.user_id])
    ann.send(group=gid)
    version = ben.sync()["version"]
    hub.events.clear()
    state = ben.settings(cid, groupAtType=0)
    (record,) = state["conversations"]
    assert (record["mentionCount"], record["groupAtType"], record["unreadCount"]) == (0, 0, 2)
    assert state["version"] == version + 1
    assert state["totalUnreadCount"] == 2
    assert len(hub.for_user(ben.user_id)) == 1
    # Nothing left to reset: nothing changes.
    hub.events.clear()
    assert ben.settings(cid, groupAtType=0) == state
    assert hub.events == []
    # A later mention counts again.
    ann.send(group=gid, at=[ben.user_id])
    assert _at(ben, cid) == (1, 1)


def test_a_reset_with_nothing_to_clear_is_no_change(team, hub):
    _, cid, _, ben, *_ = team
    version = ben.sync()["version"]
    hub.events.clear()
    assert ben.settings(cid, groupAtType=0)["version"] == version
    assert hub.events == []


def test_a_mention_from_before_i_joined_is_not_mine(team):
    gid, cid, ann, ben, cat, dan = team
    ann.send(group=gid, at=[AT_ALL_TAG])
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [dan.user_id]})
    assert _at(dan, cid) == (0, 0)
    ann.send(group=gid, at=[AT_ALL_TAG])
    assert _at(dan, cid) == (1, 2)


def test_a_mention_after_i_left_is_not_mine(team):
    gid, cid, ann, ben, cat, _ = team
    ann.send(group=gid, at=[AT_ALL_TAG])
    cat.call("POST", f"/api/groups/{gid}/quit", {})
    ann.send(group=gid, at=[AT_ALL_TAG])
    assert _at(cat, cid) == (0, 0)  # a left record reads up to its leaving seq
    # A reset there has nothing to clear: allowed, and no change.
    version = cat.sync()["version"]
    assert cat.settings(cid, groupAtType=0)["version"] == version


def test_a_muted_group_keeps_its_mentions(team):
    gid, cid, ann, ben, *_ = team
    ben.settings(cid, recvMsgOpt=2)
    ann.send(group=gid, at=[ben.user_id])
    snapshot = ben.sync()
    assert snapshot["totalUnreadCount"] == 0
    assert _at(ben, cid) == (1, 1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"atUserIDList": []}, "atUserIDList"),
        ({"atUserIDList": ["x"] * 101}, "atUserIDList"),
        ({"atUserIDList": ["Bad_ID"]}, "atUserIDList"),
        ({"atUserIDList": [AT_ALL_TAG, AT_ALL_TAG]}, "no user may be listed twice"),
        ({"atUsersInfo": [{"atUserID": AT_ALL_TAG, "groupNickname": "all"}]}, "atUserIDList"),
        (
            {
                "atUserIDList": [AT_ALL_TAG],
                "atUsersInfo": [{"atUserID": "someone", "groupNickname": "x"}],
            },
            "'someone' is not in atUserIDList",
        ),
        (
            {
                "atUserIDList": [AT_ALL_TAG],
                "atUsersInfo": [{"atUserID": AT_ALL_TAG, "groupNickname": ""}],
            },
            "groupNickname",
        ),
    ],
)
def test_bad_mentions_are_refused(team, extra, message):
    gid, cid, ann, ben, *_ = team
    body = {"clientMsgID": uuid.uuid4().hex, "groupID": gid, "text": "hi", **extra}
    answer = ann.call("POST", "/api/messages", body, expect=400)
    assert answer["error"] == "VALIDATION_FAILED"
    assert message in answer["errMsg"]
    assert ben.sync()["totalUnreadCount"] == 0


def test_a_mention_of_a_non_member_is_refused_naming_them(team):
    gid, cid, ann, ben, cat, dan = team
    body = {
        "clientMsgID": uuid.uuid4().hex,
        "groupID": gid,
        "text": "hi",
        "atUserIDList": [ben.user_id, dan.user_id],
    }
    answer = ann.call("POST", "/api/messages", body, expect=400)
    assert answer["error"] == "VALIDATION_FAILED"
    assert dan.user_id in answer["errMsg"]
    # A member who left is not a current member either.
    cat.call("POST", f"/api/groups/{gid}/quit", {})
    body["atUserIDList"] = [cat.user_id]
    answer = ann.call("POST", "/api/messages", body, expect=400)
    assert cat.user_id in answer["errMsg"]
    assert ben.record(cid)["maxSeq"] == 1  # only the quit notification was stored


def test_mentions_are_for_groups_only(make_user):
    alice, bob = make_user(), make_user()
    body = {
        "clientMsgID": uuid.uuid4().hex,
        "recvID": bob.user_id,
        "text": "hi",
        "atUserIDList": [bob.user_id],
    }
    answer = alice.call("POST", "/api/messages", body, expect=400)
    assert answer["error"] == "VALIDATION_FAILED" and "groupID" in answer["errMsg"]


def test_an_at_message_over_the_socket(app, live_server, open_ws):  # noqa: F811
    client = app.test_client()
    ann, ben = register(client, "sockann"), register(client, "sockben")
    group = ann.group(ben.user_id)
    ann_ws, ben_ws = open_ws(ann.token), open_ws(ben.token)
    _recv(ann_ws), _recv(ben_ws)
    body = {
        "clientMsgID": "at-1",
        "groupID": group["groupID"],
        "text": "@all",
        "atUserIDList": [AT_ALL_TAG],
    }
    sent = _request(ann_ws, 1, "sendMessage", body)["data"]["message"]
    assert sent["contentType"] == AT_TEXT and sent["atTextElem"]["atUserList"] == [AT_ALL_TAG]
    pushed = _next_event(ben_ws)
    assert (pushed["conversation"]["mentionCount"], pushed["conversation"]["groupAtType"]) == (1, 2)
    refused = _request(ann_ws, 2, "sendMessage", {**body, "atUserIDList": ["nobody"]})
    assert refused["error"] == "VALIDATION_FAILED" and "nobody" in refused["errMsg"]
    assert json.loads(json.dumps(sent)) == ben.record(group["conversationID"])["latestMsg"]
