"""Rules 2, 3 and 5 under any order of operations, checked against a small model.

Random sends, mark-reads (stale, duplicated and out of order included) and syncs from
several devices of several users. After every step: counts match the model, read
positions never move back, and each device's copy caught up by incremental syncs equals
a fresh full snapshot.
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
DEVICES = [(user, device) for user in USERS for device in range(2)]


class ReadStateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        self.app = make_app(f"sqlite:///{self.folder}/db.sqlite")
        client = self.app.test_client()
        self.users = {name: register(client, name) for name in USERS}
        self.max_seq: dict[str, int] = {}
        self.members: dict[str, set[str]] = {}
        self.read: dict[tuple[str, str], int] = {}
        self.highest_seen: dict[tuple[str, str], int] = {}
        self.copies: dict[tuple[str, int], dict] = {d: {"conversations": {}} for d in DEVICES}

    @initialize()
    def make_group(self) -> None:
        group = self.users["ann"].group("ben", "cat")
        self.group_id = group["groupID"]
        self._conversation(group["conversationID"], set(USERS))

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
            message = user.send(group=self.group_id)["message"]
        else:
            message = user.send(to=to)["message"]
            self._conversation(message["conversationID"], {sender, to})
        cid = message["conversationID"]
        self.max_seq[cid] += 1
        assert message["seq"] == self.max_seq[cid]
        self.read[(sender, cid)] = self.max_seq[cid]

    @rule(data=st.data(), reader=st.sampled_from(USERS), repeat=st.integers(1, 2))
    def mark_read(self, data: st.DataObject, reader: str, repeat: int) -> None:
        mine = sorted(cid for cid, members in self.members.items() if reader in members)
        cid = data.draw(st.sampled_from(mine))
        top = self.max_seq[cid]
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
                assert record["maxSeq"] == self.max_seq[record["conversationID"]]
                assert record["hasReadSeq"] == self.read[key]
                assert record["hasReadSeq"] >= self.highest_seen.get(key, 0)
                self.highest_seen[key] = record["hasReadSeq"]
                assert record["unreadCount"] == record["maxSeq"] - record["hasReadSeq"]
                expected_total += self.max_seq[record["conversationID"]] - self.read[key]
            assert snapshot["totalUnreadCount"] == expected_total
            assert len(snapshot["conversations"]) == sum(name in m for m in self.members.values())

    @invariant()
    def memberships_carry_their_conversations_max_seq(self) -> None:
        with self.app.extensions["tidemark"].db.read() as conn:
            copies = conn.execute(
                select(members.c.max_seq, conversations.c.max_seq).join(
                    conversations, conversations.c.conversation_id == members.c.conversation_id
                )
            ).all()
        assert all(copy == source for copy, source in copies)

    def teardown(self) -> None:
        self.app.extensions["tidemark"].db.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


ReadStateMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None
)
test_read_state_machine = ReadStateMachine.TestCase
