"""The OpenIM facade's cases, written once and run twice.

- under CPython, on :class:`tidemark_sdk._facade.OpenIMFacade` over SQLite, against the
  fake server and the real one (``tests/sdk/test_facade.py``);
- inside Pyodide, on what ``web/worker.js`` calls: ``create_browser_sdk`` over IndexedDB
  (fake-indexeddb), ``fetch`` and the WebSocket, against the real server, through
  ``web/pyodide-harness.mjs`` (``tests/pyodide/test_facade_in_pyodide.py``).

So this module imports nothing but the standard library and the SDK's public names: the
harness loads it into Pyodide as it is. Each case is ``async def case_…(env)``, asserting
itself; :class:`Env` is what a side provides: SDK instances on one cache storage (a new
one is a reload, or a second tab), and transports to the server for other users.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tidemark_sdk import MemoryStore, TidemarkClient, Transport

PASSWORD = "password-1"
OK = {"errCode": 0, "errMsg": ""}


class Sdk(Protocol):
    """One SDK instance as the page sees it: JSON-shaped values in and out."""

    events: list[tuple[str, Any]]

    async def call(self, method: str, arg: Any = None) -> dict[str, Any]: ...

    async def start(self) -> dict[str, Any]: ...


class Env:
    """What a side provides; :meth:`open` and :meth:`peer` are cleaned up by :func:`run`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.opened: list[Sdk] = []
        self.peers: list[TidemarkClient] = []

    def user(self, name: str) -> str:
        return f"{name}-{self.tag}"

    async def make_sdk(self) -> Sdk:
        raise NotImplementedError

    def transport(self) -> Transport:
        raise NotImplementedError

    def file(self, data: bytes, name: str, type: str = "") -> Any:
        """A file as this side's page has one: a browser File in Pyodide, a BytesFile
        under CPython. ``call`` passes an argument's ``file`` through as it is, and
        answers getFileURL's data as the bytes fetched."""
        raise NotImplementedError

    async def open(self) -> Sdk:
        """A new SDK instance on this env's cache storage."""
        sdk = await self.make_sdk()
        self.opened.append(sdk)
        return sdk

    async def peer(self, name: str, *, register: bool = True) -> TidemarkClient:
        """Another user, logged in on their own device (an in-memory cache)."""
        client = TidemarkClient(self.transport(), MemoryStore(), requests_over_socket=False)
        connected: list[None] = []
        client.on("OnConnectSuccess", connected.append)
        self.peers.append(client)
        if register:
            await client.register(self.user(name), PASSWORD, name.title())
        await client.login(self.user(name), PASSWORD)
        await until(lambda: bool(connected), f"{name}'s WebSocket")
        return client


