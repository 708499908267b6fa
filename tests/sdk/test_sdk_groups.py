"""Groups in the SDK, against the fake server: server-first changes written once, the
membership notifications stored and announced as messages (rule 12), a removed member's
read-only record adding 0 (rule 11), and the frames that are not state — receipt.group
(rule 16) and typing (rule 17) — never written, never versioned, never a sync.

Membership events delivered twice, late and out of order must leave the cache exactly
where the server is, announcing each notification once (rule 6).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tidemark_sdk import (
    GroupDismissedError,
    GroupPermissionDeniedError,
    MessageNotFoundError,
    NotGroupMemberError,
    TidemarkClient,
    ValidationFailedError,
)

from tests.sdk.conftest import PASSWORD, Recorder, World, run
from tests.sdk.fakes import FakeTransport
from tests.sdk.test_store_writes import CountingStore

NOTIFICATIONS = {1504, 1507, 1508, 1509, 1511, 1517, 1518, 1520}


def add_user(world: World, user_id: str) -> None:
    body = {"userID": user_id, "password": PASSWORD, "nickname": user_id.title()}
    world.server.handle("POST", "/api/users", body, None)


def make_group(world: World, owner: str = "alice", members: tuple[str, ...] = ("bob", "carol")):
    answer = world.server.call(
        owner, "POST", "/api/groups", {"groupName": "Trip", "memberUserIDs": list(members)}
    )
    return answer["groupID"], answer["conversationID"]


def act(world: World, user: str, method: str, group_id: str, tail: str, body: Any = None):
    """``user`` changes the group through the server directly."""
    return world.server.call(user, method, f"/api/groups/{group_id}{tail}", body or {})


async def counted(world: World, user: str) -> tuple[TidemarkClient, CountingStore, FakeTransport]:
    store = CountingStore(world.store_factory())
    transport = FakeTransport(world.server)
    world.transports.append(transport)
    client = TidemarkClient(
        transport,
        store,  # type: ignore[arg-type]
        sleep=world.clock.sleep,
        random=lambda: 0.5,
        receive_timeout=5.0,
    )
    await client.login(user, PASSWORD)
    await world.settle()
    return client, store, transport


def news(recorder: Recorder) -> list[dict[str, Any]]:
    return [m for batch in recorder.of("OnRecvNewMessages") for m in batch]


def writes(store: CountingStore) -> list[tuple[str, list[str], set[int]]]:
    """The store calls, with the seqs of the messages each was given (a set: a record's
    latest message may come twice, as itself and inside its record)."""
    return [(kind, ids, set(seqs)) for kind, ids, seqs in store.writes]


def syncs(transport: FakeTransport) -> int:
    return sum(1 for _, path in transport.http if path.startswith("/api/sync"))


async def cached(client: TidemarkClient) -> dict[str, Any]:
    return {c["conversationID"]: c for c in await client._store.conversations()}  # type: ignore[attr-defined]


# -- server first ------------------------------------------------------------------------


def test_group_changes_are_server_first_written_once_then_announced(world: World) -> None:
    async def main() -> None:
        add_user(world, "dave")
        alice, store, transport = await counted(world, "alice")
        events = Recorder(alice)
        group = await alice.create_group("Trip", ["bob", "carol"], ["bob"])
        assert group == {
            "groupID": group["groupID"],
            "conversationID": f"sg_{group['groupID']}",
            "groupName": "Trip",
            "ownerUserID": "alice",
            "memberCount": 3,
            "status": 0,
            "createTime": group["createTime"],
        }
        await world.settle()
        cid = group["conversationID"]
        roles = {
            m["userID"]: m["roleLevel"] for m in await alice.get_group_member_list(group["groupID"])
        }
        assert roles == {"alice": 100, "bob": 60, "carol": 20}
        store.writes.clear()
        events.clear()
        await alice.invite_user_to_group(group["groupID"], ["dave"], "welcome")
        # The answer's state went to the store in one write, before the call returned,
        # and then the events: the record, and the notification as a new message.
        assert writes(store) == [("apply", [cid], {1})]
        assert [name for name, _ in events.data_events()] == [
            "OnConversationChanged",
            "OnRecvNewMessages",
        ]
        (notice,) = news(events)
        assert (notice["seq"], notice["contentType"], notice["textElem"]) == (1, 1509, None)
        assert '"invitedUserList"' in notice["notificationElem"]["detail"]
        await world.settle()  # the echo: nothing more to write, nothing announced again
        assert writes(store) == [("apply", [cid], {1})]
        assert len(news(events)) == 1
        assert syncs(transport) == 1  # the login's only
        assert await alice.get_total_unread_msg_count() == 0
        await alice.close()

    run(main())


def test_a_refused_group_change_leaves_cache_and_page_untouched(world: World) -> None:
    async def main() -> None:
        group_id, _ = make_group(world)
        bob, store, _ = await counted(world, "bob")
        events = Recorder(bob)
        store.writes.clear()
        with pytest.raises(GroupPermissionDeniedError):
            await bob.kick_group_member(group_id, ["carol"])
        with pytest.raises(GroupPermissionDeniedError):
            await bob.dismiss_group(group_id)
        with pytest.raises(ValidationFailedError):
            await bob.set_group_member_role_level(group_id, "carol", 100)
        assert store.writes == [] and events.data_events() == []
        await bob.close()

    run(main())


def test_every_group_change_goes_through_the_sdk(world: World) -> None:
    async def main() -> None:
        alice, _, _ = await counted(world, "alice")
        events = Recorder(alice)
        group = await alice.create_group("Trip", ["bob", "carol"])
        gid, cid = group["groupID"], group["conversationID"]
        await alice.set_group_info(gid, "Trip 2")
        await alice.set_group_member_role_level(gid, "bob", 60)
        await alice.kick_group_member(gid, ["carol"])
        await alice.transfer_group_owner(gid, "bob")
        await alice.quit_group(gid)
        await world.settle()
        types = [m["contentType"] for m in news(events)]
        assert types == [1520, 1517, 1508, 1507, 1504]
        record = (await cached(alice))[cid]
        assert record["showName"] == "Trip 2" and record["isNotInGroup"] is True
        assert record == {**world.server.snapshot("alice")[cid], "unreadCount": 0}
        assert await alice.get_joined_group_list() == []
        (info,) = await alice.get_specified_groups_info([gid])
        assert (info["groupName"], info["ownerUserID"], info["memberCount"]) == ("Trip 2", "bob", 1)
        with pytest.raises(NotGroupMemberError):
            await alice.get_group_member_list(gid)
        with pytest.raises(NotGroupMemberError):
            await alice.send_message(await alice.create_text_message("hi"), group_id=gid)
        act(world, "bob", "POST", gid, "/dismiss")
        await world.settle()
        with pytest.raises(GroupDismissedError):
            await alice.quit_group(gid)
        await alice.close()

    run(main())


# -- rule 11: out of the group, the record stays and adds 0 -----------------------------


def test_a_removed_member_keeps_the_history_read_only_and_adds_zero(world: World) -> None:
    async def main() -> None:
        group_id, cid = make_group(world)
        bob, store, _ = await counted(world, "bob")
        events = Recorder(bob)
        world.send("alice", "one", groupID=group_id)
        world.send("alice", "two", groupID=group_id)
        await world.settle()
        assert await bob.get_total_unread_msg_count() == 2
        act(world, "alice", "POST", group_id, "/kick", {"userIDList": ["bob"]})
        await world.settle()
        # The record stays, read-only, with nothing unread: the SDK's one definition of
        # unread (maxSeq - hasReadSeq) over the server's record, nothing special-cased.
        record = (await cached(bob))[cid]
        assert record["isNotInGroup"] is True
        assert (record["maxSeq"], record["hasReadSeq"], record["unreadCount"]) == (3, 3, 0)
        assert await bob.get_total_unread_msg_count() == 0
        assert events.of("OnTotalUnreadMessageCountChanged")[-1] == 0
        # The kick is a message: announced (though stored as read) and in the history.
        kick = news(events)[-1]
        assert (kick["seq"], kick["contentType"]) == (3, 1508)
        assert [m["seq"] for m in await store.messages(cid, None, 10)][-1] == 3
        page = await bob.get_advanced_history_message_list(cid, 10, 0)
        assert [m["seq"] for m in page["messageList"]] == [1, 2, 3]
        # Nothing after the kick reaches bob.
        events.clear()
        world.send("alice", "three", groupID=group_id)
        await world.settle()
        assert events.data_events() == []
        assert (await cached(bob))[cid]["maxSeq"] == 3
        # A reload agrees.
        await bob.close()
        again, _ = world.client(store.inner)
        await again.restore_session()
        assert await again.get_total_unread_msg_count() == 0
        assert (await cached(again))[cid]["isNotInGroup"] is True
        await again.close()

    run(main())


# -- rule 6: membership events twice, late, out of order ---------------------------------


def _membership_changes(world: World, group_id: str) -> None:
    """Five changes bob hears of: rename, invite, role, kick dave, a message."""
    act(world, "alice", "PATCH", group_id, "", {"groupName": "Trip 2"})
    act(world, "alice", "POST", group_id, "/members", {"userIDList": ["dave"]})
    act(world, "alice", "POST", group_id, "/role", {"userID": "bob", "roleLevel": 60})
    act(world, "alice", "POST", group_id, "/kick", {"userIDList": ["dave"]})
    world.send("alice", "after", groupID=group_id)


@pytest.mark.parametrize("order", ["duplicated", "reversed", "late", "shuffled"])
def test_membership_events_twice_late_or_reordered_are_harmless(world: World, order: str) -> None:
    async def main() -> None:
        add_user(world, "dave")
        group_id, cid = make_group(world)
        bob, store, transport = await counted(world, "bob")
        events = Recorder(bob)
        world.server.hold = True
        _membership_changes(world, group_id)
        world.server.hold = False
        held = world.server.take_held("bob")
        assert [f["type"] for f in held] == ["message.new"] * 5
        if order == "duplicated":
            frames = [f for frame in held for f in (frame, frame)] + held
        elif order == "reversed":
            frames = held[::-1]
        elif order == "late":
            frames = [*held[1:], held[0]]  # the first comes after everything else
        else:
            frames = [held[2], held[0], held[4], held[1], held[3], held[2], held[0]]
        for frame in frames:
            world.server.deliver("bob", frame)
            await world.settle()
        truth = world.server.snapshot("bob")[cid]
        record = (await cached(bob))[cid]
        assert record == truth  # notifications count as unread, like any message
        assert (record["showName"], record["maxSeq"], record["hasReadSeq"]) == ("Trip 2", 5, 0)
        assert await bob.get_total_unread_msg_count() == 5
        # Every message stored once, each announced once, whatever the order.
        stored = await store.messages(cid, None, 10)
        assert [m["seq"] for m in stored] == [1, 2, 3, 4, 5]
        assert sorted(m["seq"] for m in news(events)) == [1, 2, 3, 4, 5]
        assert [m["contentType"] for m in stored] == [1520, 1509, 1517, 1508, 101]
        totals = events.of("OnTotalUnreadMessageCountChanged")
        assert totals[-1] == 5
        meta = await store.load()
        assert meta is not None and meta["version"] == world.server.users["bob"]["version"]
        if order == "duplicated":
            assert syncs(transport) == 1  # in order: no gap, no sync
        await bob.close()

    run(main())


def test_a_late_membership_event_never_moves_a_read_position_back(world: World) -> None:
    async def main() -> None:
        group_id, cid = make_group(world)
        bob, _, _ = await counted(world, "bob")
        world.server.hold = True
        act(world, "alice", "PATCH", group_id, "", {"groupName": "Trip 2"})
        world.send("alice", "hi", groupID=group_id)
        rename, message = world.server.take_held("bob")
        world.server.hold = False
        world.server.deliver("bob", message)  # a gap: bob syncs
        await world.settle()
        await bob.mark_conversation_message_as_read(cid)
        world.server.deliver("bob", rename)  # older than the read, and already synced
        world.server.deliver("bob", message)
        await world.settle()
        record = (await cached(bob))[cid]
        assert (record["showName"], record["hasReadSeq"], record["unreadCount"]) == ("Trip 2", 2, 0)
        assert await bob.get_total_unread_msg_count() == 0
        await bob.close()

    run(main())


# -- rules 16 and 17: frames that are not state ------------------------------------------


def test_receipt_and_typing_frames_are_never_stored_nor_a_reason_to_sync(world: World) -> None:
    async def main() -> None:
        group_id, cid = make_group(world)
        alice, store, transport = await counted(world, "alice")
        events = Recorder(alice)
        sent = world.send("alice", "hello", groupID=group_id)["message"]
        await world.settle()
        store.writes.clear()
        before = await store.load()
        connects = len(world.server.connections)
        frames = [
            {
                "type": "receipt.group",
                "conversationID": cid,
                "readers": [{"userID": "bob", "hasReadSeq": 1}],
            },
            {
                "type": "receipt.group",
                "conversationID": cid,
                "readers": [{"userID": "bob", "hasReadSeq": 1}],
            },  # duplicated
            {
                "type": "receipt.group",
                "conversationID": cid,
                "readers": [{"userID": "carol", "hasReadSeq": 0}],
            },  # late, stale
            {
                "type": "typing",
                "conversationID": cid,
                "userID": "bob",
                "focus": True,
                "expiresInMs": 60_000,
            },
            {
                "type": "typing",
                "conversationID": cid,
                "userID": "bob",
                "focus": True,
                "expiresInMs": 60_000,
            },
            {
                "type": "typing",
                "conversationID": cid,
                "userID": "bob",
                "focus": False,
                "expiresInMs": 60_000,
            },
            {"type": "receipt.group", "conversationID": cid},  # malformed: dropped
        ]
        for frame in frames:
            world.server.deliver("alice", frame)
        await world.settle()
        assert store.writes == []
        assert await store.load() == before
        assert syncs(transport) == 1
        assert len(world.server.connections) == connects  # no reconnect either
        assert "OnConnecting" not in events.names()
        receipts = events.of("OnRecvGroupReadReceipt")
        assert receipts[0] == {
            "conversationID": cid,
            "readers": [{"userID": "bob", "hasReadSeq": 1}],
        }
        assert len(receipts) == 3
        typing = events.of("OnConversationUserInputStatusChanged")
        assert [t["focus"] for t in typing] == [True, True, False]
        assert typing[0] == {"conversationID": cid, "userID": "bob", "focus": True}
        assert alice._ephemera.typing == []  # type: ignore[attr-defined]
        assert sent["seq"] == 1
        await alice.close()

    run(main())


def test_typing_expires_by_itself_and_each_frame_resets_its_timer(world: World) -> None:
    async def main() -> None:
        group_id, cid = make_group(world)
        world.server.typing_ttl_ms = 300
        alice, store, _ = await counted(world, "alice")
        bob, _, bob_transport = await counted(world, "bob")
        events = Recorder(alice)
        store.writes.clear()

        def typing() -> list[tuple[str, bool]]:
            return [
                (t["userID"], t["focus"]) for t in events.of("OnConversationUserInputStatusChanged")
            ]

        await bob.change_input_states(cid, True)  # over bob's socket
        assert ("POST", f"/api/conversations/{cid}/typing") not in bob_transport.http
        await world.settle()
        assert typing() == [("bob", True)]
        await asyncio.sleep(0.18)
        await bob.change_input_states(cid, True)  # again: the timer starts over
        await world.settle()
        await asyncio.sleep(0.18)  # 0.36 s after the first: it would have expired
        assert typing() == [("bob", True), ("bob", True)]
        await asyncio.sleep(0.3)
        assert typing() == [("bob", True), ("bob", True), ("bob", False)]
        # A "stopped" ends it at once, and no expiry follows.
        await bob.change_input_states(cid, True)
        await bob.change_input_states(cid, False)
        await world.settle()
        await asyncio.sleep(0.4)
        assert typing()[-2:] == [("bob", True), ("bob", False)] and len(typing()) == 5
        # Logged out, a pending expiry is dropped.
        await bob.change_input_states(cid, True)
        await world.settle()
        await alice.logout()
        await asyncio.sleep(0.4)
        assert typing()[-1] == ("bob", True) and len(typing()) == 6
        assert store.writes == []
        await bob.close()

    run(main())


def test_read_receipts_counts_and_readers(world: World) -> None:
    async def main() -> None:
        group_id, cid = make_group(world)
        alice, _, alice_transport = await counted(world, "alice")
        bob, _, _ = await counted(world, "bob")
        events = Recorder(alice)
        first = await alice.send_message(await alice.create_text_message("one"), group_id=group_id)
        second = await alice.send_message(await alice.create_text_message("two"), group_id=group_id)
        await world.settle()
        await bob.mark_conversation_message_as_read(cid)
        await world.settle()
        assert events.of("OnRecvGroupReadReceipt") == [
            {"conversationID": cid, "readers": [{"userID": "bob", "hasReadSeq": 2}]}
        ]
        assert await alice.get_group_message_receipt_counts(cid, [2, 1, 2, 99]) == [
            {"seq": 1, "hasReadCount": 1, "groupMemberCount": 2},
            {"seq": 2, "hasReadCount": 1, "groupMemberCount": 2},
        ]
        assert await alice.get_group_message_receipt_counts(cid, []) == []
        by_id = await alice.get_group_message_reader_list(cid, client_msg_id=first["clientMsgID"])
        assert [m["userID"] for m in by_id] == ["bob"]
        unread = await alice.get_group_message_reader_list(cid, seq=second["seq"], filter=1)
        assert [m["userID"] for m in unread] == ["carol"]
        with pytest.raises(MessageNotFoundError):
            await alice.get_group_message_reader_list(cid, client_msg_id="nope")
        with pytest.raises(MessageNotFoundError):
            await alice.get_group_message_reader_list(cid, seq=99)
        # Any number of seqs: asked 100 at a time.
        alice_transport.http.clear()
        counts = await alice.get_group_message_receipt_counts(cid, list(range(1, 151)))
        assert [c["seq"] for c in counts] == [1, 2]
        assert sum(1 for _, p in alice_transport.http if "/receipts?" in p) == 2
        await alice.close()
        await bob.close()

    run(main())
