"""Groups: roles and their permissions, membership changes as messages (rule 12),
windows of visibility and unread after leaving (rule 11), receipts (rule 16), typing (17)."""

from __future__ import annotations

import json
import uuid

import pytest

from server.events import EVENT_ADAPTER
from server.protocol import CONTENT_TYPES

OWNER, ADMIN, MEMBER = 100, 60, 20


def ids(*users) -> list[str]:
    return [u.user_id for u in users]


@pytest.fixture
def team(make_user):
    """owner ann; admin ben; members cat and dan; eve outside."""
    ann, ben, cat, dan, eve = (make_user() for _ in range(5))
    body = {
        "groupInfo": {"groupName": "team"},
        "memberUserIDs": ids(ben, cat, dan),
        "adminUserIDs": ids(ben),
    }
    group = ann.call("POST", "/api/groups", body, expect=201)
    return group["groupID"], group["conversationID"], ann, ben, cat, dan, eve


def members(user, group_id, **query) -> dict[str, int]:
    path = f"/api/groups/{group_id}/members"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return {m["userID"]: m["roleLevel"] for m in user.call("GET", path)["members"]}


def record(user, cid) -> dict:
    return next(c for c in user.sync()["conversations"] if c["conversationID"] == cid)


def last_message(user, cid) -> dict:
    return user.call("GET", f"/api/conversations/{cid}/messages?count=1")["messages"][0]


# --- Roles and permissions ---------------------------------------------------------------


def test_openim_create_shape_makes_the_caller_owner_and_admins_admins(team):
    group_id, _, ann, ben, cat, dan, _ = team
    assert members(ann, group_id) == {
        ann.user_id: OWNER,
        ben.user_id: ADMIN,
        cat.user_id: MEMBER,
        dan.user_id: MEMBER,
    }
    assert list(members(ann, group_id, filter=5)) == [ann.user_id, ben.user_id]
    page = ann.call("GET", f"/api/groups/{group_id}/members?offset=1&count=2")
    assert page["total"] == 4 and [m["userID"] for m in page["members"]] == [
        ben.user_id,
        cat.user_id,
    ]
    joined = cat.call("GET", "/api/groups")["groups"]
    assert [(g["groupID"], g["ownerUserID"], g["memberCount"], g["status"]) for g in joined] == [
        (group_id, ann.user_id, 4, 0)
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/members", {"userIDList": ["x"]}),
        ("/kick", {"userIDList": ["x"]}),
        ("/quit", {}),
        ("/dismiss", {}),
        ("/transfer", {"newOwnerUserID": "x"}),
        ("/role", {"userID": "x", "roleLevel": 60}),
    ],
)
def test_outsiders_cannot_touch_a_group(team, path, body):
    group_id, _, *_, eve = team
    answer = eve.call("POST", f"/api/groups/{group_id}{path}", body, expect=404)
    assert answer["error"] == "CONVERSATION_NOT_FOUND"


def test_outsiders_cannot_read_a_group(team):
    group_id, cid, *_, eve = team
    for path in (f"/api/groups/{group_id}/members", f"/api/conversations/{cid}/receipts?seqs=1"):
        assert eve.call("GET", path, expect=404)["error"] == "CONVERSATION_NOT_FOUND"
    assert eve.call("PATCH", f"/api/groups/{group_id}", {"groupName": "mine"}, 404)
    assert eve.call("POST", "/api/groups/info", {"groupIDList": [group_id]})["groups"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/members", lambda t: {"userIDList": [t[6].user_id]}),
        ("POST", "/kick", lambda t: {"userIDList": [t[5].user_id]}),
        ("PATCH", "", lambda t: {"groupName": "renamed"}),
        ("POST", "/dismiss", lambda t: {}),
        ("POST", "/transfer", lambda t: {"newOwnerUserID": t[5].user_id}),
        ("POST", "/role", lambda t: {"userID": t[5].user_id, "roleLevel": 60}),
    ],
)
def test_a_plain_member_cannot_do_an_owners_or_admins_job(team, method, path, body):
    group_id, cid, *_ = team
    cat = team[4]
    before = record(cat, cid)["maxSeq"]
    answer = cat.call(method, f"/api/groups/{group_id}{path}", body(team), expect=403)
    assert answer["error"] == "GROUP_PERMISSION_DENIED"
    assert record(cat, cid)["maxSeq"] == before  # nothing was written


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/dismiss", lambda t: {}),
        ("/transfer", lambda t: {"newOwnerUserID": t[4].user_id}),
        ("/role", lambda t: {"userID": t[4].user_id, "roleLevel": 60}),
        ("/kick", lambda t: {"userIDList": [t[2].user_id]}),  # the owner
    ],
)
def test_an_admin_cannot_do_the_owners_job(team, path, body):
    group_id, _, _, ben, *_ = team
    answer = ben.call("POST", f"/api/groups/{group_id}{path}", body(team), expect=403)
    assert answer["error"] == "GROUP_PERMISSION_DENIED"


