"""The client's rules (DESIGN.md 2-10) against the fake server, on both stores."""

from __future__ import annotations

import asyncio

import pytest
from tidemark_sdk import (
    AlreadyLoggedInError,
    BadCredentialsError,
    ConversationNotFoundError,
    ErrorCode,
    LoginStatus,
    NetworkError,
    NotLoggedInError,
    ServerError,
    TidemarkClient,
    TokenExpiredError,
)

from tests.sdk.conftest import PASSWORD, Recorder, World, run

ALICE_BOB = "si_alice_bob"


DRAFT_FIELDS = ("draftText", "draftTextTime")


async def cached(client: TidemarkClient) -> dict[str, dict]:
    """The list as the server's records: this device's draft fields left out."""
    return {
        c["conversationID"]: {k: v for k, v in c.items() if k not in DRAFT_FIELDS}
        for c in await client.get_all_conversation_list()
    }


def test_login_waits_for_the_first_sync_and_fills_the_cache(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("bob", recvID="alice")
        group = world.server.call(
            "bob", "POST", "/api/groups", {"groupName": "G", "memberUserIDs": ["alice"]}
        )
        world.send("carol", recvID="alice")
        client, _ = world.client()
        events = Recorder(client)

        assert await client.login("alice", PASSWORD) == {"userID": "alice", "nickname": "Alice"}

        assert await client.get_login_status() == LoginStatus.LOGGED_IN
        assert await client.get_total_unread_msg_count() == 3
        listed = await client.get_all_conversation_list()
        # Newest activity first; the group has no message, so it sorts by creation.
        assert [c["conversationID"] for c in listed] == [
            "si_alice_carol",
            group["conversationID"],
            ALICE_BOB,
        ]
        assert [c["unreadCount"] for c in listed] == [1, 0, 2]
        split = await client.get_conversation_list_split(1, 1)
        assert [c["conversationID"] for c in split] == [group["conversationID"]]
        one = await client.get_one_conversation("bob", 1)
        assert (one["conversationID"], one["showName"], one["maxSeq"]) == (ALICE_BOB, "Bob", 2)
        assert (await client.get_one_conversation(group["groupID"], 3))["showName"] == "G"
        with pytest.raises(ConversationNotFoundError):
            await client.get_one_conversation("nobody", 1)
        # A full snapshot on first login announces conversations, never messages.
        assert events.names()[0] == "OnSyncServerStart"
        assert "OnSyncServerFinish" in events.names()
        assert "OnRecvNewMessages" not in events.names()
        assert len(events.of("OnNewConversation")[0]) == 3
        assert events.of("OnTotalUnreadMessageCountChanged") == [3]
        await client.logout()
        assert await client.get_login_status() == LoginStatus.LOGGED_OUT

    run(main())


def test_queries_wait_for_the_first_sync(world: World) -> None:
    """OpenIM's "total unread is 0 right after login": never answer from an unsynced cache."""

    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("bob", recvID="alice")
        client, transport = world.client()
        gate = transport.gates["/api/sync"] = asyncio.Event()
        login = asyncio.create_task(client.login("alice", PASSWORD))
        total = asyncio.create_task(client.get_total_unread_msg_count())
        listing = asyncio.create_task(client.get_all_conversation_list())
        await world.settle()
        assert await client.get_login_status() == LoginStatus.LOGGING_IN
        assert not (login.done() or total.done() or listing.done())
        gate.set()
        await login
        assert await total == 2
        assert [c["unreadCount"] for c in await listing] == [2]
        await client.logout()

    run(main())


def test_queries_need_a_login(world: World) -> None:
    async def main() -> None:
        client, _ = world.client()
        with pytest.raises(NotLoggedInError) as raised:
            await client.get_total_unread_msg_count()
        assert raised.value.err_code == ErrorCode.NOT_LOGGED_IN == 10001
        with pytest.raises(BadCredentialsError):
            await client.login("alice", "wrong password")
        assert await client.get_login_status() == LoginStatus.LOGGED_OUT
        await client.login("alice", PASSWORD)
        with pytest.raises(AlreadyLoggedInError):
            await client.login("alice", PASSWORD)
        await client.logout()

    run(main())


def test_live_message_is_announced_once_with_absolute_counts(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        sent = world.send("bob", "hello", recvID="alice")["message"]
        await world.settle()
        assert events.data_events() == [
            ("OnNewConversation", [(await client.get_all_conversation_list())[0]]),
            ("OnRecvNewMessages", [sent]),
            ("OnTotalUnreadMessageCountChanged", 1),
        ]
        events.clear()
        world.send("bob", "again", recvID="alice")
        await world.settle()
        assert [name for name, _ in events.data_events()] == [
            "OnConversationChanged",
            "OnRecvNewMessages",
            "OnTotalUnreadMessageCountChanged",
        ]
        assert events.of("OnTotalUnreadMessageCountChanged") == [2]
        await client.logout()

    run(main())


def test_duplicated_event_changes_nothing_and_emits_nothing(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        world.server.hold = True
        world.send("bob", recvID="alice")
        (event,) = world.server.take_held("alice")
        world.server.deliver("alice", event)
        await world.settle()
        events = Recorder(client)
        before = await cached(client)
        for _ in range(3):
            world.server.deliver("alice", event)
        await world.settle()
        assert events.events == []
        assert await cached(client) == before
        assert await client.get_total_unread_msg_count() == 1
        await client.logout()

    run(main())


def test_reordered_events_converge_and_announce_each_message_once(world: World) -> None:
    async def main() -> None:
        client, transport = await world.logged_in()
        events = Recorder(client)
        world.server.hold = True
        sent = [world.send("bob", f"m{i}", recvID="alice")["message"] for i in range(3)]
        held = world.server.take_held("alice")
        world.server.hold = False
        for event in reversed(held):
            world.server.deliver("alice", event)
        await world.settle()
        # The first one delivered was two versions ahead: a gap, so a sync ran.
        assert world.server.requests.count(("GET", "/api/sync")) == 2
        assert await cached(client) == world.server.snapshot("alice")
        announced = [m for batch in events.of("OnRecvNewMessages") for m in batch]
        assert sorted(m["seq"] for m in announced) == [1, 2, 3]
        assert {m["serverMsgID"] for m in announced} == {m["serverMsgID"] for m in sent}
        assert events.of("OnTotalUnreadMessageCountChanged")[-1] == 3
        assert transport.server.users["alice"]["version"] == 3
        await client.logout()

    run(main())


def test_dropped_event_is_revealed_by_the_next_one_and_synced(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        world.server.hold = True
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        _lost, last = world.server.take_held("alice")
        world.server.deliver("alice", last)
        await world.settle()
        assert set(await cached(client)) == {ALICE_BOB, "si_alice_carol"}
        assert await cached(client) == world.server.snapshot("alice")
        assert await client.get_total_unread_msg_count() == 2
        await client.logout()

    run(main())


def test_late_event_never_regresses_a_newer_record(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        world.send("bob", recvID="alice")
        await world.settle()
        world.server.hold = True
        world.send("bob", recvID="alice")
        (old_event,) = world.server.take_held("alice")
        world.server.hold = False
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        events = Recorder(client)
        world.server.deliver("alice", old_event)  # older version, says 1 unread
        await world.settle()
        assert (await cached(client))[ALICE_BOB]["unreadCount"] == 0
        assert await client.get_total_unread_msg_count() == 0
        assert events.data_events() == []  # already read by the answer: not announced
        await client.logout()

    run(main())


@pytest.mark.parametrize("event_first", [True, False])
def test_mark_read_answer_racing_its_event(world: World, event_first: bool) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        world.send("bob", recvID="alice")
        world.send("bob", recvID="alice")
        await world.settle()
        events = Recorder(client)
        world.server.hold = True
        await client.mark_conversation_message_as_read(ALICE_BOB)
        # Rule 4: the answer alone was applied and announced before the call returned.
        assert events.of("OnTotalUnreadMessageCountChanged") == [0]
        (event,) = world.server.take_held("alice")
        world.server.hold = False
        if event_first:
            # The event is replayed before and after: both harmless.
            world.server.deliver("alice", event)
        world.server.deliver("alice", event)
        await world.settle()
        assert events.of("OnTotalUnreadMessageCountChanged") == [0]
        assert len(events.of("OnConversationChanged")) == 1
        assert await cached(client) == world.server.snapshot("alice")
        await client.logout()

    run(main())


def test_mark_read_answer_with_a_version_gap_syncs_the_rest(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        world.server.hold = True
        world.send("carol", recvID="alice")  # its event is lost
        world.send("bob", recvID="alice")
        world.server.take_held("alice")
        world.server.hold = False
        await client.mark_conversation_message_as_read(ALICE_BOB)
        await world.settle()
        assert await cached(client) == world.server.snapshot("alice")
        assert await client.get_total_unread_msg_count() == 1  # carol's, found by the sync
        await client.logout()

    run(main())


def test_idempotent_answer_does_not_claim_an_unseen_version(world: World) -> None:
    """A mark-read that changes nothing reports the current version, which it did not cause."""

    async def main() -> None:
        client, _ = await world.logged_in()
        world.send("bob", recvID="alice")
        await world.settle()
        await client.mark_conversation_message_as_read(ALICE_BOB)
        world.server.hold = True
        world.send("carol", recvID="alice")  # version +1, its event lost
        world.server.take_held("alice")
        world.server.hold = False
        await client.mark_conversation_message_as_read(ALICE_BOB)  # nothing moves
        await world.settle()
        assert "si_alice_carol" in await cached(client)
        assert await client.get_total_unread_msg_count() == 1
        await client.logout()

    run(main())


@pytest.mark.parametrize(
    "failure", [NetworkError("offline"), ServerError("boom")], ids=["network", "server"]
)
def test_failed_mark_read_leaves_the_cache_and_emits_nothing(world: World, failure) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, transport = await world.logged_in()
        before = await cached(client)
        events = Recorder(client)
        transport.failures["/api/conversations/"] = failure
        with pytest.raises(type(failure)) as raised:
            await client.mark_conversation_message_as_read(ALICE_BOB)
        assert raised.value.err_code == failure.err_code
        assert await cached(client) == before
        assert await client.get_total_unread_msg_count() == 1
        # A network failure also loses the socket the request went on: only that shows.
        assert [n for n in events.names() if not n.startswith("OnConnect")] == []
        with pytest.raises(ConversationNotFoundError):
            await client.mark_conversation_message_as_read("si_bob_carol")
        assert await cached(client) == before
        await client.logout()

    run(main())


def test_mark_read_asks_the_server_even_when_the_cache_says_zero(world: World) -> None:
    """OpenIM's "unread can never be cleared": mark-read returned early on a local 0."""

    async def main() -> None:
        client, _ = await world.logged_in()
        world.send("bob", recvID="alice")
        await world.settle()
        await client.mark_conversation_message_as_read(ALICE_BOB)
        world.server.hold = True
        world.send("bob", recvID="alice")  # the cache does not know yet
        assert (await cached(client))[ALICE_BOB]["unreadCount"] == 0
        await client.mark_conversation_message_as_read(ALICE_BOB)
        assert world.server.requests.count(("POST", "/api/conversations/si_alice_bob/read")) == 2
        assert world.server.snapshot("alice")[ALICE_BOB]["hasReadSeq"] == 2
        assert (await cached(client))[ALICE_BOB]["hasReadSeq"] == 2
        await client.logout()

    run(main())


def test_receipt_updates_the_peer_position_never_my_counts(world: World) -> None:
    """OpenIM's "peer reading my message lowers my total"."""

    async def main() -> None:
        world.send("bob", recvID="alice")
        world.send("carol", recvID="alice")
        client, _ = await world.logged_in()
        mine = await client.send_message(await client.create_text_message("hey"), recv_id="bob")
        await world.settle()
        assert (await cached(client))[ALICE_BOB]["peerHasReadSeq"] == 1
        assert await client.get_total_unread_msg_count() == 1  # carol's; sending read bob's
        events = Recorder(client)
        world.server.hold = True
        world.server.call("bob", "POST", "/api/conversations/si_alice_bob/read", {})
        (receipt,) = world.server.take_held("alice")
        world.server.hold = False
        world.server.deliver("alice", receipt)
        world.server.deliver("alice", receipt)  # replayed: no news
        await world.settle()
        assert events.of("OnRecvC2CReadReceipt") == [
            [{"conversationID": ALICE_BOB, "userID": "bob", "hasReadSeq": mine["seq"]}]
        ]
        assert "OnTotalUnreadMessageCountChanged" not in events.names()
        record = (await cached(client))[ALICE_BOB]
        assert (record["peerHasReadSeq"], record["unreadCount"]) == (mine["seq"], 0)
        assert await client.get_total_unread_msg_count() == 1
        await client.logout()

    run(main())


def test_sending_applies_the_answer_and_is_not_announced_as_received(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        message = await client.create_text_message("hello bob")
        assert len(message["clientMsgID"]) == 32 and message["sendID"] == "alice"
        sent = await client.send_message(message, recv_id="bob")
        assert (sent["seq"], sent["clientMsgID"], sent["textElem"]["content"]) == (
            1,
            message["clientMsgID"],
            "hello bob",
        )
        assert events.names() == ["OnNewConversation"]  # applied before returning
        await world.settle()  # then the echo event comes: nothing new in it
        assert "OnRecvNewMessages" not in events.names()
        group = await client.create_group("team", ["bob", "carol"])
        assert (await client.get_one_conversation(group["groupID"], 3))["conversationID"] == group[
            "conversationID"
        ]
        await client.send_message(
            await client.create_text_message("all"), group_id=group["groupID"]
        )
        await world.settle()
        assert await client.get_total_unread_msg_count() == 0
        assert await cached(client) == world.server.snapshot("alice")
        await client.logout()

    run(main())


def test_own_message_from_another_device_is_announced(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        sent = world.send("alice", "from my phone", recvID="bob")["message"]
        await world.settle()
        assert events.of("OnRecvNewMessages") == [[sent]]
        assert await client.get_total_unread_msg_count() == 0
        await client.logout()

    run(main())


def test_history_pages_oldest_first_and_falls_back_to_the_cache(world: World) -> None:
    async def main() -> None:
        for i in range(5):
            world.send("bob", f"m{i + 1}", recvID="alice")
        client, transport = await world.logged_in()
        page = await client.get_advanced_history_message_list(ALICE_BOB, 2, 0)
        assert [m["seq"] for m in page["messageList"]] == [4, 5]
        assert (page["isEnd"], page["lastMinSeq"]) == (False, 4)
        page = await client.get_advanced_history_message_list(ALICE_BOB, 2, page["lastMinSeq"])
        assert [m["seq"] for m in page["messageList"]] == [2, 3]
        page = await client.get_advanced_history_message_list(ALICE_BOB, 2, page["lastMinSeq"])
        assert ([m["seq"] for m in page["messageList"]], page["isEnd"]) == ([1], True)
        transport.offline = True
        offline = await client.get_advanced_history_message_list(ALICE_BOB, 3, 0)
        assert [m["textElem"]["content"] for m in offline["messageList"]] == ["m3", "m4", "m5"]
        assert (offline["isEnd"], offline["lastMinSeq"]) == (False, 3)
        await client.logout()

    run(main())


def test_restart_from_cache_syncs_incrementally(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        await client.mark_conversation_message_as_read(ALICE_BOB)
        client2, _ = world.client()  # a "reload": new client, same cache, saved session
        # While the page was closed: a new message, and the read position moved elsewhere.
        world.send("carol", recvID="alice")
        world.send("bob", recvID="alice")
        world.server.call("alice", "POST", "/api/conversations/si_alice_bob/read", {})
        events = Recorder(client2)
        world.server.requests.clear()
        assert await client2.restore_session()
        assert await client2.get_login_status() == LoginStatus.LOGGED_IN
        await world.settle()
        assert ("GET", "/api/sync") in world.server.requests
        assert await cached(client2) == world.server.snapshot("alice")
        # Carol's message is unread: news. Bob's was read elsewhere: not news.
        (news,) = events.of("OnRecvNewMessages")
        assert [m["sendID"] for m in news] == ["carol"]
        assert events.of("OnTotalUnreadMessageCountChanged") == [1]
        await client2.logout()
        await client.logout()

    run(main())


def test_epoch_change_drops_the_cache(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        await client.logout()
        # Another database: what the old cache holds must not survive.
        world.server.new_epoch()
        del world.server.conversations[ALICE_BOB]
        world.send("carol", recvID="alice")
        client2, _ = world.client()
        events = Recorder(client2)
        await client2.login("alice", PASSWORD)
        assert set(await cached(client2)) == {"si_alice_carol"}
        assert await client2.get_total_unread_msg_count() == 1
        assert "OnRecvNewMessages" not in events.names()
        await client2.logout()

    run(main())


def test_live_event_from_another_epoch_triggers_a_full_sync(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        world.server.new_epoch()
        world.send("carol", recvID="alice")
        await world.settle()
        assert await cached(client) == world.server.snapshot("alice")
        await client.logout()

    run(main())


def test_another_users_cache_is_never_shown(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        await client.logout()
        client2, transport = world.client()
        transport.failures["/api/sync"] = NetworkError("offline")
        await client2.login("carol", PASSWORD)
        assert await client2.get_all_conversation_list() == []
        await client2.logout()

    run(main())


def test_sync_failure_answers_from_the_cache_and_says_so(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, _ = await world.logged_in()
        client2, transport = world.client()  # a reload while the server is unreachable
        transport.offline = True
        events = Recorder(client2)
        assert await client2.restore_session()
        assert await client2.get_login_status() == LoginStatus.LOGGED_IN
        (failed,) = events.of("OnSyncServerFailed")
        assert failed["errCode"] == ErrorCode.NETWORK_ERROR == 10000
        assert await client2.get_total_unread_msg_count() == 1
        assert [c["conversationID"] for c in await client2.get_all_conversation_list()] == [
            ALICE_BOB
        ]
        await world.settle()
        assert "OnConnectFailed" in events.names()
        await client2.logout()
        await client.logout()

    run(main())


def test_expired_token_on_a_request_logs_out(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        world.server.expired_tokens.update(world.server.tokens)
        with pytest.raises(TokenExpiredError):
            await client.mark_conversation_message_as_read(ALICE_BOB)
        assert events.of("OnUserTokenExpired") == [
            {"errCode": 1102, "errMsg": "token expired: log in again"}
        ]
        assert await client.get_login_status() == LoginStatus.LOGGED_OUT
        client2, _ = world.client()
        assert not await client2.restore_session()  # the session was forgotten

    run(main())


def test_revoked_token_on_reconnect_logs_out(world: World) -> None:
    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        world.server.tokens.clear()
        world.server.drop_connections()
        await world.settle()
        world.clock.release()  # the backoff sleep ends: reconnect, refused
        await world.settle()
        assert events.of("OnUserTokenExpired") == [
            {"errCode": 1101, "errMsg": "unknown or revoked token"}
        ]
        assert await client.get_login_status() == LoginStatus.LOGGED_OUT

    run(main())


def test_socket_closed_for_idleness_reconnects_without_logging_out(world: World) -> None:
    """The server closes an idle socket with errCode 1101 too; only HTTP can tell."""

    async def main() -> None:
        client, _ = await world.logged_in()
        events = Recorder(client)
        (connection,) = world.server.connections
        connection.push({"type": "error", "errCode": 1101, "errMsg": "no heartbeat"})
        connection.push_close()
        await world.settle()
        world.clock.release()
        await world.settle()
        assert "OnUserTokenExpired" not in events.names()
        assert events.names().count("OnConnectSuccess") == 1
        assert await client.get_login_status() == LoginStatus.LOGGED_IN
        await client.logout()

    run(main())


def test_restore_with_a_dead_token_says_expired(world: World) -> None:
    async def main() -> None:
        await world.logged_in()
        world.server.tokens.clear()
        client2, _ = world.client()
        events = Recorder(client2)
        assert not await client2.restore_session()
        assert len(events.of("OnUserTokenExpired")) == 1
        assert await client2.get_login_status() == LoginStatus.LOGGED_OUT

    run(main())


def test_reconnect_backs_off_then_catches_up(world: World) -> None:
    async def main() -> None:
        client, transport = await world.logged_in()
        events = Recorder(client)
        transport.offline = True
        world.server.drop_connections()
        await world.settle()
        for _ in range(4):
            world.clock.release()
            await world.settle()
        # Equal jitter with random() = 0.5: 3/4 of min(cap, 0.5 * 2**attempt).
        assert world.clock.delays[-5:] == [0.375, 0.75, 1.5, 3.0, 6.0]
        assert events.names().count("OnConnectFailed") == 5
        world.send("bob", recvID="alice")  # nobody is connected to hear it
        transport.offline = False
        world.clock.release()
        await world.settle()
        caught_up = events.names()[events.names().index("OnConnectSuccess") :]
        assert "OnSyncServerFinish" in caught_up
        assert await cached(client) == world.server.snapshot("alice")
        assert len(events.of("OnRecvNewMessages")) == 1
        world.server.drop_connections()
        await world.settle()
        assert world.clock.delays[-1] == 0.375  # a good connection resets the backoff
        await client.logout()

    run(main())


def test_listener_errors_do_not_break_the_client(world: World) -> None:
    async def main() -> None:
        client, _ = world.client()

        def broken(_data: object) -> None:
            raise RuntimeError("page bug")

        client.on("OnTotalUnreadMessageCountChanged", broken)
        world.send("bob", recvID="alice")
        await client.login("alice", PASSWORD)
        assert await client.get_total_unread_msg_count() == 1
        client.off("OnTotalUnreadMessageCountChanged", broken)
        with pytest.raises(ValueError):
            client.on("OnSomethingElse", broken)
        await client.logout()

    run(main())


# -- requests over the WebSocket ------------------------------------------------------


def test_sends_and_mark_reads_go_over_the_open_socket(world: World) -> None:
    async def main() -> None:
        client, transport = await world.logged_in()
        world.send("bob", recvID="alice")
        await world.settle()
        sent = await client.send_message(await client.create_text_message("hi"), recv_id="bob")
        await client.mark_conversation_message_as_read(ALICE_BOB)
        assert sent["seq"] == 2
        assert world.server.snapshot("alice")[ALICE_BOB]["hasReadSeq"] == 2
        assert await cached(client) == world.server.snapshot("alice")
        assert [m for m, _ in transport.http if m == "POST"] == ["POST"]  # the login only
        (socket,) = world.server.connections
        ops = [f["op"] for f in socket.sent if f["type"] == "request"]
        assert ops == ["sendMessage", "markRead"]
        await client.logout()

    run(main())


def test_a_send_whose_socket_is_lost_is_asked_again_over_http(world: World) -> None:
    """Idempotent by clientMsgID: the message is stored once whichever answer counts."""

    async def main() -> None:
        client, transport = await world.logged_in()
        gate = transport.gates["/api/messages"] = asyncio.Event()
        message = await client.create_text_message("lost and found")
        sending = asyncio.ensure_future(client.send_message(message, recv_id="bob"))
        await world.settle()
        world.server.drop_connections()  # before the socket answered
        await world.settle()
        assert ("POST", "/api/messages") in transport.http
        gate.set()
        sent = await sending
        await world.settle()
        assert sent["clientMsgID"] == message["clientMsgID"]
        (stored,) = world.server.conversations[ALICE_BOB].messages
        assert stored == sent
        assert await cached(client) == world.server.snapshot("alice")
        await client.logout()

    run(main())


def test_an_error_answered_on_the_socket_is_not_asked_again(world: World) -> None:
    async def main() -> None:
        world.send("bob", recvID="alice")
        client, transport = await world.logged_in()
        transport.failures["/api/conversations/"] = ServerError("boom")
        with pytest.raises(ServerError):
            await client.mark_conversation_message_as_read(ALICE_BOB)
        assert not [path for _, path in transport.http if path.endswith("/read")]
        assert await client.get_total_unread_msg_count() == 1
        await client.logout()

    run(main())


def test_without_socket_requests_everything_goes_over_http(world: World) -> None:
    async def main() -> None:
        client, transport = world.client()
        client = TidemarkClient(transport, world.store_factory(), requests_over_socket=False)
        await client.login("alice", PASSWORD)
        await world.settle()
        await client.send_message(await client.create_text_message("hi"), recv_id="bob")
        await client.mark_conversation_message_as_read(ALICE_BOB)
        assert ("POST", "/api/messages") in transport.http
        assert ("POST", f"/api/conversations/{ALICE_BOB}/read") in transport.http
        (socket,) = world.server.connections
        assert not [f for f in socket.sent if f["type"] == "request"]
        await client.logout()

    run(main())
