"""Rules 2-3, 5-7, 11 and 13-16 under any order of operations, checked against a small model.

Random sends (plain and @ mentions of members and of everyone), mark-reads (stale,
duplicated, out of order, carrying a current or a stale record version), syncs from
several devices of several users, a group's members kicked, quitting, invited back and
made admins, the group at times dismissed, and issue 11's per-conversation state: mute, pin, resetting mentions, mark
as unread, mark all read, hide and revoke.

The model is the rules written plainly, not the server's SQL: a read position per user
and conversation, the mark-unread flag as "set at version v", mentions as (seq, target)
rows, hidden as the seq it was hidden at, revoked messages as a set. After every step,
for every user, a full snapshot matches the model record by record (unread, mentions,
groupAtType, flags, settings, latest message) and in its total (the contribution of a
record: 0 muted, else its unread, else 1 when marked unread); every version bump was
pushed exactly once; group receipts match positions. Each device's old copy, patched by
an incremental sync (records by version, revoked messages by tombstone), equals a fresh
snapshot and holds no revoked text.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from server.protocol import AT_ALL_TAG, CONTENT_TYPES
from server.storage.tables import conversations, members
from server.testing.databases import scratch_database
from tests.conftest import POSTGRES_URL
from tests.server.conftest import make_app, register

USERS = ("ann", "ben", "cat")  # ann owns the group and never leaves it
OUTSIDER = "dov"  # joins the group only when invited
EVERYONE = (*USERS, OUTSIDER)
DEVICES = [(user, device) for user in USERS for device in range(2)] + [(OUTSIDER, 0)]
OWNER, ADMIN, MEMBER = 100, 60, 20
REVOKED = CONTENT_TYPES["REVOKED"]
AT_TEXT = CONTENT_TYPES["AT_TEXT"]
# Events that carry a user's state and version; receipt.group and typing carry neither.
STATE_EVENTS = {"message.new", "conversation.changed", "receipt.c2c", "message.revoked"}


@dataclass
class View:
    """One user's state of one conversation, as the rules define it."""

    read: int = 0  # has_read_seq (rules 2, 3)
    recv_msg_opt: int = 0  # 0 normal, 2 muted (rule 13)
    pinned: bool = False
    mention_read: int = 0  # resetConversationGroupAtType's position, forward only (rule 14)
    marked_at: int | None = None  # the user's version when marked unread (rule 15)
    hidden_at: int | None = None  # the conversation's max seq when hidden


@dataclass(frozen=True)
class Sent:
    sender: str
    client_msg_id: str
    text: str | None  # None: a membership notification


def store(messages: dict[tuple[str, int], Any], message: dict[str, Any]) -> None:
    """The SDK's store rule: a message is stored once, except that its tombstone
    replaces it (messages are immutable but for revocation)."""
    key = (message["conversationID"], message["seq"])
    old = messages.get(key)
    if old is None or (message["contentType"] == REVOKED and old["contentType"] != REVOKED):
        messages[key] = message