def test_an_admin_kicks_members_but_not_admins(team):
    group_id, cid, ann, ben, cat, dan, _ = team
    ann.call("POST", f"/api/groups/{group_id}/role", {"userID": dan.user_id, "roleLevel": 60})
    assert ben.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [dan.user_id]}, 403)
    ben.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [cat.user_id]})
    assert cat.user_id not in members(ann, group_id)


def test_the_owner_cannot_quit_but_can_transfer_then_quit(team):
    group_id, _, ann, ben, *_ = team
    assert (
        ann.call("POST", f"/api/groups/{group_id}/quit", {}, 403)["error"]
        == "GROUP_PERMISSION_DENIED"
    )
    ann.call("POST", f"/api/groups/{group_id}/transfer", {"newOwnerUserID": ben.user_id})
    assert members(ben, group_id)[ben.user_id] == OWNER
    assert members(ben, group_id)[ann.user_id] == MEMBER
    ann.call("POST", f"/api/groups/{group_id}/quit", {})
    assert ann.user_id not in members(ben, group_id)


# --- Membership changes are messages ----------------------------------------------------


def test_every_membership_change_is_a_message_with_its_own_seq(team):
    group_id, cid, ann, ben, cat, dan, eve = team
    steps = [
        ("POST", "/members", {"userIDList": [eve.user_id]}, "MEMBER_INVITED"),
        ("PATCH", "", {"groupName": "new name"}, "GROUP_NAME_UPDATED"),
        ("POST", "/role", {"userID": cat.user_id, "roleLevel": 60}, "MEMBER_SET_TO_ADMIN"),
        ("POST", "/kick", {"userIDList": [dan.user_id]}, "MEMBER_KICKED"),
        ("POST", "/transfer", {"newOwnerUserID": ben.user_id}, "GROUP_OWNER_TRANSFERRED"),
    ]
    for seq, (method, path, body, kind) in enumerate(steps, start=1):
        state = ann.call(method, f"/api/groups/{group_id}{path}", body)["state"]
        assert state["conversations"][0]["maxSeq"] == seq
        message = last_message(ben, cid)
        assert (message["seq"], message["contentType"]) == (seq, CONTENT_TYPES[kind])
        assert message["textElem"] is None
        detail = json.loads(message["notificationElem"]["detail"])
        assert detail["opUser"]["userID"] == ann.user_id
    assert record(ben, cid)["showName"] == "new name"
    cat.call("POST", f"/api/groups/{group_id}/quit", {})
    assert last_message(ben, cid)["contentType"] == CONTENT_TYPES["MEMBER_QUIT"]
    ben.call("POST", f"/api/groups/{group_id}/dismiss", {})
    assert last_message(ben, cid)["contentType"] == CONTENT_TYPES["GROUP_DISMISSED"]


def test_each_change_reaches_every_member_and_who_left_as_message_new(team, hub):
    group_id, cid, ann, ben, cat, dan, _ = team
    hub.events.clear()
    ann.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [dan.user_id]})
    reached = {user for user, event in hub.events if event["type"] == "message.new"}
    assert reached == set(ids(ann, ben, cat, dan))
    kicked = next(e for u, e in hub.events if u == dan.user_id)
    assert kicked["conversation"]["isNotInGroup"] is True
    assert kicked["message"]["contentType"] == CONTENT_TYPES["MEMBER_KICKED"]


# --- Rule 11: visibility and unread after leaving and joining ---------------------------


