"""One store write per confirmed change (rule 10), and none for what is held already.

The tab that makes a change gets it twice: in the server's answer and in the WebSocket
echo of the same version (rule 7). Each is applied, but only the first may reach the
store: in the browser every ``apply`` is an IndexedDB readwrite transaction, which also
holds up every other tab's writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from tidemark_sdk import Applied, Conversation, Message, Store, TidemarkClient

from tests.sdk.conftest import PASSWORD, World, run
from tests.sdk.fakes import FakeTransport

ALICE_BOB = "si_alice_bob"


class CountingStore:
    """A store that records every ``apply`` (and ``reset``) it is asked for."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.writes: list[tuple[str, list[str], list[int]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        ids = [c["conversationID"] for c in conversations]
        self.writes.append(("apply", ids, [m["seq"] for m in messages]))
        return await self.inner.apply(version, conversations, messages)

    async def reset(self, meta: Any, conversations: Any, messages: Any) -> None:
        self.writes.append(("reset", [c["conversationID"] for c in conversations], []))
        await self.inner.reset(meta, conversations, messages)


class SlowAnswers(FakeTransport):
    """HTTP answers that arrive after the WebSocket event of the same change."""

    def __init__(self, world: World) -> None:
        super().__init__(world.server)
        self.world = world

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        answer = await super().request(method, path, body, token)
        await self.world.settle()  # the echo is applied first
        return answer


async def counted_client(world: World, route: str) -> tuple[TidemarkClient, CountingStore]:
    """Alice logged in, her requests over ``route``: "socket", "http" (the answer first,
    as events are held back) or "http-event-first"."""
    store = CountingStore(world.store_factory())
    transport = SlowAnswers(world) if route == "http-event-first" else FakeTransport(world.server)
    world.transports.append(transport)
    client = TidemarkClient(
        transport,
        store,  # type: ignore[arg-type]
        sleep=world.clock.sleep,
        random=lambda: 0.5,
        receive_timeout=5.0,
        requests_over_socket=route == "socket",
    )
    await client.login("alice", PASSWORD)
    await world.settle()
    return client, store


ROUTES = ["socket", "http", "http-event-first"]


@pytest.mark.parametrize("route", ROUTES)
def test_mark_read_writes_the_store_once(world: World, route: str) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("bob", recvID="alice")
        client, store = await counted_client(world, route)
        store.writes.clear()
        world.server.hold = route == "http"  # the echo comes after the answer
        await client.mark_conversation_message_as_read(ALICE_BOB)
        for event in world.server.take_held("alice"):
            world.server.deliver("alice", event)
        world.server.hold = False
        await world.settle()
        assert store.writes == [("apply", [ALICE_BOB], [2])]
        assert await client.get_total_unread_msg_count() == 0
        assert world.server.snapshot("alice") == {
            c["conversationID"]: c for c in await store.conversations()
        }
        await client.logout()

    run(main())


@pytest.mark.parametrize("route", ROUTES)
def test_own_send_writes_the_store_once(world: World, route: str) -> None:
    async def main() -> None:
        client, store = await counted_client(world, route)
        store.writes.clear()
        world.server.hold = route == "http"
        sent = await client.send_message(await client.create_text_message("hi"), recv_id="bob")
        for event in world.server.take_held("alice"):
            world.server.deliver("alice", event)
        world.server.hold = False
        await world.settle()
        # The message twice in one write: given, and as the record's latest.
        assert store.writes == [("apply", [ALICE_BOB], [sent["seq"], sent["seq"]])]
        await client.logout()

    run(main())


def test_a_replayed_event_writes_nothing(world: World) -> None:
    async def main() -> None:
        client, store = await counted_client(world, "socket")
        world.server.hold = True
        world.send("bob", recvID="alice")
        (event,) = world.server.take_held("alice")
        world.server.hold = False
        for _ in range(3):
            world.server.deliver("alice", event)
        await world.settle()
        assert [kind for kind, _, _ in store.writes if kind == "apply"] == ["apply"]
        await client.logout()

    run(main())


def test_each_change_is_written(world: World) -> None:
    """The guard skips only what is held: a new message after a mark-read is written."""

    async def main() -> None:
        world.send("bob", recvID="alice")
        client, store = await counted_client(world, "socket")
        store.writes.clear()
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        world.send("bob", recvID="alice")
        await world.settle()
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        assert store.writes == [
            ("apply", [ALICE_BOB], [1]),
            ("apply", [ALICE_BOB], [2, 2]),
            ("apply", [ALICE_BOB], [2]),
        ]
        await client.logout()

    run(main())