def patch(copy: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """What a device does with a sync answer: newer records replace older ones, and the
    records' latest messages and the revoked messages' tombstones go to its store."""
    if delta["full"]:
        copy = {"conversations": {}, "messages": {}}
    records = dict(copy["conversations"])
    messages = dict(copy["messages"])
    for record in delta["conversations"]:
        old = records.get(record["conversationID"])
        if old is None or old["version"] < record["version"]:
            records[record["conversationID"]] = record
        if record["latestMsg"] is not None:
            store(messages, record["latestMsg"])
    for tombstone in delta["revokedMessages"]:
        store(messages, tombstone)
    return {
        "conversations": records,
        "messages": messages,
        "version": delta["version"],
        "epoch": delta["epoch"],
    }


class ReadStateMachine(RuleBasedStateMachine):
    def __init__(self, postgres_url: str | None) -> None:
        super().__init__()
        self.resources = ExitStack()
        folder = self.resources.enter_context(tempfile.TemporaryDirectory())
        url = self.resources.enter_context(scratch_database(postgres_url, folder))
        self.app = make_app(url)
        services = self.app.extensions["tidemark"]
        self.resources.callback(services.db.dispose)
        self.resources.callback(services.receipts.close)
        self.hub = services.hub
        client = self.app.test_client()
        self.users = {name: register(client, name) for name in EVERYONE}
        self.max_seq: dict[str, int] = {}
        # Everyone who has a record of the conversation, and the seq a member left at.
        self.members: dict[str, set[str]] = {}
        self.left_at: dict[tuple[str, str], int] = {}
        self.views: dict[tuple[str, str], View] = {}
        self.highest_seen: dict[tuple[str, str], int] = {}
        self.mentions: dict[str, set[tuple[int, str]]] = {}
        self.sent: dict[tuple[str, int], Sent] = {}
        self.tombstones: dict[tuple[str, int], dict[str, Any]] = {}
        # Who saw each revoked message go (its seq in their window then): their devices
        # learn it, from the event or an incremental sync, even after a leave and rejoin.
        self.reached: dict[tuple[str, int], set[str]] = {}
        self.texts = 0
        # The server's versions as last seen (the model checks bumps, it does not assign
        # them), each user's last snapshot, and each device's cache from its last sync.
        self.version = dict.fromkeys(EVERYONE, 0)
        self.checked_version = dict.fromkeys(EVERYONE, 0)  # as of the last invariant
        self.records: dict[str, dict[str, dict[str, Any]]] = {u: {} for u in EVERYONE}
        self.copies: dict[tuple[str, int], dict[str, Any]] = {
            d: {"conversations": {}, "messages": {}} for d in DEVICES
        }
        self.checked_events = len(self.hub.events)

    @initialize()
    def make_group(self) -> None:
        group = self.users["ann"].group("ben", "cat")
        self.group_id = group["groupID"]
        self.group_cid = group["conversationID"]
        self._conversation(group["conversationID"], set(USERS))
        self.roles = {"ann": OWNER, "ben": MEMBER, "cat": MEMBER}
        self.dismissed = False
        # For receipts (rule 16) and windows (rule 11): who sent each group seq, when each
        # member joined, and how far a member who left had read.
        self.sender_of: dict[int, str] = {}
        self.joined_at = dict.fromkeys(USERS, 0)
        self.left_read: dict[str, int] = {}

    # --- the model ------------------------------------------------------------------------

    def _current(self, user: str) -> bool:
        return user in self.members[self.group_cid] and (user, self.group_cid) not in self.left_at

    def _conversation(self, cid: str, members: set[str]) -> None:
        if cid not in self.max_seq:
            self.max_seq[cid] = 0
            self.members[cid] = members
            self.mentions[cid] = set()
            for member in members:
                self.views[(member, cid)] = View()

    def _mine(self, user: str) -> list[str]:
        return sorted(cid for cid, members in self.members.items() if user in members)

    def _top(self, user: str, cid: str) -> int:
        """The last seq this user sees: a member who left stays at the leaving seq."""
        return self.left_at.get((user, cid), self.max_seq[cid])

    def _sees(self, user: str, cid: str, seq: int) -> bool:
        """Whether ``seq`` is in this user's window (rule 11), as revocation reaches it."""
        if cid != self.group_cid:
            return user in self.members[cid]
        if user not in self.members[cid]:
            return False
        return self.joined_at[user] < seq <= self._top(user, cid)

    def _expected(self, user: str, cid: str) -> dict[str, Any]:
        """The fields of this user's record that the rules determine."""
        view = self.views[(user, cid)]
        top = self._top(user, cid)
        seen = max(view.read, view.mention_read)
        rows = {
            (seq, target)
            for seq, target in self.mentions[cid]
            if seen < seq <= top and target in (user, AT_ALL_TAG)
        }
        return {
            "maxSeq": top,
            "hasReadSeq": view.read,
            "unreadCount": top - view.read,
            "isNotInGroup": (user, cid) in self.left_at,
            "recvMsgOpt": view.recv_msg_opt,
            "isPinned": view.pinned,
            "mentionCount": len({seq for seq, _ in rows}),
            "groupAtType": (1 if any(t == user for _, t in rows) else 0)
            + (2 if any(t == AT_ALL_TAG for _, t in rows) else 0),
            "isMarkedUnread": view.marked_at is not None,
            "isHidden": view.hidden_at is not None and top <= view.hidden_at,
        }

    def _contribution(self, user: str, cid: str) -> int:
        expected = self._expected(user, cid)
        if expected["recvMsgOpt"] != 0:
            return 0
        if expected["unreadCount"] > 0:
            return int(expected["unreadCount"])
        return 1 if expected["isMarkedUnread"] else 0

    def _total(self, user: str) -> int:
        return sum(self._contribution(user, cid) for cid in self._mine(user))

    def _clears(self, view: View, version: int | None) -> bool:
        """Rule 15: a mark-read clears the flag unless it carries an older version."""
        return view.marked_at is not None and (version is None or version >= view.marked_at)

    def _text(self) -> str:
        self.texts += 1
        return f"text-{self.texts:05d}-{uuid.uuid4().hex[:8]}"

    # --- helpers ----------------------------------------------------------------------------

    def _pushed_since(self, mark: int) -> list[tuple[str, dict[str, Any]]]:
        return [(u, e) for u, e in self.hub.events[mark:] if e["type"] in STATE_EVENTS]

    def _events_to(self, mark: int, user: str) -> list[dict[str, Any]]:
        return [e for u, e in self._pushed_since(mark) if u == user]

    def _refused(self, user: str, path: str, body: Any, expected: set[tuple[int, str]]) -> None:
        """The call fails with one of these (status, error), and changes nothing."""
        mark = len(self.hub.events)
        response = self.users[user].client.post(path, json=body, headers=self.users[user].headers)
        answer = response.get_json()
        assert (response.status_code, answer.get("error")) in expected, answer
        assert self._pushed_since(mark) == []

    def _device_version(self, data: st.DataObject, user: str, cid: str | None) -> int | None:
        """The version a device of this user holds: of the conversation's record, or the
        cache's (cid None). None when that device holds none."""
        device = data.draw(st.sampled_from([d for d in DEVICES if d[0] == user]), label="device")
        copy = self.copies[device]
        if cid is None:
            return copy.get("version")
        record = copy["conversations"].get(cid)
        return None if record is None else int(record["version"])

    def _version_to_send(
        self, data: st.DataObject, user: str, cid: str | None
    ) -> tuple[str, int | None]:
        """A mark-read's version: none, the current one, or a device's (often stale)."""
        which = data.draw(st.sampled_from(("none", "current", "device")), label="version from")
        if which == "none":
            return which, None
        if which == "current":
            if cid is None:
                return which, self.version[user]
            record = self.records[user].get(cid)
            return which, None if record is None else int(record["version"])
        return which, self._device_version(data, user, cid)

    def _single_peer(self, user: str, cid: str) -> str | None:
        if cid == self.group_cid:
            return None
        (peer,) = self.members[cid] - {user}
        return peer

    def _check_receipt(self, mark: int, reader: str, cid: str, moved: bool) -> None:
        """A single chat's peer hears of a moved position once (receipt.c2c), as today."""
        peer = self._single_peer(reader, cid)
        if peer is None:
            return
        pushed = self._events_to(mark, peer)
        if not moved:
            assert pushed == []
            return
        (receipt,) = pushed
        assert receipt["type"] == "receipt.c2c"
        assert receipt["receipt"] == {
            "conversationID": cid,
            "userID": reader,
            "hasReadSeq": self.views[(reader, cid)].read,
        }
        assert receipt["version"] == self.version[peer] + 1

    # --- sends ------------------------------------------------------------------------------

    @rule(
        sender=st.sampled_from(EVERYONE),
        to=st.sampled_from((*USERS, "group")),
        count=st.integers(1, 3),
    )
    def send(self, sender: str, to: str, count: int) -> None:
        if to == sender or (sender == OUTSIDER and to != "group"):
            return
        user = self.users[sender]
        if to == "group" and not self._current(sender):
            body = {"clientMsgID": uuid.uuid4().hex, "groupID": self.group_id, "text": "?"}
            if sender not in self.members[self.group_cid]:
                expected = {(404, "CONVERSATION_NOT_FOUND")}
            elif self.dismissed:
                expected = {(410, "GROUP_DISMISSED")}
            else:
                expected = {(403, "NOT_GROUP_MEMBER")}
            self._refused(sender, "/api/messages", body, expected)
            return
        for _ in range(count):
            text = self._text()
            if to == "group":
                message = user.send(text, group=self.group_id)["message"]
            else:
                message = user.send(text, to=to)["message"]
                self._conversation(message["conversationID"], {sender, to})
            self._sent(sender, message, text)

    def _sent(self, sender: str, message: dict[str, Any], text: str) -> None:
        cid = message["conversationID"]
        self.max_seq[cid] += 1
        assert message["seq"] == self.max_seq[cid]
        self.views[(sender, cid)].read = self.max_seq[cid]
        self.sent[(cid, message["seq"])] = Sent(sender, message["clientMsgID"], text)
        if cid == self.group_cid:
            self.sender_of[message["seq"]] = sender

    @rule(
        data=st.data(),
        sender=st.sampled_from(EVERYONE),
        mentioned=st.lists(st.sampled_from((*EVERYONE, AT_ALL_TAG)), min_size=1, max_size=3),
        repeat=st.integers(1, 2),
    )
    def send_mention(
        self, data: st.DataObject, sender: str, mentioned: list[str], repeat: int
    ) -> None:
        """An @ message (rule 14): each target a current member or everyone."""
        if not self._current(sender):
            return
        targets = list(dict.fromkeys(mentioned))
        text = self._text()
        info = [{"atUserID": t, "groupNickname": f"{t} here"} for t in targets[:1]]
        body: dict[str, Any] = {
            "clientMsgID": uuid.uuid4().hex,
            "groupID": self.group_id,
            "text": text,
            "atUserIDList": targets,
            "atUsersInfo": info,
        }
        if sender != OUTSIDER and data.draw(st.integers(0, 9), label="to a single chat") == 0:
            # Mentions are for groups only.
            peer = next(u for u in USERS if u != sender)
            del body["groupID"]
            self._refused(
                sender, "/api/messages", {**body, "recvID": peer}, {(400, "VALIDATION_FAILED")}
            )
            return
        strangers = [t for t in targets if t != AT_ALL_TAG and not self._current(t)]
        if strangers:
            mark = len(self.hub.events)
            answer = self.users[sender].call("POST", "/api/messages", body, expect=400)
            assert answer["error"] == "VALIDATION_FAILED"
            assert strangers[0] in answer["errMsg"]
            assert self._pushed_since(mark) == []
            return
        answers = [self.users[sender].call("POST", "/api/messages", body) for _ in range(repeat)]
        message = answers[0]["message"]
        assert all(a["message"] == message for a in answers)  # a resend is the original
        assert message["contentType"] == AT_TEXT
        assert message["textElem"] is None
        assert message["atTextElem"] == {"text": text, "atUserList": targets, "atUsersInfo": info}
        self._sent(sender, message, text)
        self.mentions[self.group_cid] |= {(message["seq"], t) for t in targets}

    # --- membership -------------------------------------------------------------------------

    def _membership_change(self, operator: str, path: str, body: dict[str, Any]) -> int:
        answer = self.users[operator].call("POST", f"/api/groups/{self.group_id}{path}", body)
        self.max_seq[self.group_cid] += 1
        seq = self.max_seq[self.group_cid]
        self.views[(operator, self.group_cid)].read = seq  # the operator's own message
        self.sender_of[seq] = operator
        (record,) = answer["state"]["conversations"]
        notification = record["latestMsg"]
        assert notification["seq"] == seq
        self.sent[(self.group_cid, seq)] = Sent(operator, notification["clientMsgID"], None)
        return seq

    def _leave(self, who: str, seq: int) -> None:
        self.left_at[(who, self.group_cid)] = seq
        view = self.views[(who, self.group_cid)]
        view.read = seq  # a left record adds 0 unread (rule 11) …
        view.marked_at = None  # … and holds no mark-unread flag
        del self.roles[who]

    @rule(
        data=st.data(),
        action=st.sampled_from(("kick", "quit", "invite", "admin", "member", "dismiss")),
        who=st.sampled_from(("ben", "cat", OUTSIDER)),
    )
    def membership(self, data: st.DataObject, action: str, who: str) -> None:
        """ann kicks, invites, sets roles and (rarely) dismisses the group; the others
        quit (rules 11, 12)."""
        if self.dismissed:
            return
        if action == "dismiss":
            if data.draw(st.integers(0, 3), label="really") == 0:
                self._dismiss()
            return
        if action == "invite":
            if not self._current(who):
                self._invite(who)
            return
        if not self._current(who):
            return
        if action == "kick":
            self.left_read[who] = self.views[(who, self.group_cid)].read
            seq = self._membership_change("ann", "/kick", {"userIDList": [who]})
            self._leave(who, seq)
        elif action == "quit":
            seq = self._membership_change(who, "/quit", {})
            self.left_read[who] = seq
            self._leave(who, seq)
        else:
            role = ADMIN if action == "admin" else MEMBER
            if self.roles[who] != role:
                self._membership_change("ann", "/role", {"userID": who, "roleLevel": role})
                self.roles[who] = role

    def _dismiss(self) -> None:
        """Everyone leaves at the notification's seq; the records stay, read-only, and
        still the users' own view (settings, hide, mark as unread)."""
        leaving = [u for u in EVERYONE if self._current(u)]
        for user in leaving:
            self.left_read[user] = self.views[(user, self.group_cid)].read
        seq = self._membership_change("ann", "/dismiss", {})
        self.left_read["ann"] = seq
        for user in leaving:
            self._leave(user, seq)
        self.dismissed = True

    def _invite(self, who: str) -> None:
        seq = self._membership_change("ann", "/members", {"userIDList": [who]})
        self.members[self.group_cid].add(who)
        self.left_at.pop((who, self.group_cid), None)
        self.left_read.pop(who, None)
        self.joined_at[who] = seq
        view = self.views.setdefault((who, self.group_cid), View())
        view.read = seq  # a new member starts with nothing unread
        self.roles[who] = MEMBER
        self.highest_seen.pop((who, self.group_cid), None)  # a new window starts

    # --- reading ----------------------------------------------------------------------------

    @rule(data=st.data(), reader=st.sampled_from(EVERYONE), repeat=st.integers(1, 2))
    def mark_read(self, data: st.DataObject, reader: str, repeat: int) -> None:
        mine = self._mine(reader)
        if not mine:
            return
        cid = data.draw(st.sampled_from(mine))
        top = self._top(reader, cid)
        seq = data.draw(st.none() | st.integers(0, top + 3), label="seq")
        _, version = self._version_to_send(data, reader, cid)
        view = self.views[(reader, cid)]
        target = top if seq is None else min(seq, top)
        moved = target > view.read
        changed = moved or self._clears(view, version)
        view.read = max(view.read, target)
        if self._clears(view, version):
            view.marked_at = None
        body = {k: v for k, v in {"seq": seq, "version": version}.items() if v is not None}
        mark = len(self.hub.events)
        path = f"/api/conversations/{cid}/read"
        answers = [self.users[reader].call("POST", path, body)["state"] for _ in range(repeat)]
        assert answers[0] == answers[-1]  # a duplicate changes nothing
        (record,) = answers[-1]["conversations"]
        assert record["hasReadSeq"] == view.read
        assert record["isMarkedUnread"] == (view.marked_at is not None)
        assert answers[-1]["version"] == self.version[reader] + changed
        pushed = self._events_to(mark, reader)
        assert [e["type"] for e in pushed] == ["conversation.changed"] * changed
        self._check_receipt(mark, reader, cid, moved)

    @rule(data=st.data(), device=st.sampled_from(DEVICES))
    def mark_read_from_device(self, data: st.DataObject, device: tuple[str, int]) -> None:
        """What the SDK sends: the version of the record this device holds, often older
        than a flag set since on another device (rule 15: the flag survives that)."""
        user, copy = device[0], self.copies[device]
        held = sorted(copy["conversations"])
        flagged = [c for c in held if self.views[(user, c)].marked_at is not None]
        if held:
            cid = data.draw(st.sampled_from(flagged or held), label="conversation")
            self._read_as_held(device, cid)

    def _read_as_held(self, device: tuple[str, int], cid: str) -> None:
        """Mark-read to the end, with the version of the device's copy of the record."""
        user, copy = device[0], self.copies[device]
        version = int(copy["conversations"][cid]["version"])
        view = self.views[(user, cid)]
        moved, clears = view.read < self._top(user, cid), self._clears(view, version)
        view.read = self._top(user, cid)
        if clears:
            view.marked_at = None
        mark = len(self.hub.events)
        path = f"/api/conversations/{cid}/read"
        state = self.users[user].call("POST", path, {"version": version})["state"]
        (record,) = state["conversations"]
        assert record["isMarkedUnread"] == (view.marked_at is not None)
        assert state["version"] == self.version[user] + (moved or clears)
        pushed = self._events_to(mark, user)
        assert [e["type"] for e in pushed] == ["conversation.changed"] * (moved or clears)
        self._check_receipt(mark, user, cid, moved)
        self.version[user] = state["version"]
        peer = self._single_peer(user, cid)
        if moved and peer is not None:
            self.version[peer] += 1

    @rule(data=st.data(), user=st.sampled_from(EVERYONE))
    def mark_all_read(self, data: st.DataObject, user: str) -> None:
        """One transaction, one bump, one event carrying exactly the changed records."""
        self._read_all(user, self._version_to_send(data, user, None)[1])

    def _read_all(self, user: str, version: int | None) -> None:
        changed, moved = set(), set()
        for cid in self._mine(user):
            view = self.views[(user, cid)]
            top = self._top(user, cid)
            if view.read < top:
                moved.add(cid)
            if view.read < top or self._clears(view, version):
                changed.add(cid)
            view.read = top
            if self._clears(view, version):
                view.marked_at = None
        body = {} if version is None else {"version": version}
        mark = len(self.hub.events)
        state = self.users[user].call("POST", "/api/conversations/read-all", body)["state"]
        assert sorted(r["conversationID"] for r in state["conversations"]) == sorted(changed)
        assert state["version"] == self.version[user] + bool(changed)
        assert state["totalUnreadCount"] == self._total(user)
        pushed = self._events_to(mark, user)
        if changed:
            (event,) = pushed
            assert event["type"] == "conversation.changed"
            assert event["version"] == state["version"]
            assert event["totalUnreadCount"] == state["totalUnreadCount"]
            assert sorted(event["conversations"], key=_by_id) == sorted(
                state["conversations"], key=_by_id
            )
        else:
            assert pushed == []
        for cid in self._mine(user):
            self._check_receipt(mark, user, cid, cid in moved)
        self.version[user] = state["version"]
        for cid in moved:
            peer = self._single_peer(user, cid)
            if peer is not None:
                self.version[peer] += 1

    # --- per-conversation settings (rules 13-15) -------------------------------------------

    @rule(
        data=st.data(),
        user=st.sampled_from(EVERYONE),
        recv_msg_opt=st.sampled_from((None, 0, 2, 1)),
        pinned=st.sampled_from((None, True, False)),
        group_at_type=st.sampled_from((None, None, 0, 3)),
    )
    def change_settings(
        self,
        data: st.DataObject,
        user: str,
        recv_msg_opt: int | None,
        pinned: bool | None,
        group_at_type: int | None,
    ) -> None:
        """Mute / unmute, pin / unpin, reset mentions: one bump and one event, or none."""
        mine = self._mine(user)
        if not mine:
            return
        cid = data.draw(st.sampled_from(mine))
        path = f"/api/conversations/{cid}/settings"
        body = {
            k: v
            for k, v in (
                ("recvMsgOpt", recv_msg_opt),
                ("isPinned", pinned),
                ("groupAtType", group_at_type),
            )
            if v is not None
        }
        if not body or recv_msg_opt == 1 or group_at_type == 3:
            self._refused(user, path, body, {(400, "VALIDATION_FAILED")})
            return
        view = self.views[(user, cid)]
        before, total_before = self._expected(user, cid), self._total(user)
        stored_move = False
        if recv_msg_opt is not None:
            view.recv_msg_opt = recv_msg_opt
        if pinned is not None:
            view.pinned = pinned
        if group_at_type == 0 and (user, cid) not in self.left_at:
            stored_move = view.mention_read < self.max_seq[cid]
            view.mention_read = max(view.mention_read, self.max_seq[cid])
        visible = self._expected(user, cid) != before
        mark = len(self.hub.events)
        state = self.users[user].call("POST", path, body)["state"]
        bumped = state["version"] - self.version[user]
        # A reset that moves the stored position past no mention may count as a change.
        assert bumped == 1 if visible else bumped in ((0, 1) if stored_move else (0,))
        pushed = self._events_to(mark, user)
        assert [e["type"] for e in pushed] == ["conversation.changed"] * bumped
        # Muting or unmuting changes the total at most once: in this one event.
        assert state["totalUnreadCount"] == self._total(user)
        if self._total(user) != total_before:
            assert pushed[0]["totalUnreadCount"] == self._total(user)

    @rule(data=st.data(), user=st.sampled_from(EVERYONE))
    def mark_unread(self, data: st.DataObject, user: str) -> None:
        """Rule 15: a flag set at the user's new version; it un-hides; rule 3 stands."""
        mine = self._mine(user)
        if not mine:
            return
        cid = data.draw(st.sampled_from(mine))
        path = f"/api/conversations/{cid}/unread"
        if (user, cid) in self.left_at and not self.dismissed:
            self._refused(user, path, {}, {(403, "NOT_GROUP_MEMBER")})
            return
        view = self.views[(user, cid)]
        mark = len(self.hub.events)
        state = self.users[user].call("POST", path, {})["state"]
        pushed = self._events_to(mark, user)
        if view.marked_at is not None:  # set already: a no-op
            assert state["version"] == self.version[user]
            assert pushed == []
            return
        assert state["version"] == self.version[user] + 1
        assert [e["type"] for e in pushed] == ["conversation.changed"]
        view.marked_at = state["version"]
        view.hidden_at = None
        (record,) = state["conversations"]
        assert record["isMarkedUnread"] and not record["isHidden"]
        assert record["hasReadSeq"] == view.read
        self.version[user] = state["version"]
        # At times another device, which has not seen the flag yet, reads the chat: its
        # record is older than the flag, which survives (rule 15).
        # Or marks everything read with its cache's version: the flag survives that too.
        holders = [d for d in DEVICES if d[0] == user and cid in self.copies[d]["conversations"]]
        then = data.draw(st.sampled_from(("nothing", "read", "read all")), label="then")
        if holders and then != "nothing":
            device = data.draw(st.sampled_from(holders), label="stale device")
            if then == "read":
                self._read_as_held(device, cid)
            else:
                self._read_all(user, self.copies[device]["version"])
                assert self.views[(user, cid)].marked_at is not None

    @rule(data=st.data(), user=st.sampled_from(EVERYONE))
    def hide(self, data: st.DataObject, user: str) -> None:
        """OpenIM's delete-chat-for-me: read first, then out of the list until a message."""
        mine = self._mine(user)
        if not mine:
            return
        cid = data.draw(st.sampled_from(mine))
        view = self.views[(user, cid)]
        top = self._top(user, cid)
        already = self._expected(user, cid)["isHidden"] and view.read == top
        noop = already and view.marked_at is None
        moved = view.read < top
        view.read, view.marked_at, view.hidden_at = top, None, top
        mark = len(self.hub.events)
        state = self.users[user].call("POST", f"/api/conversations/{cid}/hide", {})["state"]
        assert state["version"] == self.version[user] + (not noop)
        pushed = self._events_to(mark, user)
        assert [e["type"] for e in pushed] == ["conversation.changed"] * (not noop)
        self._check_receipt(mark, user, cid, moved)

    # --- revoke -----------------------------------------------------------------------------

    def _revoke_outcome(self, actor: str, cid: str, seq: int) -> tuple[str, set[tuple[int, str]]]:
        """("revoke" | "again" | "refused", the acceptable refusals)."""
        sent = self.sent[(cid, seq)]
        revoked = (cid, seq) in self.tombstones
        if cid != self.group_cid:
            permitted = actor == sent.sender
            refusals = {(403, "REVOKE_NOT_ALLOWED")}
            if revoked:
                return "again", set() if permitted else refusals
            return ("revoke", set()) if permitted else ("refused", refusals)
        if self.dismissed:
            return "refused", {(410, "GROUP_DISMISSED")}
        current = self._current(actor)
        first = self.joined_at[actor]
        in_window = first <= seq <= self._top(actor, cid)  # the history window
        if not in_window:
            refusals = {(404, "MESSAGE_NOT_FOUND")}
            return "refused", refusals if current else refusals | {(403, "NOT_GROUP_MEMBER")}
        if not current:
            return "refused", {(403, "NOT_GROUP_MEMBER")}
        role = self.roles[actor]
        permitted = (
            actor == sent.sender or role == OWNER or (role == ADMIN and sent.sender != "ann")
        )
        not_allowed = set() if permitted else {(403, "REVOKE_NOT_ALLOWED")}
        if sent.text is None:  # whoever asks, the one at their own join seq included
            return "refused", {(400, "NOT_REVOCABLE")}
        if revoked:
            return "again", not_allowed
        return ("revoke", set()) if permitted else ("refused", not_allowed)

    @rule(data=st.data(), actor=st.sampled_from(EVERYONE), repeat=st.integers(1, 2))
    def revoke(self, data: st.DataObject, actor: str, repeat: int) -> None:
        mine = self._mine(actor)
        if not mine:
            return
        candidates = sorted(key for key in self.sent if key[0] in mine)
        texts = [key for key in candidates if self.sent[key].text is not None]
        kind = data.draw(st.integers(0, 9), label="kind")
        if kind >= 2 and texts:
            candidates = texts  # mostly messages; at times a notification, or no message
        if not candidates or kind == 0:
            cid = data.draw(st.sampled_from(mine))
            body = {"clientMsgID": "no-such-message"}
            expected = {(404, "MESSAGE_NOT_FOUND")}
            if cid == self.group_cid and self.dismissed:
                expected = {(410, "GROUP_DISMISSED")}
            elif cid == self.group_cid and not self._current(actor):
                expected.add((403, "NOT_GROUP_MEMBER"))
            self._refused(actor, f"/api/conversations/{cid}/revoke", body, expected)
            return
        pick = data.draw(st.sampled_from(candidates), label="message")
        cid, seq = pick
        sent = self.sent[pick]
        path = f"/api/conversations/{cid}/revoke"
        body = {"clientMsgID": sent.client_msg_id}
        outcome, refusals = self._revoke_outcome(actor, cid, seq)
        if outcome == "refused":
            self._refused(actor, path, body, refusals)
            return
        mark = len(self.hub.events)
        response = self.users[actor].client.post(path, json=body, headers=self.users[actor].headers)
        if outcome == "again" and response.status_code != 200:
            assert (response.status_code, response.get_json().get("error")) in refusals
            assert self._pushed_since(mark) == []
            return
        assert response.status_code == 200, response.get_json()
        answers = [response.get_json()]
        answers += [self.users[actor].call("POST", path, body) for _ in range(repeat - 1)]
        tombstone = answers[0]["message"]
        assert all(a["message"] == tombstone for a in answers)  # a retry succeeds alike
        assert all(a["state"]["version"] == answers[0]["state"]["version"] for a in answers)
        if outcome == "again":
            assert tombstone == self.tombstones[pick]
            assert answers[0]["state"]["version"] == self.version[actor]
            assert self._pushed_since(mark) == []
            return
        role = 0 if cid != self.group_cid else self.roles[actor]
        self._check_tombstone(tombstone, cid, seq, actor, role)
        self.tombstones[pick] = tombstone
        self.mentions[cid] = {(s, t) for s, t in self.mentions[cid] if s != seq}
        assert answers[0]["state"]["version"] == self.version[actor] + 1
        # Every user whose window holds the seq: one bump, one message.revoked; no one else.
        pushed = self._pushed_since(mark)
        reached = sorted(u for u in EVERYONE if self._sees(u, cid, seq))
        assert sorted(u for u, _ in pushed) == reached
        self.reached[pick] = set(reached)
        for user, event in pushed:
            assert event["type"] == "message.revoked"
            assert event["message"] == tombstone
            assert event["version"] == self.version[user] + 1
            assert event["conversation"]["conversationID"] == cid

    def _check_tombstone(
        self, tombstone: dict[str, Any], cid: str, seq: int, actor: str, role: int
    ) -> None:
        sent = self.sent[(cid, seq)]
        assert tombstone["contentType"] == REVOKED
        assert (tombstone["conversationID"], tombstone["seq"]) == (cid, seq)
        assert tombstone["clientMsgID"] == sent.client_msg_id
        assert tombstone["sendID"] == sent.sender
        assert tombstone["textElem"] is None and tombstone["atTextElem"] is None
        detail = json.loads(tombstone["notificationElem"]["detail"])
        assert detail["revokerID"] == actor
        assert detail["revokerRole"] == role
        assert detail["clientMsgID"] == sent.client_msg_id
        assert detail["seq"] == seq
        assert detail["sourceMessageSendID"] == sent.sender
        assert detail["sessionType"] == tombstone["sessionType"]
        assert sent.text is not None and sent.text not in json.dumps(tombstone)

    # --- devices ----------------------------------------------------------------------------

    @rule(data=st.data(), device=st.sampled_from(DEVICES))
    def sync(self, data: st.DataObject, device: tuple[str, int]) -> None:
        """An old copy, caught up incrementally, equals a full snapshot (rule 5)."""
        name = device[0]
        user = self.users[name]
        copy = self.copies[device]
        delta = user.sync(copy.get("epoch"), copy.get("version"))
        assert delta["full"] == ("version" not in copy)
        if delta["full"]:
            assert delta["revokedMessages"] == []
        for tombstone in delta["revokedMessages"]:
            key = (tombstone["conversationID"], tombstone["seq"])
            assert tombstone == self.tombstones[key]
            assert name in self.reached[key]
        caught_up = patch(copy, delta)
        fresh = patch({"conversations": {}, "messages": {}}, user.sync())
        assert caught_up["conversations"] == fresh["conversations"]
        assert delta["totalUnreadCount"] == self._total(name)
        self._check_messages(name, caught_up)
        # The device opens a conversation: its newest messages go to the store, for later
        # syncs to keep right.
        if caught_up["conversations"] and data.draw(st.booleans(), label="open one"):
            cid = data.draw(st.sampled_from(sorted(caught_up["conversations"])), label="open")
            page = user.call("GET", f"/api/conversations/{cid}/messages?count=10")["messages"]
            for message in page:
                store(caught_up["messages"], message)
            self._check_messages(name, caught_up)
        self.copies[device] = caught_up

    def _check_messages(self, user: str, copy: dict[str, Any]) -> None:
        """Every stored message is as sent, or its tombstone once revoked: no revoked text
        anywhere in the copy."""
        for key, message in copy["messages"].items():
            sent = self.sent[key]
            assert message["clientMsgID"] == sent.client_msg_id
            if key in self.tombstones and user in self.reached[key]:
                assert message == self.tombstones[key], key
            elif message["contentType"] != REVOKED and sent.text is not None:
                elem = message["atTextElem"] or {"text": message["textElem"]["content"]}
                assert elem["text"] == sent.text
        # A message revoked once it was outside the user's window (they left and came back
        # since it was sent) reaches no revocation row (spec 11, revoke): not checked.
        cached = json.dumps([copy["conversations"], list(copy["messages"].values())])
        for key in self.tombstones:
            if user in self.reached[key]:
                text = self.sent[key].text
                assert text is not None and text not in cached, key

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def records_match_the_model(self) -> None:
        if not hasattr(self, "group_id"):
            return
        pushed = self._pushed_since(self.checked_events)
        self.checked_events += len(self.hub.events[self.checked_events :])
        for name, user in self.users.items():
            snapshot = user.sync()
            assert snapshot["revokedMessages"] == []
            # Every bump of the user's version was pushed to them, once (rules 6, 7).
            versions = sorted(e["version"] for u, e in pushed if u == name)
            first = self.checked_version[name] + 1
            assert versions == list(range(first, snapshot["version"] + 1))
            self.version[name] = self.checked_version[name] = snapshot["version"]
            records = {}
            for record in snapshot["conversations"]:
                cid = record["conversationID"]
                key = (name, cid)
                expected = self._expected(name, cid)
                assert {k: record[k] for k in expected} == expected, cid
                assert record["hasReadSeq"] >= self.highest_seen.get(key, 0)
                self.highest_seen[key] = record["hasReadSeq"]
                peer = self._single_peer(name, cid)
                if peer is not None:
                    assert record["peerHasReadSeq"] == self.views[(peer, cid)].read
                self._check_latest(record, expected["maxSeq"])
                records[cid] = record
            assert sorted(records) == self._mine(name)
            assert snapshot["totalUnreadCount"] == self._total(name)
            self.records[name] = records
            for device in DEVICES:
                if device[0] == name and "version" in self.copies[device]:
                    self._catch_up(device, snapshot)

    def _catch_up(self, device: tuple[str, int], snapshot: dict[str, Any]) -> None:
        """The device's old copy, patched by an incremental sync, equals the snapshot and
        holds no revoked text; the copy itself stays old, for later steps."""
        copy = self.copies[device]
        delta = self.users[device[0]].sync(copy["epoch"], copy["version"])
        assert not delta["full"]
        for tombstone in delta["revokedMessages"]:
            key = (tombstone["conversationID"], tombstone["seq"])
            assert tombstone == self.tombstones[key]
            assert device[0] in self.reached[key]
        caught_up = patch(copy, delta)
        assert caught_up["conversations"] == {
            r["conversationID"]: r for r in snapshot["conversations"]
        }
        assert caught_up["version"] == snapshot["version"]
        self._check_messages(device[0], caught_up)

    def _check_latest(self, record: dict[str, Any], top: int) -> None:
        latest = record["latestMsg"]
        if top == 0:
            assert latest is None
            return
        key = (record["conversationID"], top)
        assert latest["seq"] == top
        if key in self.tombstones:
            assert latest == self.tombstones[key]
        elif self.sent[key].text is not None:
            elem = latest["atTextElem"] or {"text": latest["textElem"]["content"]}
            assert elem["text"] == self.sent[key].text

    @invariant()
    def receipts_match_the_model(self) -> None:
        """Read by N of M, for every group message, from the model's positions."""
        if not hasattr(self, "group_id") or not self.sender_of:
            return
        seqs = sorted(self.sender_of)
        path = f"/api/conversations/{self.group_cid}/receipts?seqs={','.join(map(str, seqs))}"
        answer = self.users["ann"].call("GET", path)["receipts"]  # ann never leaves
        expected = []
        for seq in seqs:
            at = [
                user
                for user, joined in self.joined_at.items()
                if user != self.sender_of[seq]
                and joined <= seq
                and self.left_at.get((user, self.group_cid), seq) >= seq
            ]
            position = {u: self.left_read.get(u, self.views[(u, self.group_cid)].read) for u in at}
            read = sum(1 for u in at if position[u] >= seq)
            expected.append({"seq": seq, "hasReadCount": read, "groupMemberCount": len(at)})
        assert answer == expected

    @invariant()
    def memberships_carry_their_conversations_max_seq(self) -> None:
        """Current members' copies equal the conversation's; a left one stays at left_seq."""
        with self.app.extensions["tidemark"].db.read() as conn:
            copies = conn.execute(
                select(members.c.max_seq, conversations.c.max_seq, members.c.left_seq).join(
                    conversations, conversations.c.conversation_id == members.c.conversation_id
                )
            ).all()
        assert all(copy == (source if left is None else left) for copy, source, left in copies)

    def teardown(self) -> None:
        self.resources.close()


def _by_id(record: dict[str, Any]) -> str:
    return str(record["conversationID"])


# About 50 s per engine on this shared 2-core machine (CI runs both); a PostgreSQL
# step costs about twice an SQLite one.
EXAMPLES = {"sqlite": 50, "postgres": 20}


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_read_state_machine(engine: str) -> None:
    postgres_url = POSTGRES_URL if engine == "postgres" else None
    run_state_machine_as_test(
        lambda: ReadStateMachine(postgres_url),
        settings=settings(max_examples=EXAMPLES[engine], stateful_step_count=50, deadline=None),
    )


def test_revoke_own_join_notification(make_user):
    """The notification of one's own joining is in one's window, and not revocable (it
    answered 404 CONVERSATION_NOT_FOUND: its seq is the join seq, outside the viewers)."""
    owner, member = make_user(), make_user()
    group = owner.group()
    owner.call("POST", f"/api/groups/{group['groupID']}/members", {"userIDList": [member.user_id]})
    (record,) = member.sync()["conversations"]
    path = f"/api/conversations/{group['conversationID']}/revoke"
    answer = member.call("POST", path, {"clientMsgID": record["latestMsg"]["clientMsgID"]}, 400)
    assert answer["error"] == "NOT_REVOCABLE"