@pytest.mark.parametrize("how", ["kick", "quit"])
def test_a_member_who_left_sees_nothing_after_the_leaving_seq(team, hub, how):
    group_id, cid, ann, ben, cat, dan, _ = team
    ann.send("before", group=group_id)
    if how == "kick":
        ann.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [dan.user_id]})
    else:
        dan.call("POST", f"/api/groups/{group_id}/quit", {})
    left_at = record(ann, cid)["maxSeq"]
    hub.events.clear()
    for n in range(3):
        ann.send(f"after {n}", group=group_id)
    # No event, no history, no sync record beyond the leaving seq.
    assert hub.for_user(dan.user_id) == []
    history = dan.call("GET", f"/api/conversations/{cid}/messages?count=50")["messages"]
    assert max(m["seq"] for m in history) == left_at
    assert [m["textElem"]["content"] for m in history if m["textElem"]] == ["before"]
    mine = record(dan, cid)
    assert (mine["maxSeq"], mine["unreadCount"], mine["isNotInGroup"]) == (left_at, 0, True)
    assert dan.sync()["totalUnreadCount"] == 0
    # Read-only: sending is refused with a clear code.
    body = {"clientMsgID": uuid.uuid4().hex, "groupID": group_id, "text": "hello?"}
    assert dan.call("POST", "/api/messages", body, expect=403)["error"] == "NOT_GROUP_MEMBER"
    # Incremental sync from before the leave tells an offline device the same.
    assert dan.sync(version=0)["totalUnreadCount"] == 0


def test_leaving_drops_unread_from_the_total_at_once(team):
    group_id, cid, ann, ben, cat, dan, _ = team
    for _ in range(4):
        ann.send(group=group_id)
    assert dan.sync()["totalUnreadCount"] == 4
    state = ann.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [dan.user_id]})["state"]
    assert state["conversations"][0]["unreadCount"] == 0  # the owner's own
    assert dan.sync()["totalUnreadCount"] == 0
    assert cat.sync()["totalUnreadCount"] == 5  # four messages and the kick


def test_a_new_member_starts_at_zero_and_sees_from_the_join_seq(team):
    group_id, cid, ann, *_, eve = team
    for n in range(3):
        ann.send(f"old {n}", group=group_id)
    ann.call("POST", f"/api/groups/{group_id}/members", {"userIDList": [eve.user_id]})
    joined_at = record(ann, cid)["maxSeq"]
    mine = record(eve, cid)
    assert (mine["unreadCount"], mine["hasReadSeq"], mine["maxSeq"]) == (0, joined_at, joined_at)
    history = eve.call("GET", f"/api/conversations/{cid}/messages")["messages"]
    assert [m["seq"] for m in history] == [joined_at]  # the invitation, nothing older
    ann.send("new", group=group_id)
    assert eve.sync()["totalUnreadCount"] == 1


def test_rejoining_starts_again_from_the_new_join_seq(team):
    group_id, cid, ann, ben, cat, dan, _ = team
    ann.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [dan.user_id]})
    ann.send("while away", group=group_id)
    ann.call("POST", f"/api/groups/{group_id}/members", {"userIDList": [dan.user_id]})
    back_at = record(ann, cid)["maxSeq"]
    mine = record(dan, cid)
    assert (mine["isNotInGroup"], mine["unreadCount"], mine["maxSeq"]) == (False, 0, back_at)
    history = dan.call("GET", f"/api/conversations/{cid}/messages")["messages"]
    assert [m["seq"] for m in history] == [back_at]
    ann.send("welcome back", group=group_id)
    assert dan.sync()["totalUnreadCount"] == 1


def test_a_dismissed_group_is_read_only_for_everyone(team):
    group_id, cid, ann, ben, *_ = team
    ann.send(group=group_id)
    ann.call("POST", f"/api/groups/{group_id}/dismiss", {})
    assert ben.sync()["totalUnreadCount"] == 0
    assert record(ben, cid)["isNotInGroup"] is True
    body = {"clientMsgID": uuid.uuid4().hex, "groupID": group_id, "text": "anyone?"}
    assert ann.call("POST", "/api/messages", body, expect=410)["error"] == "GROUP_DISMISSED"
    assert ann.call("GET", "/api/groups")["groups"] == []
    (info,) = ann.call("POST", "/api/groups/info", {"groupIDList": [group_id]})["groups"]
    assert info["status"] == 2


# --- Rule 16: receipts ------------------------------------------------------------------


def receipts(user, cid, *seqs) -> dict[int, tuple[int, int]]:
    path = f"/api/conversations/{cid}/receipts?seqs={','.join(map(str, seqs))}"
    return {
        r["seq"]: (r["hasReadCount"], r["groupMemberCount"])
        for r in user.call("GET", path)["receipts"]
    }


