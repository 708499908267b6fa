"""Search, people and push in the SDK (issue 12), against the fake server: the server
answers searches (whole history, windows, never revoked); profiles from the server, and
``user.updated`` (no version: not state) as OnSelfInfoUpdated once per change, the
session's nickname following it, the cache's version untouched; the peers' records
changed by the server; the directory; push subscriptions tied to the session."""

from __future__ import annotations

import pytest
from tidemark_sdk import (
    BytesFile,
    FileTypeMismatchError,
    MemoryStore,
    NetworkError,
    NoSuchFileError,
    TidemarkClient,
    ValidationFailedError,
)

from tests.sdk.conftest import PASSWORD, Recorder, World, run
from tests.sdk.facade_cases import png
from tests.sdk.test_sdk_groups import act, make_group


async def peer(world: World, user_id: str) -> TidemarkClient:
    client, _ = world.client(MemoryStore())
    await client.login(user_id, PASSWORD)
    await world.settle()
    return client


def test_search_is_the_servers_over_what_i_may_see(world: World) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        world.send("bob", "the picnic is on friday", recvID="alice")
        world.send("bob", "bring the picnic blanket", recvID="alice")
        gid, cid = make_group(world, members=("bob",))
        early = world.send("bob", "a picnic before carol", groupID=gid)["message"]
        act(world, "alice", "POST", gid, "/members", {"userIDList": ["carol"]})
        world.send("bob", "picnic for all", groupID=gid)
        gone = world.send("bob", "picnic secret", recvID="alice")["message"]
        world.server.call(
            "bob",
            "POST",
            f"/api/conversations/{gone['conversationID']}/revoke",
            {"clientMsgID": gone["clientMsgID"]},
        )
        await world.settle()
        found = await alice.search_local_messages(["picn"])
        assert found["totalCount"] == 4
        items = {i["conversationID"]: i for i in found["searchResultItems"]}
        assert items[cid]["messageCount"] == 2 and items[cid]["showName"] == "Trip"
        texts = [
            m["textElem"]["content"] for i in found["searchResultItems"] for m in i["messageList"]
        ]
        assert "picnic secret" not in texts  # revoked: never found
        both = await alice.search_local_messages(["picnic", "blanket"], keyword_list_match_type=1)
        assert both["totalCount"] == 1
        paged = await alice.search_local_messages(["picnic"], count=1, page_index=2)
        assert (
            paged["totalCount"] == 4
            and sum(len(i["messageList"]) for i in paged["searchResultItems"]) == 1
        )
        # Carol joined after the first group message: her search does not reach it.
        carol = await peer(world, "carol")
        theirs = await carol.search_local_messages(["picnic"], conversation_id=cid)
        seqs = [m["seq"] for i in theirs["searchResultItems"] for m in i["messageList"]]
        assert early["seq"] not in seqs and theirs["totalCount"] == 1
        # Search results are not written to the cache (history is paged by the client).
        assert alice._store.messages is not None  # type: ignore[attr-defined]
        await alice.close()
        await carol.close()

    run(main())


def test_my_profile_changes_everywhere_once(world: World) -> None:
    async def main() -> None:
        alice = await peer(world, "alice")
        other_tab = await peer(world, "alice")
        bob = await peer(world, "bob")
        await bob.send_message(await bob.create_text_message("hi"), recv_id="alice")
        await world.settle()
        mine, theirs, bobs = Recorder(alice), Recorder(other_tab), Recorder(bob)
        me = await alice.get_self_user_info()
        assert me == {
            "userID": "alice",
            "nickname": "Alice",
            "faceURL": "",
            "ex": "",
            "createTime": me["createTime"],
        }
        meta = await alice._store.load()  # type: ignore[attr-defined]
        avatar = await alice.upload_file(BytesFile(png(64, 64), "me.png", "image/png"))
        answer = await alice.set_self_info(nickname="Ally", face_url=avatar["url"])
        assert answer == {"userID": "alice", "nickname": "Ally", "faceURL": avatar["url"], "ex": ""}
        await world.settle()
        # Once here (the answer, then its push saying the same), once on the other tab.
        assert mine.of("OnSelfInfoUpdated") == [answer]
        assert theirs.of("OnSelfInfoUpdated") == [answer]
        assert alice.session_user() == {"userID": "alice", "nickname": "Ally"}
        # Not state: alice's cache version did not move (the peer's did).
        assert await alice._store.load() == meta  # type: ignore[attr-defined]
        (changed,) = [c for batch in bobs.of("OnConversationChanged") for c in batch]
        assert (changed["showName"], changed["faceURL"]) == ("Ally", avatar["url"])
        # Anyone logged in may fetch a current avatar.
        assert await bob.get_file(avatar["url"]) == png(64, 64)
        # The same again changes nothing, and says nothing.
        await alice.set_self_info(nickname="Ally")
        await world.settle()
        assert len(mine.of("OnSelfInfoUpdated")) == 1
        with pytest.raises(ValidationFailedError):
            await alice.set_self_info()
        with pytest.raises(NoSuchFileError):
            await bob.set_self_info(face_url=avatar["url"])  # not bob's upload
        text = await bob.upload_file(BytesFile(b"words", "w.txt"))
        with pytest.raises(FileTypeMismatchError):
            await bob.set_self_info(face_url=text["url"])
        for client in (alice, other_tab, bob):
            await client.close()

    run(main())


