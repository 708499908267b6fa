"""Revocation in the SDK, against the fake server: the tombstone replaces the cached
message in every store and never the reverse; OnNewRecvMessageRevoked fires once per
tombstone, whichever of the push, the sync and the revoke's own answer stores it first."""

from __future__ import annotations

from typing import Any

import pytest
from tidemark_sdk import (
    MemoryStore,
    MessageNotFoundError,
    NotRevocableError,
    RevokeNotAllowedError,
    RevokeTooLateError,
    Store,
    TidemarkClient,
)

from tests.sdk.conftest import PASSWORD, Recorder, World, run

ALICE_BOB = "si_alice_bob"


def revoke_path(cid: str) -> str:
    return f"/api/conversations/{cid}/revoke"


async def stored(store: Store, cid: str = ALICE_BOB) -> list[Any]:
    return await store.messages(cid, None, 100)


def revoked(events: Recorder) -> list[Any]:
    return events.of("OnNewRecvMessageRevoked")


def test_a_pushed_revocation_replaces_the_cached_message_once(
    world: World, store_factory: Any
) -> None:
    async def main() -> None:
        store = store_factory()
        client, _ = world.client(store)
        await client.login("alice", PASSWORD)
        await world.settle()
        events = Recorder(client)
        original = world.send("bob", "the secret", recvID="alice")["message"]
        await world.settle()
        world.server.hold = True
        answer = world.server.call(
            "bob", "POST", revoke_path(ALICE_BOB), {"clientMsgID": original["clientMsgID"]}
        )
        tombstone = answer["message"]
        (frame,) = [f for f in world.server.take_held("alice") if f["type"] == "message.revoked"]
        world.server.hold = False
        world.server.deliver("alice", frame)
        await world.settle()
        (info,) = revoked(events)
        assert (
            info["conversationID"] == ALICE_BOB and info["clientMsgID"] == original["clientMsgID"]
        )
        assert (info["revokerID"], info["revokerRole"], info["seq"]) == ("bob", 0, original["seq"])
        assert info["sourceMessageSendID"] == "bob" and info["revokerNickname"] == "Bob"
        # The old text is gone from the cache: the message and the record's latestMsg.
        assert await stored(store) == [tombstone]
        assert "the secret" not in repr(await store.conversations())
        # Tombstones are never news, and unread does not move.
        assert all(
            m["contentType"] != 2101 for batch in events.of("OnRecvNewMessages") for m in batch
        )
        assert await client.get_total_unread_msg_count() == 1
        # Replays, and the original arriving late: nothing, never the text back.
        world.server.deliver("alice", frame)
        late = {
            "type": "message.new",
            **world.server._head("alice"),
            "conversation": frame["conversation"],
            "message": original,
        }
        world.server.deliver("alice", late)
        await world.settle()
        await client.get_advanced_history_message_list(ALICE_BOB, 20)
        assert len(revoked(events)) == 1
        assert await stored(store) == [tombstone]
        await client.logout()

    run(main())


def test_my_own_revoke_answers_the_tombstone_and_fires_once_per_device(
    world: World, store_factory: Any
) -> None:
    async def main() -> None:
        store = store_factory()
        client, _ = world.client(store)
        await client.login("alice", PASSWORD)
        device2, _ = world.client(MemoryStore())
        await device2.login("alice", PASSWORD)
        bob, _ = world.client(MemoryStore())
        await bob.login("bob", PASSWORD)
        await world.settle()
        events, events2, bob_events = Recorder(client), Recorder(device2), Recorder(bob)
        sent = await client.send_message(await client.create_text_message("oops"), "bob")
        await world.settle()
        tombstone = await client.revoke_message(ALICE_BOB, sent["clientMsgID"])
        assert tombstone["contentType"] == 2101 and tombstone["seq"] == sent["seq"]
        assert tombstone["textElem"] is None and tombstone["clientMsgID"] == sent["clientMsgID"]
        # Before it returned: stored and announced.
        assert await stored(store) == [tombstone]
        assert len(revoked(events)) == 1
        await world.settle()  # the push comes after the answer: nothing more
        assert len(revoked(events)) == 1
        assert len(revoked(events2)) == 1 and len(revoked(bob_events)) == 1
        record = await bob.get_one_conversation("alice", 1)
        assert record["latestMsg"] == tombstone
        # A retry after a lost answer: the same tombstone, no new event, no version.
        version = world.server.users["alice"]["version"]
        assert await client.revoke_message(ALICE_BOB, sent["clientMsgID"]) == tombstone
        await world.settle()
        assert len(revoked(events)) == 1 and world.server.users["alice"]["version"] == version
        for c in (client, device2, bob):
            await c.logout()

    run(main())


def test_a_revocation_missed_offline_comes_with_the_sync(world: World) -> None:
    async def main() -> None:
        original = world.send("bob", "before", recvID="alice")["message"]
        client, _ = await world.logged_in()
        store = client._store  # the cache this device reloads from
        await client.close()
        world.server.call(
            "bob", "POST", revoke_path(ALICE_BOB), {"clientMsgID": original["clientMsgID"]}
        )
        client2, _ = world.client(store)
        events = Recorder(client2)
        assert await client2.restore_session()
        await world.settle()
        (info,) = revoked(events)
        assert info["clientMsgID"] == original["clientMsgID"]
        assert [m["contentType"] for m in await stored(store)] == [2101]
        assert "OnRecvNewMessages" not in events.names()
        await client2.logout()

    run(main())


def test_who_may_revoke(world: World) -> None:
    async def main() -> None:
        group = world.server.call(
            "alice", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["bob", "carol"]}
        )
        gid, cid = group["groupID"], group["conversationID"]
        world.server.call(
            "alice", "POST", f"/api/groups/{gid}/role", {"userID": "bob", "roleLevel": 60}
        )
        owners = world.send("alice", "owner's", groupID=gid)["message"]
        carols = world.send("carol", "carol's", groupID=gid)["message"]
        bob = TidemarkClient(_transport(world), MemoryStore())
        await bob.login("bob", PASSWORD)
        carol = TidemarkClient(_transport(world), MemoryStore())
        await carol.login("carol", PASSWORD)
        with pytest.raises(RevokeNotAllowedError):
            await bob.revoke_message(cid, owners["clientMsgID"])  # an admin, the owner's
        with pytest.raises(RevokeNotAllowedError):
            await carol.revoke_message(cid, owners["clientMsgID"])
        tombstone = await bob.revoke_message(cid, carols["clientMsgID"])  # an admin, any other
        assert '"revokerRole": 60' in tombstone["notificationElem"]["detail"]
        with pytest.raises(MessageNotFoundError):
            await carol.revoke_message(cid, "nosuchmessage")
        notice = world.server.group(gid).messages[0]
        with pytest.raises(NotRevocableError):
            await carol.revoke_message(cid, notice["clientMsgID"])
        world.server.revoke_window_seconds = 0
        late = world.send("carol", "late", groupID=gid)["message"]
        with pytest.raises(RevokeTooLateError):
            await carol.revoke_message(cid, late["clientMsgID"])
        await bob.logout()
        await carol.logout()

    run(main())


def _transport(world: World) -> Any:
    from tests.sdk.fakes import FakeTransport

    return FakeTransport(world.server)