def test_read_by_n_of_m_comes_from_positions(team):
    group_id, cid, ann, ben, cat, dan, eve = team
    first = ann.send("one", group=group_id)["message"]["seq"]
    second = ann.send("two", group=group_id)["message"]["seq"]
    assert receipts(ann, cid, first, second) == {first: (0, 3), second: (0, 3)}
    ben.read(cid, first)
    cat.read(cid)
    assert receipts(ann, cid, first, second) == {first: (2, 3), second: (1, 3)}
    # A member who joins later is not counted for earlier messages; one who leaves keeps
    # the position they had reached.
    ann.call("POST", f"/api/groups/{group_id}/members", {"userIDList": [eve.user_id]})
    ann.call("POST", f"/api/groups/{group_id}/kick", {"userIDList": [ben.user_id]})
    assert receipts(ann, cid, first, second) == {first: (2, 3), second: (1, 3)}
    readers = ann.call("GET", f"/api/conversations/{cid}/readers?seq={first}")
    assert {m["userID"] for m in readers["members"]} == set(ids(ben, cat))
    unread = ann.call("GET", f"/api/conversations/{cid}/readers?seq={second}&filter=1")
    assert {m["userID"] for m in unread["members"]} == set(ids(ben, dan))


def test_a_member_cannot_ask_about_messages_outside_their_window(team):
    group_id, cid, ann, *_, eve = team
    early = ann.send("before eve", group=group_id)["message"]["seq"]
    ann.call("POST", f"/api/groups/{group_id}/members", {"userIDList": [eve.user_id]})
    assert receipts(eve, cid, early) == {}
    answer = eve.call("GET", f"/api/conversations/{cid}/readers?seq={early}", expect=404)
    assert answer["error"] == "MESSAGE_NOT_FOUND"


def test_group_receipts_are_coalesced_per_conversation(app, team, hub):
    group_id, cid, ann, ben, cat, dan, _ = team
    for sender in (ann, ben, cat):  # several senders
        for _ in range(5):
            sender.send(group=group_id)
    batcher = app.extensions["tidemark"].receipts
    batcher.flush()
    hub.events.clear()
    dan.read(cid)  # one member reads 15 messages of 3 senders
    ann.read(cid)  # and another the 10 after her own
    batcher.flush()
    receipts_sent = [(u, e) for u, e in hub.events if e["type"] == "receipt.group"]
    for _, event in receipts_sent:
        EVENT_ADAPTER.validate_python(event)
    # One event per member of the group, carrying both readers: not one per message or sender.
    assert sorted(u for u, _ in receipts_sent) == sorted(ids(ann, ben, cat, dan))
    readers = {r["userID"]: r["hasReadSeq"] for r in receipts_sent[0][1]["readers"]}
    assert readers == {dan.user_id: 15, ann.user_id: 15}


def test_a_group_mark_read_costs_the_same_whatever_the_senders(app, make_user):
    """Rule 16's bound: the statements of one mark-read do not grow with senders."""
    from sqlalchemy import event

    reader, *senders = (make_user() for _ in range(6))
    group = senders[0].group(reader.user_id, *ids(*senders[1:]))
    services = app.extensions["tidemark"]
    counts = []
    for active in (senders[:1], senders):
        for sender in active:
            for _ in range(3):
                sender.send(group=group["groupID"])
        statements: list[str] = []

        def record_statement(conn, cursor, statement, *args, seen=statements):
            seen.append(statement)

        event.listen(services.db.engine, "before_cursor_execute", record_statement)
        try:
            reader.read(group["conversationID"])
        finally:
            event.remove(services.db.engine, "before_cursor_execute", record_statement)
        counts.append(len(statements))
    assert counts[0] == counts[1]


# --- Rule 17: typing --------------------------------------------------------------------


def test_typing_reaches_the_other_members_and_is_not_stored(team, hub):
    group_id, cid, ann, ben, cat, dan, eve = team
    version = ann.sync()["version"]
    hub.events.clear()
    ann.call("POST", f"/api/conversations/{cid}/typing", {"focus": True})
    typing = [(u, e) for u, e in hub.events if e["type"] == "typing"]
    assert sorted(u for u, _ in typing) == sorted(ids(ben, cat, dan))
    event = typing[0][1]
    EVENT_ADAPTER.validate_python(event)
    assert (event["userID"], event["focus"], event["expiresInMs"]) == (ann.user_id, True, 5000)
    assert ann.sync()["version"] == version  # nothing versioned moved
    assert eve.call("POST", f"/api/conversations/{cid}/typing", {"focus": True}, expect=404)
