"""Rule 6 under any order: events duplicated, reordered, late or lost, racing answers.

Whatever happens, once one more event reaches the client (revealing any gap, which the
client syncs), its cache equals a fresh full snapshot of the server, its versions and
read positions never went backwards, and no message was announced twice.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tidemark_sdk import MemoryStore, SqliteStore, Store

from tests.sdk.conftest import World, run

ALICE_BOB, ALICE_CAROL = "si_alice_bob", "si_alice_carol"

ACTIONS = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(["bob", "carol"]), st.sampled_from(["me", "group"])),
    st.tuples(st.just("peer_reads"), st.sampled_from(["bob", "carol"])),
    st.tuples(st.just("i_read"), st.sampled_from([ALICE_BOB, ALICE_CAROL, "group"])),
    st.tuples(st.just("i_read_elsewhere"), st.sampled_from([ALICE_BOB, "group"])),
    st.tuples(st.just("i_send"), st.sampled_from(["bob", "group"])),
    st.tuples(st.just("deliver"), st.booleans()),
    st.tuples(st.just("reconnect")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["memory", "sqlite"]),
    steps=st.lists(ACTIONS, max_size=14),
    data=st.data(),
)
def test_any_interleaving_converges_to_the_server(
    kind: str, steps: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    store: Store = MemoryStore() if kind == "memory" else SqliteStore(":memory:")
    try:
        run(_scenario(World(lambda: store), store, steps, data))
    finally:
        if isinstance(store, SqliteStore):
            store.close()


async def _scenario(
    world: World, store: Store, steps: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    server = world.server
    group = server.call(
        "bob", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["alice", "carol"]}
    )
    gid = group["groupID"]
    conversation_ids = {ALICE_BOB: ALICE_BOB, ALICE_CAROL: ALICE_CAROL, "group": f"sg_{gid}"}
    world.send("carol", recvID="alice")
    client, _ = await world.logged_in()
    announced: list[tuple[str, int]] = []
    client.on(
        "OnRecvNewMessages",
        lambda ms: announced.extend((m["conversationID"], m["seq"]) for m in ms),
    )
    server.hold = True
    held: list[dict[str, Any]] = []
    seen: dict[str, tuple[int, int, int]] = {}

    for step in steps:
        match step:
            case ("send", sender, "me"):
                world.send(sender, recvID="alice")
            case ("send", sender, _):
                world.send(sender, groupID=gid)
            case ("peer_reads", reader):
                if f"si_alice_{reader}" in server.conversations:
                    server.call(reader, "POST", f"/api/conversations/si_alice_{reader}/read", {})
            case ("i_read", which):
                cid = conversation_ids[which]
                if cid in server.conversations:
                    await client.mark_conversation_message_as_read(cid)
            case ("i_read_elsewhere", which):
                cid = conversation_ids[which]
                if cid in server.conversations:
                    server.call("alice", "POST", f"/api/conversations/{cid}/read", {})
            case ("i_send", "bob"):
                await client.send_message(await client.create_text_message("x"), recv_id="bob")
            case ("i_send", _):
                await client.send_message(await client.create_text_message("x"), group_id=gid)
            case ("deliver", keep):
                held += server.take_held("alice")
                if held:
                    order = data.draw(
                        st.lists(st.integers(0, len(held) - 1), max_size=2 * len(held))
                    )
                    for index in order:
                        server.deliver("alice", held[index])
                    if not keep:
                        held = []  # the rest are lost
                await world.settle()
            case ("reconnect",):
                server.drop_connections()
                await world.settle()
                world.clock.release()  # the backoff ends; on hello, the client catches up
        await world.settle()
        # Positions and versions never go backwards in the cache.
        for record in await store.conversations():
            now = (record["version"], record["hasReadSeq"], record["maxSeq"])
            before = seen.get(record["conversationID"], (0, 0, 0))
            assert all(a >= b for a, b in zip(now, before, strict=True)), (before, now)
            seen[record["conversationID"]] = now

    # One more event, delivered: it reveals any gap left, and the client syncs it.
    held += server.take_held("alice")
    server.hold = False
    world.send("bob", recvID="alice")
    await world.settle()
    for event in held:  # late duplicates of everything: harmless
        server.deliver("alice", event)
    await world.settle()

    expected = server.snapshot("alice")
    listed = await client.get_all_conversation_list()
    assert {c["conversationID"]: c for c in listed} == {
        cid: {**record, "draftText": "", "draftTextTime": 0} for cid, record in expected.items()
    }
    total = sum(c["maxSeq"] - c["hasReadSeq"] for c in expected.values())
    assert await client.get_total_unread_msg_count() == total
    meta = await store.load()
    assert meta is not None and meta["version"] == server.users["alice"]["version"]
    assert len(announced) == len(set(announced))
    await client.logout()
