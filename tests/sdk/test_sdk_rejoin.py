"""The rejoin rule (issue 12): when a record's joinSeq grows, the store drops that
conversation's cached messages at or below it, in the same transaction.

Why: the server keeps one window per member (rule 11), reopened on a rejoin, so a
revocation of a message from an earlier window no longer reaches the rejoined member.
Without the rule, its old text would stay in their cache for good.
"""

from __future__ import annotations

from typing import Any

from tidemark_sdk import TidemarkClient

from tests.sdk.conftest import World, run
from tests.sdk.test_sdk_groups import act, make_group


async def texts(client: TidemarkClient, cid: str) -> list[tuple[int, str]]:
    """(seq, text) of every message the client's store holds in ``cid``."""
    store: Any = client._store  # type: ignore[attr-defined]
    found = []
    for message in await store.messages(cid, None, 1000):
        text = (message.get("textElem") or {}).get("content", "")
        found.append((message["seq"], text))
    return found


def test_a_rejoin_drops_the_earlier_window_live(world: World) -> None:
    async def main() -> None:
        bob, _ = await world.logged_in("bob")
        gid, cid = make_group(world)
        secret = world.send("alice", "the old secret", groupID=gid)["message"]
        await world.settle()
        assert (secret["seq"], "the old secret") in await texts(bob, cid)
        act(world, "alice", "POST", gid, "/kick", {"userIDList": ["bob"]})
        await world.settle()
        assert (secret["seq"], "the old secret") in await texts(bob, cid)  # read-only, kept
        act(world, "alice", "POST", gid, "/members", {"userIDList": ["bob"]})
        await world.settle()
        record = next(
            c for c in await bob.get_all_conversation_list() if c["conversationID"] == cid
        )
        assert record["joinSeq"] == record["maxSeq"] > secret["seq"]
        held = await texts(bob, cid)
        # Everything at or below the new joinSeq went, except the invitation that came
        # with the record (at joinSeq itself).
        assert [seq for seq, _ in held] == [record["joinSeq"]], held
        # The owner revokes the old message: the rejoined member is not told (the server's
        # window moved), and no old text is left to tell them about.
        world.server.call(
            "alice",
            "POST",
            f"/api/conversations/{cid}/revoke",
            {"clientMsgID": secret["clientMsgID"]},
        )
        await world.settle()
        assert all("secret" not in text for _, text in await texts(bob, cid))
        page = await bob.get_advanced_history_message_list(cid, 20)
        assert all(m["seq"] >= record["joinSeq"] for m in page["messageList"])
        assert all("secret" not in text for _, text in await texts(bob, cid))
        await bob.close()

    run(main())


def test_a_rejoin_seen_by_the_next_sync_drops_the_earlier_window(world: World) -> None:
    async def main() -> None:
        bob, _ = await world.logged_in("bob")
        gid, cid = make_group(world)
        world.send("alice", "the old secret", groupID=gid)
        await world.settle()
        await bob.close()  # the tab closes; the kick, the invitation and the revoke happen
        act(world, "alice", "POST", gid, "/kick", {"userIDList": ["bob"]})
        act(world, "alice", "POST", gid, "/members", {"userIDList": ["bob"]})
        secret = world.server.group(gid).messages[0]
        world.server.call(
            "alice",
            "POST",
            f"/api/conversations/{cid}/revoke",
            {"clientMsgID": secret["clientMsgID"]},
        )
        store = bob._store  # type: ignore[attr-defined]
        again, _ = world.client(store)
        assert await again.restore_session()
        await world.settle()
        held = await texts(again, cid)
        assert held and all("secret" not in text for _, text in held), held
        await again.close()

    run(main())


def test_a_stale_record_with_a_smaller_join_seq_drops_nothing(world: World) -> None:
    """Only a stored record replaced by a newer one with a larger joinSeq cuts: an
    unchanged joinSeq (a plain new message) keeps the history."""

    async def main() -> None:
        bob, _ = await world.logged_in("bob")
        gid, cid = make_group(world)
        for n in range(3):
            world.send("alice", f"m{n}", groupID=gid)
        await world.settle()
        await bob.get_advanced_history_message_list(cid, 20)
        before = await texts(bob, cid)
        world.send("carol", "more", groupID=gid)
        await world.settle()
        assert (await texts(bob, cid))[: len(before)] == before
        await bob.close()

    run(main())