def test_a_malformed_or_foreign_user_updated_frame_changes_nothing(world: World) -> None:
    async def main() -> None:
        alice = await peer(world, "alice")
        events = Recorder(alice)
        await alice._on_frame({"type": "user.updated", "user": {"userID": "bob", "nickname": "B"}})  # type: ignore[attr-defined]
        await alice._on_frame({"type": "user.updated", "user": "nonsense"})  # type: ignore[attr-defined]
        await alice._on_frame({"type": "user.updated"})  # type: ignore[attr-defined]
        assert events.of("OnSelfInfoUpdated") == []
        assert alice.session_user()["nickname"] == "Alice"
        await alice.close()

    run(main())


def test_get_self_user_info_offline_answers_what_is_known(world: World) -> None:
    async def main() -> None:
        alice, transport = await world.logged_in("alice")
        transport.offline = True
        assert await alice.get_self_user_info() == {
            "userID": "alice",
            "nickname": "Alice",
            "faceURL": "",
            "ex": "",
            "createTime": 0,
        }
        transport.offline = False
        with pytest.raises(NetworkError):
            transport.failures["/api/users/search"] = NetworkError("down")
            await alice.search_users("b")
        await alice.close()

    run(main())


def test_users_info_and_the_directory(world: World) -> None:
    async def main() -> None:
        alice, transport = await world.logged_in("alice")
        for n in range(150):
            body = {"userID": f"user{n:03d}", "password": PASSWORD, "nickname": f"N{n}"}
            world.server.handle("POST", "/api/users", body, None)
        found = await alice.get_users_info(
            ["bob", "nobody", *[f"user{n:03d}" for n in range(150)], "bob"]
        )
        assert [u["userID"] for u in found] == ["bob", *[f"user{n:03d}" for n in range(150)]]
        asked = [path for _, path in transport.http if path.startswith("/api/users?")]
        assert len(asked) == 2  # 100 at a time
        assert found[0] == {"userID": "bob", "nickname": "Bob", "faceURL": "", "ex": ""}
        assert [u["userID"] for u in await alice.search_users("user00", count=3)] == [
            "user000",
            "user001",
            "user002",
        ]
        assert [u["userID"] for u in await alice.search_users("BOB")] == ["bob"]
        await alice.close()

    run(main())


def test_push_subscriptions_belong_to_the_session(world: World) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        assert await alice.get_push_public_key() == world.server.vapid_public_key
        keys = {"p256dh": "BKey", "auth": "secret"}
        answer = await alice.subscribe_push("https://push.example/1", keys, previews=True)
        assert answer == {"endpoint": "https://push.example/1", "previews": True}
        await alice.subscribe_push("https://push.example/2", keys)
        await alice.unsubscribe_push("https://push.example/1")
        assert set(world.server.push_subscriptions) == {"https://push.example/2"}
        with pytest.raises(ValidationFailedError):
            await alice.subscribe_push("http://push.example/3", keys)
        await alice.logout()  # the server drops this session's subscriptions
        assert world.server.push_subscriptions == {}

    run(main())
