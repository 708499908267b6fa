"""Issue 11 in the SDK, against the fake server: mute and mark-unread in the total (rules
13, 15), the stale mark-read judged by version, mark-all-read, hide, pin, drafts, @
messages and mentions (rule 14). Each test fails if its rule breaks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tidemark_sdk import (
    ConversationNotFoundError,
    MemoryStore,
    NotGroupMemberError,
    TidemarkClient,
    ValidationFailedError,
    contribution,
)

from tests.sdk.conftest import PASSWORD, Recorder, World, run
from tests.sdk.fakes import FakeTransport

ALICE_BOB = "si_alice_bob"
ALICE_CAROL = "si_alice_carol"
CONVERSATION = "/api/conversations/"


def totals(events: Recorder) -> list[int]:
    return events.of("OnTotalUnreadMessageCountChanged")


async def record(client: TidemarkClient, cid: str = ALICE_BOB) -> Any:
    kind, source = (3, cid.removeprefix("sg_")) if cid.startswith("sg_") else (1, "bob")
    if cid == ALICE_CAROL:
        source = "carol"
    return await client.get_one_conversation(source, kind)


async def other_device(world: World, user: str = "alice") -> TidemarkClient:
    """The same user on another device: its own cache."""
    client, _ = world.client(MemoryStore())
    await client.login(user, PASSWORD)
    await world.settle()
    return client


def test_muting_changes_the_total_once_and_muted_messages_fire_no_total(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        client, _ = await world.logged_in()
        device2 = await other_device(world)
        events, events2 = Recorder(client), Recorder(device2)
        assert await client.get_total_unread_msg_count() == 3
        await client.set_conversation_recv_message_opt(ALICE_BOB, 2)
        await world.settle()
        # Once, on both devices; the count stays on the record (rule 13).
        assert totals(events) == [1] and totals(events2) == [1]
        muted = await record(client)
        assert (muted["recvMsgOpt"], muted["unreadCount"]) == (2, 2)
        assert contribution(muted) == 0
        # A message in the muted conversation: its count moves, the total does not.
        events.clear()
        world.send("bob", recvID="alice")
        await world.settle()
        assert totals(events) == [] and "OnRecvNewMessages" in events.names()
        assert (await record(client))["unreadCount"] == 3
        assert await client.get_total_unread_msg_count() == 1
        # Muting again changes nothing at all: no version, no event.
        events.clear()
        await client.set_conversation_recv_message_opt(ALICE_BOB, 2)
        await world.settle()
        assert events.data_events() == []
        await client.set_conversation_recv_message_opt(ALICE_BOB, 0)
        await world.settle()
        assert totals(events) == [4] and totals(events2)[-1] == 4
        assert await device2.get_total_unread_msg_count() == 4
        with pytest.raises(ValidationFailedError, match="not supported"):
            await client.set_conversation_recv_message_opt(ALICE_BOB, 1)
        # A muted conversation with nothing unread: muting it changes no total.
        await client.mark_conversation_message_as_read(ALICE_CAROL)
        events.clear()
        await client.set_conversation_recv_message_opt(ALICE_CAROL, 2)
        assert totals(events) == [] and "OnConversationChanged" in events.names()
        await device2.logout()
        await client.logout()

    run(main())


def test_mark_unread_counts_one_until_a_later_mark_read(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        device2 = await other_device(world)
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        events, events2 = Recorder(client), Recorder(device2)
        before = (await record(client))["hasReadSeq"]
        await client.mark_conversation_as_unread(ALICE_BOB)
        await world.settle()
        flagged = await record(client)
        # A flag, never a step back (rules 3, 15).
        assert (flagged["isMarkedUnread"], flagged["hasReadSeq"]) == (True, before)
        assert totals(events) == [1] and totals(events2) == [1]
        # Twice: nothing.
        events.clear()
        await client.mark_conversation_as_unread(ALICE_BOB)
        assert events.data_events() == []
        # Muted, it adds 0 even marked.
        await client.set_conversation_recv_message_opt(ALICE_BOB, 2)
        assert totals(events) == [0]
        await client.set_conversation_recv_message_opt(ALICE_BOB, 0)
        assert totals(events) == [0, 1]
        # A mark-read on the other device (which has seen the flag) clears it everywhere,
        # though no position moves.
        await device2.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        assert (await record(client))["isMarkedUnread"] is False
        assert totals(events)[-1] == 0 and totals(events2)[-1] == 0
        assert await client.get_total_unread_msg_count() == 0
        await device2.logout()
        await client.logout()

    run(main())


@pytest.mark.parametrize("over_socket", [True, False])
def test_a_stale_mark_read_does_not_clear_the_flag(world: World, over_socket: bool) -> None:
    """Device 1 marks read with the record it holds, from before device 2's flag: the
    flag survives (rule 15, judged by version), over the socket and over HTTP."""

    async def main() -> None:
        world.send("bob", recvID="alice")
        device1 = TidemarkClient(
            FakeTransport(world.server), MemoryStore(), requests_over_socket=over_socket
        )
        await device1.login("alice", PASSWORD)
        device2 = await other_device(world)
        await world.settle()
        held_version = (await record(device1))["version"]
        bodies: list[Any] = []
        handle = world.server.handle

        def recording(method: str, path: str, body: Any, token: Any) -> Any:
            if path.endswith("/read"):
                bodies.append(body)
            return handle(method, path, body, token)

        world.server.handle = recording  # type: ignore[method-assign]
        world.server.hold = True  # device 1 does not hear of the flag yet
        await device2.mark_conversation_as_unread(ALICE_BOB)
        await device1.mark_conversation_message_as_read(ALICE_BOB)
        assert bodies[-1] == {"version": held_version}
        assert world.server.snapshot("alice")[ALICE_BOB]["isMarkedUnread"] is True
        # The flag reaches device 1 late: it shows, and counts.
        world.server.hold = False
        for frame in world.server.take_held("alice"):
            world.server.deliver("alice", frame)
        await world.settle()
        assert (await record(device1))["isMarkedUnread"] is True
        assert await device1.get_total_unread_msg_count() == 1
        # Now device 1 has seen it: its next mark-read clears it.
        await device1.mark_conversation_message_as_read(ALICE_BOB)
        assert (await record(device1))["isMarkedUnread"] is False
        assert await device1.get_total_unread_msg_count() == 0
        await world.settle()
        assert (await record(device2))["isMarkedUnread"] is False
        await device1.logout()
        await device2.logout()

    run(main())


def test_mark_all_read_is_one_version_and_one_event(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        group = world.server.call(
            "bob", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["alice"]}
        )
        world.send("bob", groupID=group["groupID"])
        client, _ = await world.logged_in()
        device2 = await other_device(world)
        await client.mark_conversation_message_as_read(ALICE_CAROL)
        await client.mark_conversation_as_unread(ALICE_CAROL)
        await world.settle()
        events, events2 = Recorder(client), Recorder(device2)
        version = world.server.users["alice"]["version"]
        await client.mark_all_conversation_message_as_read()
        await world.settle()
        assert world.server.users["alice"]["version"] == version + 1
        assert totals(events) == [0] and totals(events2) == [0]
        (changed,) = events.of("OnConversationChanged")
        assert {c["conversationID"] for c in changed} == {
            ALICE_BOB,
            ALICE_CAROL,
            group["conversationID"],
        }
        (changed2,) = events2.of("OnConversationChanged")
        assert len(changed2) == 3
        assert all(c["unreadCount"] == 0 and not c["isMarkedUnread"] for c in changed)
        # Nothing left to do: no version, no event.
        events.clear()
        await client.mark_all_conversation_message_as_read()
        assert world.server.users["alice"]["version"] == version + 1
        assert events.data_events() == []
        await device2.logout()
        await client.logout()

    run(main())


def test_mark_all_read_spares_a_flag_this_cache_has_not_seen(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        device2 = await other_device(world)
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        world.server.hold = True
        await device2.mark_conversation_as_unread(ALICE_BOB)
        world.send("carol", recvID="alice")
        await client.mark_all_conversation_message_as_read()
        assert world.server.snapshot("alice")[ALICE_BOB]["isMarkedUnread"] is True
        assert world.server.snapshot("alice")[ALICE_CAROL]["unreadCount"] == 0
        world.server.hold = False
        for frame in world.server.take_held("alice"):
            world.server.deliver("alice", frame)
        await world.settle()
        assert await client.get_total_unread_msg_count() == 1
        await device2.logout()
        await client.logout()

    run(main())


def test_hidden_records_leave_the_lists_until_a_new_message(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        client, _ = await world.logged_in()
        events = Recorder(client)
        await client.hide_conversation(ALICE_BOB)
        listed = [c["conversationID"] for c in await client.get_all_conversation_list()]
        assert listed == [ALICE_CAROL]
        assert await client.get_conversation_list_split(0, 10) == (
            await client.get_all_conversation_list()
        )
        hidden = await record(client)
        # Read first: a hidden conversation never holds unread the user cannot see.
        assert (hidden["isHidden"], hidden["unreadCount"]) == (True, 0)
        assert totals(events) == [1]
        world.send("bob", recvID="alice")
        await world.settle()
        listed = [c["conversationID"] for c in await client.get_all_conversation_list()]
        assert listed == [ALICE_BOB, ALICE_CAROL]
        assert (await record(client))["isHidden"] is False
        # Marking unread shows a hidden record again.
        await client.hide_conversation(ALICE_BOB)
        await client.mark_conversation_as_unread(ALICE_BOB)
        assert ALICE_BOB in {c["conversationID"] for c in await client.get_all_conversation_list()}
        await client.logout()

    run(main())


def test_pinned_first_then_latest_activity_drafts_included(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        client, _ = await world.logged_in()

        async def order() -> list[str]:
            return [c["conversationID"] for c in await client.get_all_conversation_list()]

        assert await order() == [ALICE_CAROL, ALICE_BOB]
        await client.pin_conversation(ALICE_BOB, True)
        assert await order() == [ALICE_BOB, ALICE_CAROL]
        assert (await record(client))["isPinned"] is True
        await client.pin_conversation(ALICE_BOB, False)
        assert await order() == [ALICE_CAROL, ALICE_BOB]
        # A draft newer than the last message counts as activity (OpenIM's order).
        await client.set_conversation_draft(ALICE_BOB, "typing…")
        assert await order() == [ALICE_BOB, ALICE_CAROL]
        await client.logout()

    run(main())


def test_drafts_survive_reload_and_snapshot_but_not_a_user_switch(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        events = Recorder(client)
        await client.set_conversation_draft(ALICE_BOB, "see you")
        (changed,) = events.of("OnConversationChanged")
        assert changed[0]["draftText"] == "see you" and changed[0]["draftTextTime"] > 0
        assert "OnTotalUnreadMessageCountChanged" not in events.names()
        # The same text again: nothing.
        await client.set_conversation_draft(ALICE_BOB, "see you")
        assert len(events.of("OnConversationChanged")) == 1
        with pytest.raises(ConversationNotFoundError):
            await client.set_conversation_draft("si_alice_nobody", "x")
        await client.close()
        # A reload: the draft is there; a live change keeps it on the record.
        client2, _ = world.client()
        assert await client2.restore_session()
        assert (await record(client2))["draftText"] == "see you"
        events2 = Recorder(client2)
        world.send("bob", recvID="alice")
        await world.settle()
        (changed,) = events2.of("OnConversationChanged")
        assert changed[0]["draftText"] == "see you"
        # A full snapshot (another epoch) keeps this device's drafts.
        world.server.new_epoch()
        world.send("bob", recvID="alice")
        await world.settle()
        assert (await record(client2))["draftText"] == "see you"
        await client2.logout()
        # Another user on this device: not alice's draft.
        client3, _ = world.client()
        await client3.login("bob", PASSWORD)
        assert (await client3.get_one_conversation("alice", 1))["draftText"] == ""
        await client3.logout()
        client4, _ = world.client()
        await client4.login("alice", PASSWORD)
        assert (await record(client4))["draftText"] == ""
        # Cleared with "".
        await client4.set_conversation_draft(ALICE_BOB, "again")
        await client4.set_conversation_draft(ALICE_BOB, "")
        assert (await record(client4))["draftTextTime"] == 0
        await client4.logout()

    run(main())


def test_at_messages_and_mentions_are_positions(world: World) -> None:
    async def main() -> None:
        group = world.server.call(
            "bob", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["alice", "carol"]}
        )
        gid, cid = group["groupID"], group["conversationID"]
        alice, _ = await world.logged_in()
        bob = await other_device(world, "bob")
        message = await bob.create_text_at_message(
            "@Alice look", ["alice"], [{"atUserID": "alice", "groupNickname": "Alice"}]
        )
        assert (message["contentType"], message["textElem"]) == (106, None)
        assert message["atTextElem"] == {
            "text": "@Alice look",
            "atUserList": ["alice"],
            "atUsersInfo": [{"atUserID": "alice", "groupNickname": "Alice"}],
        }
        sent = await bob.send_message(message, group_id=gid)
        assert sent["contentType"] == 106 and sent["atTextElem"]["atUserList"] == ["alice"]
        everyone = await bob.create_text_at_message("all", [bob.get_at_all_tag()])
        await bob.send_message(everyone, group_id=gid)
        await world.settle()
        mine = await record(alice, cid)
        assert (mine["groupAtType"], mine["mentionCount"]) == (3, 2)
        # The sender's own mention of everyone is not theirs to read.
        assert (await bob.get_one_conversation(gid, 3))["groupAtType"] == 0
        await alice.reset_conversation_group_at_type(cid)
        reset = await record(alice, cid)
        assert (reset["groupAtType"], reset["mentionCount"], reset["unreadCount"]) == (0, 0, 2)
        await bob.send_message(await bob.create_text_at_message("again", ["alice"]), group_id=gid)
        await world.settle()
        assert (await record(alice, cid))["groupAtType"] == 1
        # A mark-read clears the mentions (rule 14); a reload does not bring them back.
        await alice.mark_conversation_message_as_read(cid)
        assert (await record(alice, cid))["mentionCount"] == 0
        await alice.close()
        again, _ = world.client()
        assert await again.restore_session()
        assert (await record(again, cid))["groupAtType"] == 0
        await again.logout()
        await bob.logout()

    run(main())


@pytest.mark.parametrize(
    ("args", "kwargs", "why"),
    [
        (("", ["bob"]), {}, "text"),
        (("x" * 4001, ["bob"]), {}, "text"),
        (("hi", []), {}, "atUserIDList"),
        (("hi", ["bob", "bob"]), {}, "repeat"),
        (("hi", [f"u{i}" for i in range(101)]), {}, "atUserIDList"),
        (("hi", ["bob"], [{"atUserID": "carol", "groupNickname": "C"}]), {}, "carol"),
        (("hi", ["bob"], [{"atUserID": "bob", "groupNickname": ""}]), {}, "groupNickname"),
        (("hi", ["bob"], [{"atUserID": "bob", "groupNickname": "x" * 65}]), {}, "groupNickname"),
        (("hi", ["bob"]), {"quote": {"clientMsgID": "x"}}, "quoting"),
    ],
)
def test_create_text_at_message_checks_its_arguments(
    world: World, args: tuple[Any, ...], kwargs: dict[str, Any], why: str
) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        with pytest.raises(ValidationFailedError, match=why):
            await client.create_text_at_message(*args, **kwargs)
        await client.logout()

    run(main())


def test_an_at_message_goes_to_groups_only(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        message = await client.create_text_at_message("hi", ["bob"])
        with pytest.raises(ValidationFailedError, match="group"):
            await client.send_message(message, recv_id="bob")
        group = await client.create_group("G", ["bob"])
        outsider = await client.create_text_at_message("hi", ["carol"])
        with pytest.raises(ValidationFailedError, match="carol"):
            await client.send_message(outsider, group_id=group["groupID"])
        await client.logout()

    run(main())


def test_a_left_group_cannot_be_marked_unread(world: World) -> None:
    async def main() -> None:
        group = world.server.call(
            "bob", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["alice"]}
        )
        client, _ = await world.logged_in()
        await client.quit_group(group["groupID"])
        with pytest.raises(NotGroupMemberError):
            await client.mark_conversation_as_unread(group["conversationID"])
        # Muting and pinning stay allowed on the read-only record (it is my view).
        await client.pin_conversation(group["conversationID"], True)
        assert (await record(client, group["conversationID"]))["isPinned"] is True
        await asyncio.sleep(0)
        await client.logout()

    run(main())
