"""Rules 2, 3, 5 and 11 under any order of operations, checked against a small model.

Random sends, mark-reads (stale, duplicated and out of order included), syncs from
several devices of several users, and a group's members kicked, quitting and invited
back. After every step: counts match the model, read positions never move back, a member
who left holds the record as it was at the leaving seq with nothing unread, and each
device's copy caught up by incremental syncs equals a fresh full snapshot.
"""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from server.storage.tables import conversations, members
from tests.server.conftest import make_app, register
from tests.server.test_sync import apply

USERS = ("ann", "ben", "cat")
OUTSIDER = "dov"  # joins the group only when invited
DEVICES = [(user, device) for user in USERS for device in range(2)]


class ReadStateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        self.app = make_app(f"sqlite:///{self.folder}/db.sqlite")
        client = self.app.test_client()
        self.users = {name: register(client, name) for name in (*USERS, OUTSIDER)}
        self.max_seq: dict[str, int] = {}
        # Everyone who has a record of the conversation, and the seq a member left at.
        self.members: dict[str, set[str]] = {}
        self.left_at: dict[tuple[str, str], int] = {}
        self.read: dict[tuple[str, str], int] = {}
        self.highest_seen: dict[tuple[str, str], int] = {}
        self.copies: dict[tuple[str, int], dict] = {d: {"conversations": {}} for d in DEVICES}

    @initialize()
    def make_group(self) -> None:
        group = self.users["ann"].group("ben", "cat")
        self.group_id = group["groupID"]
        self.group_cid = group["conversationID"]
        self._conversation(group["conversationID"], set(USERS))
        # For receipts (rule 16): who sent each group seq, when each member joined, and
        # how far a member who left had read.
        self.sender_of: dict[int, str] = {}
        self.joined_at = dict.fromkeys(USERS, 0)
        self.left_read: dict[str, int] = {}

    def _current(self, user: str) -> bool:
        return user in self.members[self.group_cid] and (user, self.group_cid) not in self.left_at

    def _conversation(self, cid: str, members: set[str]) -> None:
        if cid not in self.max_seq:
            self.max_seq[cid] = 0
            self.members[cid] = members
            for member in members:
                self.read[(member, cid)] = 0

    @rule(sender=st.sampled_from(USERS), to=st.sampled_from((*USERS, "group")))
    def send(self, sender: str, to: str) -> None:
        if to == sender:
            return
        user = self.users[sender]
        if to == "group":
            if not self._current(sender):
                body = {
                    "clientMsgID": f"x{self.max_seq[self.group_cid]}",
                    "groupID": self.group_id,
                    "text": "?",
                }
                assert (
                    user.call("POST", "/api/messages", body, expect=403)["error"]
                    == "NOT_GROUP_MEMBER"
                )
                return
            message = user.send(group=self.group_id)["message"]
        else:
            message = user.send(to=to)["message"]
            self._conversation(message["conversationID"], {sender, to})
        cid = message["conversationID"]
        self.max_seq[cid] += 1
        assert message["seq"] == self.max_seq[cid]
        self.read[(sender, cid)] = self.max_seq[cid]
        if to == "group":
            self.sender_of[message["seq"]] = sender

    def _membership_change(self, operator: str, path: str, body: dict) -> int:
        self.users[operator].call("POST", f"/api/groups/{self.group_id}{path}", body)
        self.max_seq[self.group_cid] += 1
        seq = self.max_seq[self.group_cid]
        self.read[(operator, self.group_cid)] = seq  # the operator's own message
        self.sender_of[seq] = operator
        return seq

    @rule(who=st.sampled_from(("ben", "cat", OUTSIDER)))
    def kick(self, who: str) -> None:
        if not self._current(who):
            return
        self.left_read[who] = self.read[(who, self.group_cid)]
        seq = self._membership_change("ann", "/kick", {"userIDList": [who]})
        self.left_at[(who, self.group_cid)] = seq
        self.read[(who, self.group_cid)] = seq  # a left record adds 0 unread

    @rule(member=st.sampled_from(("ben", "cat", OUTSIDER)))
    def quit(self, member: str) -> None:
        if not self._current(member):
            return
        seq = self._membership_change(member, "/quit", {})
        self.left_at[(member, self.group_cid)] = seq
        self.left_read[member] = seq

    @rule(who=st.sampled_from(("ben", "cat", OUTSIDER)))
    def invite(self, who: str) -> None:
        if self._current(who):
            return
        seq = self._membership_change("ann", "/members", {"userIDList": [who]})
        self.members[self.group_cid].add(who)
        self.left_at.pop((who, self.group_cid), None)
        self.left_read.pop(who, None)
        self.joined_at[who] = seq
        self.read[(who, self.group_cid)] = seq  # a new member starts with nothing unread
        self.highest_seen.pop((who, self.group_cid), None)  # a new window starts

    @rule(data=st.data(), reader=st.sampled_from((*USERS, OUTSIDER)), repeat=st.integers(1, 2))
    def mark_read(self, data: st.DataObject, reader: str, repeat: int) -> None:
        mine = sorted(cid for cid, members in self.members.items() if reader in members)
        if not mine:
            return
        cid = data.draw(st.sampled_from(mine))
        top = self.left_at.get((reader, cid), self.max_seq[cid])
        seq = data.draw(st.none() | st.integers(0, top + 3), label="seq")
        target = top if seq is None else min(seq, top)
        self.read[(reader, cid)] = max(self.read[(reader, cid)], target)
        answers = [self.users[reader].read(cid, seq) for _ in range(repeat)]
        assert answers[0]["conversations"] == answers[-1]["conversations"]
        (record,) = answers[-1]["conversations"]
        assert record["hasReadSeq"] == self.read[(reader, cid)]

    @rule(device=st.sampled_from(DEVICES))
    def sync(self, device: tuple[str, int]) -> None:
        user = self.users[device[0]]
        copy = self.copies[device]
        delta = user.sync(copy.get("epoch"), copy.get("version"))
        assert delta["full"] == ("version" not in copy)
        self.copies[device] = caught_up = apply(copy, delta)
        assert caught_up == apply({"conversations": {}}, user.sync())
        assert delta["totalUnreadCount"] == sum(
            r["unreadCount"] for r in caught_up["conversations"].values()
        )

    @invariant()
    def counts_match_the_model(self) -> None:
        if not hasattr(self, "group_id"):
            return
        for name, user in self.users.items():
            snapshot = user.sync()
            expected_total = 0
            for record in snapshot["conversations"]:
                key = (name, record["conversationID"])
                top = self.left_at.get(key, self.max_seq[record["conversationID"]])
                assert record["maxSeq"] == top
                assert record["isNotInGroup"] == (key in self.left_at)
                assert record["hasReadSeq"] == self.read[key]
                assert record["hasReadSeq"] >= self.highest_seen.get(key, 0)
                self.highest_seen[key] = record["hasReadSeq"]
                assert record["unreadCount"] == record["maxSeq"] - record["hasReadSeq"]
                expected_total += top - self.read[key]
            assert snapshot["totalUnreadCount"] == expected_total
            assert len(snapshot["conversations"]) == sum(name in m for m in self.members.values())

    @invariant()
    def receipts_match_the_model(self) -> None:
        """Read by N of M, for every group message, from the model's positions."""
        if not self.sender_of:
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
            position = {u: self.left_read.get(u, self.read[(u, self.group_cid)]) for u in at}
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
        self.app.extensions["tidemark"].db.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


ReadStateMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None
)
test_read_state_machine = ReadStateMachine.TestCase
