"""Search and rule 11 under any order of joins, kicks, quits, rejoins and sends: a user
finds exactly the matching messages inside their window of each conversation.

The model is kept here, from the operations alone (never from the server's answers): a
message is in a user's window when it was sent while they were in the group, since their
latest (re)join — a rejoin opens a new window, as the history shows it — and a kick or
quit closes the window after its own notification. Revocations remove a message.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import register

VOCABULARY = ["apple", "apricot", "banana", "berry", "cherry"]
KEYWORDS = ["apple", "ap", "apr", "b", "berry", "cherry", "ban", "zzz"]
USERS = 4  # user 0 owns both groups and never leaves
GROUPS = 2

_run = itertools.count()

_send = st.tuples(
    st.just("send"),
    st.integers(0, GROUPS - 1),
    st.integers(0, USERS - 1),
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=2),
)
_invite = st.tuples(st.just("invite"), st.integers(0, GROUPS - 1), st.integers(1, USERS - 1))
# Sends and invitations weigh more: a window needs members, and messages inside and outside.
op_strategy = st.one_of(
    _send,
    _send,
    _send,
    _invite,
    _invite,
    st.tuples(st.just("kick"), st.integers(0, GROUPS - 1), st.integers(1, USERS - 1)),
    st.tuples(st.just("quit"), st.integers(0, GROUPS - 1), st.integers(1, USERS - 1)),
    st.tuples(st.just("revoke"), st.integers(0, GROUPS - 1), st.integers(0, 30)),
    st.tuples(st.just("search"), st.integers(0, USERS - 1), st.sampled_from(KEYWORDS)),
)


@dataclass
class Group:
    group_id: str
    conversation_id: str
    members: set[int]
    # user -> the messages (clientMsgID, text) of their current window
    windows: dict[int, dict[str, str]] = field(default_factory=dict)
    sent: list[tuple[int, str]] = field(default_factory=list)  # (sender, clientMsgID)


def _matches(keyword: str, text: str) -> bool:
    return any(word.startswith(keyword) for word in text.split())


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op_strategy, min_size=10, max_size=40))
def test_search_finds_exactly_the_matches_inside_each_window(client, ops):
    run = next(_run)
    users = [register(client, f"w{run}u{i}-{uuid.uuid4().hex[:6]}") for i in range(USERS)]
    owner = users[0]
    groups = []
    for g in range(GROUPS):
        answer = owner.call(
            "POST", "/api/groups", {"groupName": f"g{g}", "memberUserIDs": []}, expect=201
        )
        groups.append(Group(answer["groupID"], answer["conversationID"], {0}, {0: {}}))
    for op in ops:
        kind = op[0]
        if kind == "send":
            _, g, u, words = op
            group = groups[g]
            if u not in group.members:
                continue
            text = " ".join(words)
            client_msg_id = users[u].send(text, group=group.group_id)["message"]["clientMsgID"]
            group.sent.append((u, client_msg_id))
            for member in group.members:
                group.windows[member][client_msg_id] = text
        elif kind == "invite":
            _, g, u = op
            group = groups[g]
            if u in group.members:
                continue
            path = f"/api/groups/{group.group_id}/members"
            owner.call("POST", path, {"userIDList": [users[u].user_id]})
            group.members.add(u)
            group.windows[u] = {}  # a new window: nothing before the (re)join
        elif kind in ("kick", "quit"):
            _, g, u = op
            group = groups[g]
            if u not in group.members:
                continue
            if kind == "kick":
                path = f"/api/groups/{group.group_id}/kick"
                owner.call("POST", path, {"userIDList": [users[u].user_id]})
            else:
                users[u].call("POST", f"/api/groups/{group.group_id}/quit", {})
            group.members.discard(u)  # the window stays, closed
        elif kind == "revoke":
            _, g, index = op
            group = groups[g]
            if not group.sent:
                continue
            _, client_msg_id = group.sent.pop(index % len(group.sent))
            # The owner may revoke any message (at any age).
            owner.revoke(group.conversation_id, client_msg_id)
            for window in group.windows.values():
                window.pop(client_msg_id, None)
        else:
            _, u, keyword = op
            _check(users[u], u, keyword, groups)
    for u in range(USERS):
        for keyword in KEYWORDS:
            _check(users[u], u, keyword, groups)


def _check(user, u: int, keyword: str, groups: list[Group]) -> None:
    expected = {
        (group.conversation_id, cmid)
        for group in groups
        for cmid, text in group.windows.get(u, {}).items()
        if _matches(keyword, text)
    }
    body = {"keywordList": [keyword], "count": 100}
    answer = user.call("POST", "/api/messages/search", body)
    got = {
        (item["conversationID"], m["clientMsgID"])
        for item in answer["searchResultItems"]
        for m in item["messageList"]
    }
    assert got == expected, (user.user_id, keyword)
    assert answer["totalCount"] == len(expected)
    for item in answer["searchResultItems"]:
        assert item["messageCount"] == sum(1 for c, _ in expected if c == item["conversationID"])
    for group in groups:  # one conversation at a time too
        if u not in group.windows:
            continue
        body["conversationID"] = group.conversation_id
        answer = user.call("POST", "/api/messages/search", body)
        assert answer["totalCount"] == sum(1 for c, _ in expected if c == group.conversation_id)