async def until(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def png(width: int = 4, height: int = 3, *, noise: bool = False) -> bytes:
    """A real PNG (red pixels; ``noise``: pseudo-random ones, which do not compress)
    that Pillow decodes: for uploads to the fake and the real server alike (stdlib only:
    this module runs in Pyodide too)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    if noise:
        line = 3 * width
        stream = b"".join(
            hashlib.sha256(b"%d" % n).digest() for n in range(-(-line * height // 32))
        )
        rows = b"".join(b"\x00" + stream[y * line : (y + 1) * line] for y in range(height))
    else:
        rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def names(sdk: Sdk) -> list[str]:
    return [name for name, _ in sdk.events]


def of(sdk: Sdk, event: str) -> list[Any]:
    return [data for name, data in sdk.events if name == event]


async def logged_in(env: Env, name: str = "alice") -> tuple[Sdk, str]:
    sdk = await env.open()
    assert (await sdk.start())["errCode"] == 0
    user = env.user(name)
    assert (await sdk.call("register", {"userID": user, "password": PASSWORD, "nickname": "A"}))[
        "errCode"
    ] == 0
    assert (await sdk.call("login", {"userID": user, "password": PASSWORD}))["errCode"] == 0
    # Live events from here on: the WebSocket is up.
    await until(lambda: "OnConnectSuccess" in names(sdk), "the WebSocket")
    return sdk, user


def single(a: str, b: str) -> str:
    return "si_" + "_".join(sorted((a, b)))


# -- the cases --------------------------------------------------------------------------


async def case_start_without_a_session(env: Env) -> None:
    sdk = await env.open()
    assert await sdk.start() == {
        **OK,
        "data": {"loginStatus": 1, "userID": "", "restoreError": None},
    }
    assert await sdk.call("getLoginStatus") == {**OK, "data": 1}
    assert (await sdk.call("getTotalUnreadMsgCount"))["errCode"] == 10001
    assert (await sdk.call("getAllConversationList"))["errCode"] == 10001
    assert (await sdk.call("getSelfUserInfo"))["errCode"] == 10001
    cached = (await sdk.call("getCachedConversationList"))["data"]
    assert cached == {
        "userID": "",
        "syncing": False,
        "totalUnreadCount": 0,
        "conversationList": [],
    }


async def case_register_and_login(env: Env) -> None:
    sdk = await env.open()
    await sdk.start()
    alice, bob = env.user("alice"), env.user("bob")
    answer = await sdk.call("register", {"userID": alice, "password": PASSWORD, "nickname": "A"})
    assert answer == {**OK, "data": {"userID": alice, "nickname": "A"}}, answer
    assert (await sdk.call("register", {"userID": bob, "password": PASSWORD, "nickname": "B"}))[
        "errCode"
    ] == 0
    again = await sdk.call("register", {"userID": bob, "password": PASSWORD, "nickname": "B"})
    assert again["errCode"] == 1201 and again["errMsg"], again
    assert (await sdk.call("login", {"userID": alice}))["errCode"] == 1002
    assert (await sdk.call("login", {"userID": alice, "password": "wrong-password"}))[
        "errCode"
    ] == 1103
    assert await sdk.call("getLoginStatus") == {**OK, "data": 1}
    answer = await sdk.call("login", {"userID": alice, "password": PASSWORD})
    assert answer == {**OK, "data": {"userID": alice, "nickname": "A"}}, answer
    # Rule 9: the first sync has ended when login answers.
    assert "OnSyncServerFinish" in names(sdk), sdk.events
    assert await sdk.call("getLoginStatus") == {**OK, "data": 3}
    me = (await sdk.call("getSelfUserInfo"))["data"]
    assert {k: me[k] for k in ("userID", "nickname", "faceURL", "ex")} == {
        "userID": alice,
        "nickname": "A",
        "faceURL": "",
        "ex": "",
    }
    assert me["createTime"] > 0
    assert (await sdk.call("login", {"userID": alice, "password": PASSWORD}))["errCode"] == 10002
    assert await sdk.call("logout") == {**OK, "data": None}
    assert await sdk.call("getLoginStatus") == {**OK, "data": 1}


async def case_messages_and_conversations(env: Env) -> None:
    sdk, alice = await logged_in(env)
    await env.peer("bob")
    bob = env.user("bob")
    message = (await sdk.call("createTextMessage", "hello"))["data"]
    assert message["textElem"] == {"content": "hello"} and message["contentType"] == 101
    assert message["sendID"] == alice and len(message["clientMsgID"]) == 32
    assert (await sdk.call("sendMessage", {"message": message}))["errCode"] == 1002
    sent = await sdk.call("sendMessage", {"recvID": bob, "message": message})
    assert sent["errCode"] == 0 and sent["data"]["seq"] == 1, sent
    assert sent["data"]["clientMsgID"] == message["clientMsgID"] and sent["data"]["serverMsgID"]
    group = await sdk.call("createGroup", {"groupName": "G", "memberUserIDs": [bob]})
    assert group["data"]["conversationID"] == "sg_" + group["data"]["groupID"], group
    conversations = (await sdk.call("getAllConversationList"))["data"]
    assert {c["conversationID"] for c in conversations} == {
        group["data"]["conversationID"],
        single(alice, bob),
    }
    assert all(c["latestMsg"] is None or c["latestMsg"]["seq"] >= 1 for c in conversations)
    one = await sdk.call("getOneConversation", {"sourceID": bob, "sessionType": 1})
    assert one["data"]["latestMsg"]["textElem"]["content"] == "hello"
    in_group = await sdk.call(
        "getOneConversation", {"sourceID": group["data"]["groupID"], "sessionType": 3}
    )
    assert in_group["data"]["showName"] == "G"
    assert (await sdk.call("getOneConversation", {"sourceID": "nobody", "sessionType": 1}))[
        "errCode"
    ] == 1301
    split = await sdk.call("getConversationListSplit", {"offset": 1, "count": 5})
    assert split["data"] == conversations[1:]
    assert (await sdk.call("getConversationListSplit", {}))["data"] == conversations
    assert (await sdk.call("markConversationMessageAsRead", "si_nobody_else"))["errCode"] == 1301
    read = await sdk.call("markConversationMessageAsRead", one["data"]["conversationID"])
    assert read == {**OK, "data": None}
    page = (
        await sdk.call(
            "getAdvancedHistoryMessageList",
            {"conversationID": one["data"]["conversationID"], "count": 10, "lastMinSeq": 0},
        )
    )["data"]
    assert [m["seq"] for m in page["messageList"]] == [1] and page["isEnd"] is True
    assert page["lastMinSeq"] == 1
    assert "OnNewConversation" in names(sdk)
    # My own send is not announced to me as received.
    assert "OnRecvNewMessages" not in names(sdk)


async def case_events_are_forwarded(env: Env) -> None:
    sdk, alice = await logged_in(env)
    bob = await env.peer("bob")
    receipts: list[Any] = []
    bob.on("OnRecvC2CReadReceipt", receipts.append)
    cid = single(alice, env.user("bob"))
    for text in ("one", "two"):
        await bob.send_message(await bob.create_text_message(text), recv_id=alice)
    await until(lambda: 2 in of(sdk, "OnTotalUnreadMessageCountChanged"), "total 2")
    received = [m for batch in of(sdk, "OnRecvNewMessages") for m in batch]
    assert [(m["seq"], m["textElem"]["content"]) for m in received] == [(1, "one"), (2, "two")]
    assert [c["conversationID"] for c in of(sdk, "OnNewConversation")[0]] == [cid]
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 2
    cached = (await sdk.call("getCachedConversationList"))["data"]
    assert (cached["userID"], cached["totalUnreadCount"], cached["syncing"]) == (alice, 2, False)
    assert [c["unreadCount"] for c in cached["conversationList"]] == [2]
    assert (await sdk.call("markConversationMessageAsRead", cid))["errCode"] == 0
    # Rule 4: confirmed and applied before the call answered.
    assert of(sdk, "OnTotalUnreadMessageCountChanged")[-1] == 0
    changed = of(sdk, "OnConversationChanged")[-1]
    assert [(c["conversationID"], c["unreadCount"], c["hasReadSeq"]) for c in changed] == [
        (cid, 0, 2)
    ]
    await until(lambda: bool(receipts), "bob's read receipt")
    assert receipts == [[{"conversationID": cid, "userID": alice, "hasReadSeq": 2}]]
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 0


async def case_reload_restores_the_session(env: Env) -> None:
    sdk, alice = await logged_in(env)
    bob = await env.peer("bob")
    await bob.send_message(await bob.create_text_message("hi"), recv_id=alice)
    await until(lambda: 1 in of(sdk, "OnTotalUnreadMessageCountChanged"), "total 1")
    # A reload: a new instance on the same cache storage logs back in by itself, and can
    # paint the cache before that.
    sdk2 = await env.open()
    cached = (await sdk2.call("getCachedConversationList"))["data"]
    assert cached["userID"] == alice and cached["totalUnreadCount"] == 1, cached
    assert [c["conversationID"] for c in cached["conversationList"]] == [
        single(alice, env.user("bob"))
    ]
    restored = await sdk2.start()
    assert restored == {
        **OK,
        "data": {"loginStatus": 3, "userID": alice, "restoreError": None},
    }, restored
    assert (await sdk2.call("getTotalUnreadMsgCount"))["data"] == 1
    assert (await sdk2.call("getCachedConversationList"))["data"]["syncing"] is False
    assert (await sdk2.call("getSelfUserInfo"))["data"]["userID"] == alice
    assert (await sdk.call("logout"))["errCode"] == 0
    assert (await sdk2.call("logout"))["errCode"] == 0
    # Logged out everywhere: the next reload finds no session.
    sdk3 = await env.open()
    assert (await sdk3.start())["data"]["loginStatus"] == 1


async def case_groups_in_openim_shapes(env: Env) -> None:
    sdk, alice = await logged_in(env)
    bob, carol = await env.peer("bob"), await env.peer("carol")
    b, c = env.user("bob"), env.user("carol")
    bob_typing: list[Any] = []
    bob.on("OnConversationUserInputStatusChanged", bob_typing.append)
    bob_news: list[Any] = []
    bob.on("OnRecvNewMessages", bob_news.extend)
    created = await sdk.call(
        "createGroup",
        {"groupInfo": {"groupName": "Trip"}, "memberUserIDs": [b, c], "adminUserIDs": [b]},
    )
    group = created["data"]
    gid, cid = group["groupID"], group["conversationID"]
    assert cid == f"sg_{gid}", created
    assert (group["groupName"], group["ownerUserID"], group["memberCount"], group["status"]) == (
        "Trip",
        alice,
        3,
        0,
    )
    assert [g["groupID"] for g in (await sdk.call("getJoinedGroupList"))["data"]] == [gid]
    (info,) = (await sdk.call("getSpecifiedGroupsInfo", [gid]))["data"]
    assert (info["groupName"], info["ownerUserID"], info["memberCount"]) == ("Trip", alice, 3)
    members = (
        await sdk.call(
            "getGroupMemberList", {"groupID": gid, "filter": 0, "offset": 0, "count": 50}
        )
    )["data"]
    assert [(m["userID"], m["roleLevel"]) for m in members] == [(alice, 100), (b, 60), (c, 20)]
    admins = (await sdk.call("getGroupMemberList", {"groupID": gid, "filter": 2}))["data"]
    assert [m["userID"] for m in admins] == [b]

    # Changes: answered with null once the server committed them; the notification
    # comes as a new message, the record as changed.
    renamed = await sdk.call("setGroupInfo", {"groupID": gid, "groupName": "Trip 2"})
    assert renamed == {**OK, "data": None}, renamed
    record = (await sdk.call("getOneConversation", {"sourceID": gid, "sessionType": 3}))["data"]
    assert record["showName"] == "Trip 2" and record["unreadCount"] == 0
    notice = [m for batch in of(sdk, "OnRecvNewMessages") for m in batch][-1]
    assert (notice["contentType"], notice["textElem"]) == (1520, None), notice
    assert "Trip 2" in notice["notificationElem"]["detail"]
    role = {"groupID": gid, "userID": c, "roleLevel": 60}
    assert (await sdk.call("setGroupMemberRoleLevel", role))["errCode"] == 0
    refused = await sdk.call("transferGroupOwner", {"groupID": gid, "newOwnerUserID": "nobody"})
    assert refused["errCode"] == 1302, refused
    assert (await sdk.call("setGroupMemberRoleLevel", {**role, "roleLevel": 100}))[
        "errCode"
    ] == 1002

    # Receipts: bob reads; "read by" counts and readers, by clientMsgID or by seq.
    message = (await sdk.call("createTextMessage", "who reads this"))["data"]
    sent = (await sdk.call("sendMessage", {"groupID": gid, "message": message}))["data"]
    await until(lambda: any(m["seq"] == sent["seq"] for m in bob_news), "bob's copy")
    await bob.mark_conversation_message_as_read(cid)
    await until(lambda: bool(of(sdk, "OnRecvGroupReadReceipt")), "the group receipt")
    receipt = of(sdk, "OnRecvGroupReadReceipt")[0]
    assert receipt == {
        "conversationID": cid,
        "readers": [{"userID": b, "hasReadSeq": sent["seq"]}],
    }, receipt
    counts = await sdk.call(
        "getGroupMessageReceiptCounts", {"conversationID": cid, "seqs": [sent["seq"]]}
    )
    assert counts["data"] == [{"seq": sent["seq"], "hasReadCount": 1, "groupMemberCount": 2}]
    ask = {"conversationID": cid, "filter": 0, "offset": 0, "count": 50}
    read = await sdk.call("getGroupMessageReaderList", {**ask, "clientMsgID": sent["clientMsgID"]})
    assert [m["userID"] for m in read["data"]] == [b], read
    unread = await sdk.call("getGroupMessageReaderList", {**ask, "seq": sent["seq"], "filter": 1})
    assert [m["userID"] for m in unread["data"]] == [c], unread
    missing = await sdk.call("getGroupMessageReaderList", {**ask, "seq": sent["seq"] + 50})
    assert missing["errCode"] == 1401, missing

    # Typing, both ways.
    typing = await sdk.call("changeInputStates", {"conversationID": cid, "focus": True})
    assert typing == {**OK, "data": None}, typing
    await until(lambda: bool(bob_typing), "bob sees alice typing")
    assert bob_typing[0] == {"conversationID": cid, "userID": alice, "focus": True}
    await carol.change_input_states(cid, True)
    await until(lambda: bool(of(sdk, "OnConversationUserInputStatusChanged")), "carol typing")
    assert of(sdk, "OnConversationUserInputStatusChanged")[0] == {
        "conversationID": cid,
        "userID": c,
        "focus": True,
    }

    # Membership: kick, invite back, hand over, leave: read-only, adding 0.
    kick = {"groupID": gid, "reason": "", "userIDList": [c]}
    assert (await sdk.call("kickGroupMember", kick))["errCode"] == 0
    assert (await sdk.call("inviteUserToGroup", kick))["errCode"] == 0
    transfer = {"groupID": gid, "newOwnerUserID": b}
    assert (await sdk.call("transferGroupOwner", transfer))["errCode"] == 0
    assert (await sdk.call("dismissGroup", gid))["errCode"] == 1303
    assert (await sdk.call("quitGroup", gid)) == {**OK, "data": None}
    record = (await sdk.call("getOneConversation", {"sourceID": gid, "sessionType": 3}))["data"]
    assert record["isNotInGroup"] is True and record["unreadCount"] == 0, record
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 0
    assert (await sdk.call("getJoinedGroupList"))["data"] == []
    assert (await sdk.call("getGroupMemberList", {"groupID": gid}))["errCode"] == 1302
    assert (await sdk.call("quitGroup", {"groupID": gid}))["errCode"] == 1302
    page = (await sdk.call("getAdvancedHistoryMessageList", {"conversationID": cid, "count": 50}))[
        "data"
    ]
    kinds = [m["contentType"] for m in page["messageList"]]
    assert kinds == [1520, 1517, 101, 1508, 1509, 1507, 1504], kinds


async def case_login_called_before_the_sdk_has_booted(env: Env) -> None:
    """OpenIM apps call login() as soon as the page has loaded: it waits for the boot
    and the restore; the same user gets the restored session, another user a new one."""
    await env.peer("alice")
    await env.peer("bob")
    alice, bob = env.user("alice"), env.user("bob")
    as_alice = {"userID": alice, "password": PASSWORD}
    sdk = await env.open()
    assert await sdk.call("getLoginStatus") == {**OK, "data": 1}  # nothing saved
    login = asyncio.ensure_future(sdk.call("login", as_alice))
    started = await sdk.start()
    assert started["data"]["restoreError"] is None, started
    assert await login == {**OK, "data": {"userID": alice, "nickname": "Alice"}}
    assert await sdk.call("getLoginStatus") == {**OK, "data": 3}
    # A reload: the saved session is being restored (2) when the app logs in again.
    sdk2 = await env.open()
    assert await sdk2.call("getLoginStatus") == {**OK, "data": 2}
    login = asyncio.ensure_future(sdk2.call("login", as_alice))
    restored = await sdk2.start()
    assert restored["data"]["loginStatus"] == 3 and restored["data"]["userID"] == alice
    assert await login == {**OK, "data": {"userID": alice, "nickname": "Alice"}}
    # (A second login would have been refused with 10002: the client is logged in.)
    assert (await sdk2.call("getTotalUnreadMsgCount"))["errCode"] == 0
    # After boot too, as long as the session is the restored one.
    assert await sdk2.call("login", as_alice) == {
        **OK,
        "data": {"userID": alice, "nickname": "Alice"},
    }
    # Another user: the restored session ends, the new one starts.
    sdk3 = await env.open()
    login = asyncio.ensure_future(sdk3.call("login", {"userID": bob, "password": PASSWORD}))
    await sdk3.start()
    assert await login == {**OK, "data": {"userID": bob, "nickname": "Bob"}}
    assert (await sdk3.call("getSelfUserInfo"))["data"]["userID"] == bob
    assert (await sdk3.call("getCachedConversationList"))["data"]["userID"] == bob
    sdk4 = await env.open()
    assert (await sdk4.start())["data"]["userID"] == bob  # bob's session is the saved one


async def case_settings_and_the_total(env: Env) -> None:
    """Mute, pin, mark unread, hide, mark all read: OpenIM's names, data null, and the
    total as the sum of contributions (muted 0; marked unread 1)."""
    sdk, alice = await logged_in(env)
    bob = await env.peer("bob")
    await env.peer("carol")
    b, c = env.user("bob"), env.user("carol")
    cid, other = single(alice, b), single(alice, c)
    for text in ("one", "two"):
        await bob.send_message(await bob.create_text_message(text), recv_id=alice)
    await until(lambda: 2 in of(sdk, "OnTotalUnreadMessageCountChanged"), "total 2")
    mute = {"conversationID": cid, "opt": 2}
    assert await sdk.call("setConversationRecvMessageOpt", mute) == {**OK, "data": None}
    assert of(sdk, "OnTotalUnreadMessageCountChanged")[-1] == 0
    one = (await sdk.call("getOneConversation", {"sourceID": b, "sessionType": 1}))["data"]
    assert (one["recvMsgOpt"], one["unreadCount"]) == (2, 2), one
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 0
    refused = await sdk.call("setConversationRecvMessageOpt", {**mute, "opt": 1})
    assert refused["errCode"] == 1002 and "not supported" in refused["errMsg"], refused
    # A message in the muted conversation: no total event.
    counted = len(of(sdk, "OnTotalUnreadMessageCountChanged"))
    await bob.send_message(await bob.create_text_message("three"), recv_id=alice)
    await until(lambda: len(of(sdk, "OnRecvNewMessages")) == 3, "message three")
    assert len(of(sdk, "OnTotalUnreadMessageCountChanged")) == counted
    assert (await sdk.call("setConversationRecvMessageOpt", {**mute, "opt": 0}))["errCode"] == 0
    assert of(sdk, "OnTotalUnreadMessageCountChanged")[-1] == 3
    assert len(of(sdk, "OnTotalUnreadMessageCountChanged")) == counted + 1

    # Pin: first in the list.
    carol_sent = await sdk.call(
        "sendMessage", {"recvID": c, "message": (await sdk.call("createTextMessage", "hi"))["data"]}
    )
    assert carol_sent["errCode"] == 0, carol_sent

    async def order() -> list[str]:
        return [r["conversationID"] for r in (await sdk.call("getAllConversationList"))["data"]]

    assert await order() == [other, cid]
    pin = {"conversationID": cid, "isPinned": True}
    assert await sdk.call("pinConversation", pin) == {**OK, "data": None}
    assert await order() == [cid, other]

    # Mark unread: 1 in the total while nothing is unread; a mark-read clears it.
    assert (await sdk.call("markConversationAsUnread", other)) == {**OK, "data": None}
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 4
    flagged = (await sdk.call("getOneConversation", {"sourceID": c, "sessionType": 1}))["data"]
    assert flagged["isMarkedUnread"] is True and flagged["unreadCount"] == 0
    cached = (await sdk.call("getCachedConversationList"))["data"]
    assert cached["totalUnreadCount"] == 4 and [
        r["conversationID"] for r in cached["conversationList"]
    ] == [cid, other]
    assert (await sdk.call("markConversationMessageAsRead", other))["errCode"] == 0
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 3

    # Hide: read first, then out of the lists (not out of getOneConversation).
    assert await sdk.call("hideConversation", cid) == {**OK, "data": None}
    assert await order() == [other]
    hidden = (await sdk.call("getOneConversation", {"sourceID": b, "sessionType": 1}))["data"]
    assert (hidden["isHidden"], hidden["unreadCount"]) == (True, 0), hidden
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 0
    assert [
        r["conversationID"]
        for r in (await sdk.call("getCachedConversationList"))["data"]["conversationList"]
    ] == [other]
    await bob.send_message(await bob.create_text_message("back"), recv_id=alice)
    await until(lambda: cid in of(sdk, "OnConversationChanged")[-1][0]["conversationID"], "back")
    await until(lambda: 1 in of(sdk, "OnTotalUnreadMessageCountChanged")[-1:], "total 1")
    assert await order() == [cid, other]

    # Mark all read: one event with every changed record.
    assert (await sdk.call("markConversationAsUnread", other))["errCode"] == 0
    changes = len(of(sdk, "OnConversationChanged"))
    assert await sdk.call("markAllConversationMessageAsRead") == {**OK, "data": None}
    assert (await sdk.call("getTotalUnreadMsgCount"))["data"] == 0
    changed = of(sdk, "OnConversationChanged")[changes:]
    assert len(changed) == 1 and {r["conversationID"] for r in changed[0]} == {cid, other}


async def case_drafts_are_kept_on_this_device(env: Env) -> None:
    sdk, alice = await logged_in(env)
    await env.peer("bob")
    b = env.user("bob")
    cid = single(alice, b)
    message = (await sdk.call("createTextMessage", "hello"))["data"]
    assert (await sdk.call("sendMessage", {"recvID": b, "message": message}))["errCode"] == 0
    draft = {"conversationID": cid, "draftText": "see you"}
    assert await sdk.call("setConversationDraft", draft) == {**OK, "data": None}
    (record,) = of(sdk, "OnConversationChanged")[-1]
    assert record["draftText"] == "see you" and record["draftTextTime"] > 0, record
    assert (await sdk.call("setConversationDraft", {**draft, "conversationID": "si_x_y"}))[
        "errCode"
    ] == 1301
    # A reload: kept, in the cached list too.
    sdk2 = await env.open()
    cached = (await sdk2.call("getCachedConversationList"))["data"]["conversationList"]
    assert [r["draftText"] for r in cached] == ["see you"], cached
    assert (await sdk2.start())["data"]["loginStatus"] == 3
    (listed,) = (await sdk2.call("getAllConversationList"))["data"]
    assert listed["draftText"] == "see you"
    assert (await sdk2.call("setConversationDraft", {**draft, "draftText": ""}))["errCode"] == 0
    one = (await sdk2.call("getOneConversation", {"sourceID": b, "sessionType": 1}))["data"]
    assert (one["draftText"], one["draftTextTime"]) == ("", 0)


async def case_mentions_and_revoke(env: Env) -> None:
    sdk, alice = await logged_in(env)
    bob = await env.peer("bob")
    b = env.user("bob")
    group = (await sdk.call("createGroup", {"groupName": "G", "memberUserIDs": [b]}))["data"]
    gid, cid = group["groupID"], group["conversationID"]
    assert await sdk.call("getAtAllTag") == {**OK, "data": "AtAllTag"}
    # Bob mentions alice: the @ badge, derived from positions.
    at = await bob.create_text_at_message(
        "@A hi", [alice], [{"atUserID": alice, "groupNickname": "A"}]
    )
    mention = await bob.send_message(at, group_id=gid)
    await until(
        lambda: any(
            m["seq"] == mention["seq"] for batch in of(sdk, "OnRecvNewMessages") for m in batch
        ),
        "the mention",
    )
    (news,) = [
        m for batch in of(sdk, "OnRecvNewMessages") for m in batch if m["seq"] == mention["seq"]
    ]
    assert news["contentType"] == 106 and news["atTextElem"]["atUserList"] == [alice], news
    record = (await sdk.call("getOneConversation", {"sourceID": gid, "sessionType": 3}))["data"]
    assert (record["groupAtType"], record["mentionCount"]) == (1, 1), record
    assert await sdk.call("resetConversationGroupAtType", cid) == {**OK, "data": None}
    record = (await sdk.call("getOneConversation", {"sourceID": gid, "sessionType": 3}))["data"]
    assert (record["groupAtType"], record["mentionCount"], record["unreadCount"]) == (0, 0, 1)

    # Alice's own @ message; quoting is refused; groups only.
    made = await sdk.call(
        "createTextAtMessage",
        {
            "text": "@B ok",
            "atUserIDList": [b, "AtAllTag"],
            "atUsersInfo": [{"atUserID": b, "groupNickname": "B"}],
        },
    )
    assert made["errCode"] == 0 and made["data"]["contentType"] == 106, made
    assert made["data"]["atTextElem"]["atUsersInfo"] == [{"atUserID": b, "groupNickname": "B"}]
    quoted = await sdk.call(
        "createTextAtMessage", {"text": "x", "atUserIDList": [b], "message": made["data"]}
    )
    assert quoted["errCode"] == 1002 and "quoting" in quoted["errMsg"], quoted
    assert (await sdk.call("sendMessage", {"recvID": b, "message": made["data"]}))[
        "errCode"
    ] == 1002
    sent = await sdk.call("sendMessage", {"groupID": gid, "message": made["data"]})
    assert sent["errCode"] == 0 and sent["data"]["contentType"] == 106, sent

    # Bob revokes his mention: a tombstone, announced once, the mention gone.
    await bob.revoke_message(cid, mention["clientMsgID"])
    await until(lambda: bool(of(sdk, "OnNewRecvMessageRevoked")), "the revocation")
    (info,) = of(sdk, "OnNewRecvMessageRevoked")
    assert (info["conversationID"], info["clientMsgID"], info["revokerID"]) == (
        cid,
        mention["clientMsgID"],
        b,
    ), info
    assert info["seq"] == mention["seq"] and info["revokerRole"] == 20
    # Alice revokes her own: the answer is the tombstone, already stored.
    revoked = await sdk.call(
        "revokeMessage", {"conversationID": cid, "clientMsgID": sent["data"]["clientMsgID"]}
    )
    assert revoked["errCode"] == 0 and revoked["data"]["contentType"] == 2101, revoked
    assert revoked["data"]["seq"] == sent["data"]["seq"] and revoked["data"]["atTextElem"] is None
    assert len(of(sdk, "OnNewRecvMessageRevoked")) == 2
    again = await sdk.call(
        "revokeMessage", {"conversationID": cid, "clientMsgID": sent["data"]["clientMsgID"]}
    )
    assert again["data"] == revoked["data"]
    page = (await sdk.call("getAdvancedHistoryMessageList", {"conversationID": cid, "count": 20}))[
        "data"
    ]
    kinds = {m["seq"]: m["contentType"] for m in page["messageList"]}
    assert kinds[mention["seq"]] == kinds[sent["data"]["seq"]] == 2101, kinds
    assert "@A hi" not in repr(page) and "@B ok" not in repr(page)
    # A reload: the cache holds the tombstones.
    sdk2 = await env.open()
    cached = (await sdk2.call("getCachedConversationList"))["data"]["conversationList"]
    assert cached[0]["latestMsg"]["contentType"] == 2101, cached
    await sdk2.start()
    assert len(of(sdk, "OnNewRecvMessageRevoked")) == 2


#: (method, argument, errCode): the facade's argument checks, logged in.
async def case_images_and_files(env: Env) -> None:
    sdk, _ = await logged_in(env)
    bob = await env.peer("bob")
    bob_id = env.user("bob")
    image = png(40, 30)
    made = await sdk.call(
        "createImageMessageByFile", {"file": env.file(image, "cat.png", "image/png")}
    )
    assert made["errCode"] == 0, made
    local = made["data"]
    assert (local["contentType"], local["textElem"], local["fileElem"]) == (102, None, None)
    assert local["pictureElem"]["sourcePicture"] == {
        "uuid": "",
        "type": "image/png",
        "size": len(image),
        "width": 0,
        "height": 0,
        "url": "",
    }
    sent = await sdk.call("sendMessage", {"recvID": bob_id, "message": local})
    assert sent["errCode"] == 0, sent
    message = sent["data"]
    source = message["pictureElem"]["sourcePicture"]
    sha = hashlib.sha256(image).hexdigest()
    assert (source["uuid"], source["url"], source["type"]) == (
        sha,
        f"/api/files/{sha}",
        "image/png",
    )
    assert (source["width"], source["height"], source["size"]) == (40, 30, len(image))
    assert message["pictureElem"]["bigPicture"] == source
    assert message["pictureElem"]["snapshotPicture"]["uuid"] not in ("", sha)
    # OnProgress for this message: from 0, never backwards, 100 once stored.
    progress = [
        p["progress"] for p in of(sdk, "OnProgress") if p["clientMsgID"] == local["clientMsgID"]
    ]
    assert progress[0] == 0 and progress[-1] == 100 and progress == sorted(progress), progress
    listed = (await sdk.call("getAllConversationList"))["data"]
    assert listed[0]["latestMsg"] == message
    fetched = await sdk.call("getFileURL", {"url": source["url"]})
    assert fetched == {**OK, "data": image}
    # The peer sees the message: may fetch it (a Blob in the browser: read it back).
    got = await bob.get_file(source["url"])
    assert (got if isinstance(got, bytes) else await got.read()) == image
    thumb = await sdk.call("getFileURL", {"url": message["pictureElem"]["snapshotPicture"]["url"]})
    assert thumb["errCode"] == 0 and thumb["data"] != image

    words = b"plain words, nothing more"
    made = await sdk.call(
        "createFileMessageByFile", {"file": env.file(words, "notes.txt", "text/plain")}
    )
    assert made["data"]["fileElem"]["fileName"] == "notes.txt", made
    assert made["data"]["fileElem"]["fileSize"] == len(words)
    sent = await sdk.call("sendMessage", {"recvID": bob_id, "message": made["data"]})
    elem = sent["data"]["fileElem"]
    assert (elem["fileName"], elem["fileSize"], elem["fileType"]) == (
        "notes.txt",
        len(words),
        "text/plain",
    )
    assert (await sdk.call("getFileURL", {"url": elem["sourceUrl"] + "?download=1"}))[
        "data"
    ] == words
    uploaded = await sdk.call("uploadFile", {"file": env.file(image, "me.png", "image/png")})
    assert uploaded["data"]["url"] == source["url"] and uploaded["data"]["thumbnail"], uploaded

    # Refusals: nothing is sent.
    before = len(
        (
            await sdk.call(
                "getAdvancedHistoryMessageList", {"conversationID": message["conversationID"]}
            )
        )["data"]["messageList"]
    )
    refused = [
        ("createFileMessageByFile", env.file(b"", "empty.txt"), 1602),
        ("createFileMessageByFile", env.file(b"<html>hi</html>", "x.png", "image/png"), 1603),
        ("createImageMessageByFile", env.file(words, "notes.png"), 1603),
    ]
    for method, file, code in refused:
        made = await sdk.call(method, {"file": file})
        answer = await sdk.call("sendMessage", {"recvID": bob_id, "message": made["data"]})
        assert answer["errCode"] == code and answer["errMsg"], (method, answer)
    after = (
        await sdk.call(
            "getAdvancedHistoryMessageList", {"conversationID": message["conversationID"]}
        )
    )["data"]
    assert len(after["messageList"]) == before
    unknown = await sdk.call("getFileURL", {"url": "/api/files/" + "0" * 64})
    assert unknown["errCode"] == 1604, unknown


#: RFC 8291's example subscription keys: a valid P-256 point and a 16-byte secret.
PUSH_KEYS = {
    "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    "auth": "BTBZMqHH6r4Tts7J_aSIgg",
}


async def case_search_people_and_push(env: Env) -> None:
    sdk, alice = await logged_in(env)
    bob = await env.peer("bob")
    bob_id = env.user("bob")
    await bob.send_message(
        await bob.create_text_message(f"picnic {env.tag} on friday"), recv_id=alice
    )
    await until(lambda: bool(of(sdk, "OnRecvNewMessages")), "bob's message")
    found = await sdk.call("searchLocalMessages", {"keywordList": [env.tag]})
    assert found["errCode"] == 0, found
    assert found["data"]["totalCount"] == 1, found
    (item,) = found["data"]["searchResultItems"]
    assert item["conversationID"] == single(alice, bob_id) and item["messageCount"] == 1
    assert item["messageList"][0]["textElem"]["content"].startswith("picnic")
    none = await sdk.call(
        "searchLocalMessages", {"keywordList": [env.tag, "absent"], "keywordListMatchType": 1}
    )
    assert none["data"]["totalCount"] == 0, none

    assert await sdk.call("setSelfInfo", {"nickname": "Ally"}) == {**OK, "data": None}
    await until(lambda: bool(of(sdk, "OnSelfInfoUpdated")), "OnSelfInfoUpdated")
    assert of(sdk, "OnSelfInfoUpdated")[-1] == {
        "userID": alice,
        "nickname": "Ally",
        "faceURL": "",
        "ex": "",
    }
    me = (await sdk.call("getSelfUserInfo"))["data"]
    assert (me["nickname"], me["faceURL"]) == ("Ally", "")
    avatar = await sdk.call("uploadFile", {"file": env.file(png(8, 8), "me.png", "image/png")})
    assert (await sdk.call("setSelfInfo", {"faceURL": avatar["data"]["url"]}))["errCode"] == 0
    await until(
        lambda: of(sdk, "OnSelfInfoUpdated")[-1]["faceURL"] == avatar["data"]["url"], "avatar"
    )
    # The peer's record of me changed (the server's conversation.changed).
    for _ in range(500):
        seen = await bob.get_one_conversation(alice, 1)
        if seen["faceURL"]:
            break
        await asyncio.sleep(0.02)
    assert (seen["showName"], seen["faceURL"]) == ("Ally", avatar["data"]["url"])

    users = await sdk.call("getUsersInfo", [bob_id, env.user("nobody")])
    assert users == {**OK, "data": [{"userID": bob_id, "nickname": "Bob", "faceURL": "", "ex": ""}]}
    assert (await sdk.call("getUsersInfo", {"userIDList": [alice]}))["data"][0][
        "nickname"
    ] == "Ally"
    directory = await sdk.call("searchUsers", {"keyword": bob_id})
    assert directory["data"][0]["userID"] == bob_id, directory

    key = await sdk.call("getPushPublicKey")
    assert key["errCode"] == 0 and isinstance(key["data"], str) and key["data"], key
    endpoint = f"https://push.example.com/tidemark-test/{env.tag}"
    subscribed = await sdk.call(
        "subscribePush", {"endpoint": endpoint, "keys": PUSH_KEYS, "previews": False}
    )
    assert subscribed == {**OK, "data": {"endpoint": endpoint, "previews": False}}, subscribed
    assert await sdk.call("unsubscribePush", {"endpoint": endpoint}) == {**OK, "data": None}


ARGUMENT_CASES: list[tuple[str, Any, int]] = [
    ("noSuchMethod", None, 1005),
    ("login", {"userID": "x"}, 1002),
    ("register", None, 1002),
    ("register", {"userID": "x", "password": PASSWORD}, 1002),
    ("register", {"userID": 5, "password": PASSWORD, "nickname": "X"}, 1002),
    ("createTextMessage", 5, 1002),
    ("createTextMessage", None, 1002),
    ("sendMessage", "text", 1002),
    ("sendMessage", {"recvID": "x", "message": {"clientMsgID": "c"}}, 1002),
    ("sendMessage", {"recvID": "x", "message": "hello"}, 1002),
    ("createGroup", {"groupName": "G", "memberUserIDs": "bob"}, 1002),
    ("createGroup", {"groupName": "G", "memberUserIDs": [1]}, 1002),
    ("createGroup", {"memberUserIDs": []}, 1002),
    ("getConversationListSplit", {"offset": "1"}, 1002),
    ("getConversationListSplit", {"offset": 1.5}, 1002),
    ("getConversationListSplit", {"count": True}, 1002),
    ("getConversationListSplit", [0, 1], 1002),
    ("getOneConversation", {"sourceID": "x"}, 1002),
    ("getOneConversation", {"sourceID": "x", "sessionType": 2}, 1002),
    ("getOneConversation", {"sessionType": 1}, 1002),
    ("markConversationMessageAsRead", "", 1002),
    ("markConversationMessageAsRead", None, 1002),
    ("markConversationMessageAsRead", {"conversationID": "x"}, 1002),
    ("getAdvancedHistoryMessageList", {"conversationID": 3}, 1002),
    ("getAdvancedHistoryMessageList", {"conversationID": "x", "count": "10"}, 1002),
    ("createGroup", {"groupInfo": {"groupName": "G"}, "groupName": "G", "memberUserIDs": []}, 1002),
    ("createGroup", {"groupInfo": "G", "memberUserIDs": []}, 1002),
    ("createGroup", {"groupInfo": {"groupName": "G"}, "adminUserIDs": "x"}, 1002),
    ("getSpecifiedGroupsInfo", "g", 1002),
    ("getGroupMemberList", {"filter": 0}, 1002),
    ("getGroupMemberList", {"groupID": "g", "count": "5"}, 1002),
    ("inviteUserToGroup", {"groupID": "g", "userIDList": "bob"}, 1002),
    ("kickGroupMember", {"groupID": "g"}, 1002),
    ("quitGroup", None, 1002),
    ("dismissGroup", 5, 1002),
    ("transferGroupOwner", {"groupID": "g"}, 1002),
    ("setGroupInfo", {"groupID": "g"}, 1002),
    ("setGroupMemberRoleLevel", {"groupID": "g", "userID": "u", "roleLevel": 100}, 1002),
    ("getGroupMessageReaderList", {"conversationID": "sg_x"}, 1002),
    ("getGroupMessageReceiptCounts", {"conversationID": "sg_x", "seqs": "1"}, 1002),
    ("getGroupMessageReceiptCounts", {"conversationID": "sg_x", "seqs": ["1"]}, 1002),
    ("changeInputStates", {"conversationID": "x", "focus": "yes"}, 1002),
    ("setConversationRecvMessageOpt", {"conversationID": "x", "opt": 1}, 1002),
    ("setConversationRecvMessageOpt", {"conversationID": "x", "opt": 3}, 1002),
    ("setConversationRecvMessageOpt", {"conversationID": "x"}, 1002),
    ("pinConversation", {"conversationID": "x", "isPinned": "yes"}, 1002),
    ("pinConversation", {"isPinned": True}, 1002),
    ("resetConversationGroupAtType", 5, 1002),
    ("markConversationAsUnread", None, 1002),
    ("hideConversation", "", 1002),
    ("setConversationDraft", {"conversationID": "x"}, 1002),
    ("setConversationDraft", {"conversationID": "x", "draftText": 5}, 1002),
    ("createTextAtMessage", {"text": "hi"}, 1002),
    ("createTextAtMessage", "hi", 1002),
    ("createTextAtMessage", {"text": "", "atUserIDList": ["b"]}, 1002),
    ("createTextAtMessage", {"text": "hi", "atUserIDList": ["b", "b"]}, 1002),
    ("createTextAtMessage", {"text": "hi", "atUserIDList": ["b"], "atUsersInfo": "b"}, 1002),
    ("createTextAtMessage", {"text": "hi", "atUserIDList": ["b"], "message": {"seq": 1}}, 1002),
    (
        "createTextAtMessage",
        {
            "text": "hi",
            "atUserIDList": ["b"],
            "atUsersInfo": [{"atUserID": "c", "groupNickname": "C"}],
        },
        1002,
    ),
    ("revokeMessage", {"conversationID": "x"}, 1002),
    ("createImageMessageByFile", {"file": "cat.png"}, 1002),
    ("searchLocalMessages", {"keywordList": "x"}, 1002),
    ("searchLocalMessages", {"keywordList": ["a"], "senderUserIDList": ["b"]}, 1002),
    ("setSelfInfo", {"nickname": 5}, 1002),
    ("setSelfInfo", {}, 1002),
    ("getUsersInfo", "bob", 1002),
    ("searchUsers", {"keyword": 5}, 1002),
    ("subscribePush", {"endpoint": "https://push.example.com/x"}, 1002),
    ("subscribePush", {"endpoint": "https://push.example.com/x", "keys": {}}, 1002),
    ("unsubscribePush", {}, 1002),
    ("createImageMessageByFile", {}, 1002),
    ("createFileMessageByFile", {"file": None}, 1002),
    ("uploadFile", {"file": 5}, 1002),
    ("getFileURL", {"url": "https://example.com/api/files/" + "a" * 64}, 1002),
    ("getFileURL", "/api/users/me", 1002),
    ("sendMessage", {"recvID": "x", "message": {"clientMsgID": "c", "contentType": 102}}, 1002),
    (
        "sendMessage",
        {
            "recvID": "x",
            "message": {"clientMsgID": "c", "contentType": 105, "fileElem": {"uuid": ""}},
        },
        1002,
    ),
    ("revokeMessage", "x", 1002),
    (
        "sendMessage",
        {"groupID": "g", "message": {"clientMsgID": "c", "contentType": 106, "atTextElem": "x"}},
        1002,
    ),
]


async def case_argument_checks(env: Env) -> None:
    sdk, _ = await logged_in(env)
    wrong = []
    for method, arg, code in ARGUMENT_CASES:
        answer = await sdk.call(method, arg)
        if answer.get("errCode") != code or not answer.get("errMsg") or "data" in answer:
            wrong.append((method, arg, code, answer))
    assert not wrong, wrong
    # Integral floats are integers: JS numbers may arrive so.
    assert (await sdk.call("getConversationListSplit", {"offset": 0.0, "count": 5.0}))[
        "errCode"
    ] == 0


CASES: dict[str, Callable[[Env], Awaitable[None]]] = {
    name.removeprefix("case_"): case
    for name, case in list(globals().items())
    if name.startswith("case_") and callable(case)
}


async def run(case: Callable[[Env], Awaitable[None]], env: Env) -> None:
    """Run one case, then log out every SDK and peer it started (also when it failed)."""
    try:
        await case(env)
    finally:
        for sdk in env.opened:
            await sdk.call("logout")
        for peer in env.peers:
            await peer.logout()
