"""Images and files in the SDK (issue 12), against the fake server: created from a file,
uploaded first when sent (OnProgress 0..100, never backwards), then sent by uuid; the
answer's server-filled elem stored like any sent message; upload refusals as the
FileError classes with nothing sent; fetching by URL only what the server allows (the
uploader, a message in the caller's window, never after a revocation)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from tidemark_sdk import (
    BytesFile,
    FileEmptyError,
    FileTooLargeError,
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

PNG = png(640, 480)
SHA = hashlib.sha256(PNG).hexdigest()


async def peer(world: World, user_id: str) -> TidemarkClient:
    """Another user on their own device (the fixture's memory store is one store)."""
    client, _ = world.client(MemoryStore())
    await client.login(user_id, PASSWORD)
    await world.settle()
    return client


def uploads(world: World) -> list[tuple[str, str, int]]:
    return list(world.server.upload_log)


def posts(world: World) -> int:
    return sum(
        1 for method, route in world.server.requests if (method, route) == ("POST", "/api/messages")
    )


def test_an_image_is_uploaded_then_sent_and_stored_as_the_server_filled_it(world: World) -> None:
    async def main() -> None:
        alice, transport = await world.logged_in("alice")
        bob = await peer(world, "bob")
        mine, theirs = Recorder(alice), Recorder(bob)
        message = await alice.create_image_message_by_file(BytesFile(PNG, "cat.png", "image/png"))
        assert message["contentType"] == 102 and message["textElem"] is None
        local = message["pictureElem"]
        assert local is not None
        assert local["sourcePicture"] == {
            "uuid": "",
            "type": "image/png",
            "size": len(PNG),
            "width": 0,
            "height": 0,
            "url": "",
        }
        assert uploads(world) == []  # nothing leaves before sendMessage
        sent = await alice.send_message(message, recv_id="bob")
        # Uploaded first (the File's type declared, kind=image), then sent by uuid.
        ((path, content_type, size),) = uploads(world)
        assert path.startswith("/api/files?") and "kind=image" in path and "name=cat.png" in path
        assert (content_type, size) == ("image/png", len(PNG))
        assert transport.http.index(("PUT", path)) < transport.http.index(("POST", "/api/messages"))
        elem = sent["pictureElem"]
        assert elem is not None and sent["contentType"] == 102 and sent["textElem"] is None
        source = elem["sourcePicture"]
        assert (source["uuid"], source["url"], source["width"], source["height"]) == (
            SHA,
            f"/api/files/{SHA}",
            640,
            480,
        )
        assert elem["bigPicture"] == source
        assert elem["snapshotPicture"]["width"] == 320 and elem["snapshotPicture"]["uuid"] != SHA
        progress = mine.of("OnProgress")
        assert [p["progress"] for p in progress] == [0, 25, 50, 75, 100]
        assert {p["clientMsgID"] for p in progress} == {message["clientMsgID"]}
        # Stored like any sent message; not announced to its sender as new.
        page = await alice.get_advanced_history_message_list(sent["conversationID"], 10)
        assert page["messageList"][-1] == sent
        assert not mine.of("OnRecvNewMessages")
        await world.settle()
        (got,) = [m for batch in theirs.of("OnRecvNewMessages") for m in batch]
        assert got == sent
        # Bob sees the message: he may fetch both blobs; carol may not.
        assert await bob.get_file(source["url"]) == PNG
        assert await bob.get_file(elem["snapshotPicture"]["url"])
        carol = await peer(world, "carol")
        with pytest.raises(NoSuchFileError):
            await carol.get_file(source["url"])
        for client in (alice, bob, carol):
            await client.close()

    run(main())


def test_a_file_message_keeps_its_name_and_the_sniffed_type(world: World, tmp_path: Path) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        path = tmp_path / "notes.txt"
        path.write_text("plain words")
        message = await alice.create_file_message_by_file(BytesFile.from_path(path))
        assert message["fileElem"] == {
            "filePath": "",
            "uuid": "",
            "sourceUrl": "",
            "fileName": "notes.txt",
            "fileSize": 11,
            "fileType": "",
        }
        sent = await alice.send_message(message, recv_id="bob")
        elem = sent["fileElem"]
        assert elem is not None and sent["contentType"] == 105
        assert (elem["fileName"], elem["fileSize"], elem["fileType"]) == (
            "notes.txt",
            11,
            "text/plain",
        )
        assert elem["sourceUrl"] == f"/api/files/{elem['uuid']}"
        # No type known: no claim (the server sniffs either way); kind=file.
        ((upload_path, content_type, _),) = uploads(world)
        assert content_type == "application/octet-stream" and "kind=file" in upload_path
        renamed = await alice.create_file_message_by_file(
            BytesFile(b"more words", "a.txt", "text/plain"), file_name="renamed.txt"
        )
        again = await alice.send_message(renamed, group_id=make_group(world)[0])
        assert again["fileElem"] is not None and again["fileElem"]["fileName"] == "renamed.txt"
        assert uploads(world)[-1][1] == "text/plain"
        await alice.close()

    run(main())


@pytest.mark.parametrize(
    ("file", "image", "error"),
    [
        (BytesFile(b"", "empty.png", "image/png"), True, FileEmptyError),
        (BytesFile(b"x" * 2048, "big.bin"), False, FileTooLargeError),
        (BytesFile(b"<html>", "fake.png", "image/png"), True, FileTypeMismatchError),
        (BytesFile(b"<html>", "page.html"), True, FileTypeMismatchError),  # kind=image
    ],
)
def test_upload_refusals_are_file_errors_and_nothing_is_sent(
    world: World, file: BytesFile, image: bool, error: type[Exception]
) -> None:
    async def main() -> None:
        world.server.max_upload_bytes = 1024
        alice, _ = await world.logged_in("alice")
        events = Recorder(alice)
        create = alice.create_image_message_by_file if image else alice.create_file_message_by_file
        message = await create(file)
        with pytest.raises(error) as caught:
            await alice.send_message(message, recv_id="bob")
        assert 1601 <= caught.value.code <= 1604  # type: ignore[attr-defined]
        assert posts(world) == 0
        assert await alice.get_all_conversation_list() == []
        assert [p["progress"] for p in events.of("OnProgress")][-1] < 100
        await alice.close()

    run(main())


def test_a_send_that_failed_after_its_upload_does_not_upload_again(world: World) -> None:
    async def main() -> None:
        alice, transport = await world.logged_in("alice")
        message = await alice.create_image_message_by_file(BytesFile(PNG, "cat.png", "image/png"))
        transport.failures["/api/messages"] = NetworkError("offline for a moment")
        with pytest.raises(NetworkError):
            await alice.send_message(message, recv_id="bob")
        sent = await alice.send_message(message, recv_id="bob")
        assert len(uploads(world)) == 1 and sent["pictureElem"] is not None
        # Sent: the file is no longer held (a repeat is idempotent by clientMsgID anyway).
        assert alice._pending_files == {}  # type: ignore[attr-defined]
        await alice.close()

    run(main())


def test_a_message_naming_an_uploaded_uuid_is_sent_without_a_file(world: World) -> None:
    """A forward: a picture message carrying the server's uuid (no file held here)."""

    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        first = await alice.send_message(
            await alice.create_image_message_by_file(BytesFile(PNG, "cat.png")), recv_id="bob"
        )
        forward: Any = {**first, "clientMsgID": "forward-1"}
        again = await alice.send_message(forward, recv_id="carol")
        assert again["pictureElem"] == first["pictureElem"] and len(uploads(world)) == 1
        stranger: Any = {**first, "clientMsgID": "forward-2"}
        stranger["pictureElem"] = {"sourcePicture": {"uuid": "0" * 64}}
        with pytest.raises(NoSuchFileError):
            await alice.send_message(stranger, recv_id="carol")
        nothing: Any = {
            **first,
            "clientMsgID": "forward-3",
            "pictureElem": {"sourcePicture": {"uuid": ""}},
        }
        with pytest.raises(ValidationFailedError):
            await alice.send_message(nothing, recv_id="carol")
        await alice.close()

    run(main())


def test_a_logout_forgets_the_files_of_unsent_messages(world: World) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        message = await alice.create_file_message_by_file(BytesFile(b"words", "a.txt"))
        await alice.logout()
        again, _ = await world.logged_in("alice")
        with pytest.raises(ValidationFailedError):
            await again.send_message(message, recv_id="bob")
        assert uploads(world) == []
        await again.close()

    run(main())


def test_fetching_follows_the_membership_window_and_revocation(world: World) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        bob = await peer(world, "bob")
        gid, cid = make_group(world, members=("bob",))
        sent = await alice.send_message(
            await alice.create_file_message_by_file(BytesFile(b"the plan", "plan.txt")),
            group_id=gid,
        )
        assert sent["fileElem"] is not None
        url = sent["fileElem"]["sourceUrl"]
        await world.settle()
        assert await bob.get_file(url) == b"the plan"
        # Carol joins later: the message is outside her window.
        act(world, "alice", "POST", gid, "/members", {"userIDList": ["carol"]})
        carol = await peer(world, "carol")
        with pytest.raises(NoSuchFileError):
            await carol.get_file(url)
        # Bob is removed: what he saw stays fetchable (rule 11), until it is revoked.
        act(world, "alice", "POST", gid, "/kick", {"userIDList": ["bob"]})
        assert await bob.get_file(url + "?download=1") == b"the plan"
        await alice.revoke_message(cid, sent["clientMsgID"])
        with pytest.raises(NoSuchFileError):
            await bob.get_file(url)
        assert await alice.get_file(url) == b"the plan"  # the uploader still may
        await world.settle()
        (tombstone,) = await bob._store.messages(cid, sent["seq"] + 1, 1)  # type: ignore[attr-defined]
        assert tombstone["contentType"] == 2101 and tombstone["fileElem"] is None
        for client in (alice, bob, carol):
            await client.close()

    run(main())


@pytest.mark.parametrize(
    "url",
    ["https://example.com/api/files/" + "a" * 64, "/api/files/abc", "/api/users/me", 5, None],
)
def test_get_file_takes_only_the_servers_file_urls(world: World, url: Any) -> None:
    async def main() -> None:
        alice, transport = await world.logged_in("alice")
        before = len(transport.http)
        with pytest.raises(ValidationFailedError):
            await alice.get_file(url)
        assert len(transport.http) == before  # the token never went anywhere
        await alice.close()

    run(main())


def test_upload_file_answers_the_uploaded_file(world: World) -> None:
    async def main() -> None:
        alice, _ = await world.logged_in("alice")
        image = await alice.upload_file(BytesFile(PNG, "me.png", "image/png"))
        assert image["url"] == f"/api/files/{SHA}" and image["thumbnail"] is not None
        assert "kind=image" in uploads(world)[-1][0]  # an image type: kind image
        text = await alice.upload_file(BytesFile(b"hello", "x.txt"), name="hello.txt")
        assert (text["fileName"], text["thumbnail"], text["type"]) == (
            "hello.txt",
            None,
            "text/plain",
        )
        assert "kind=file" in uploads(world)[-1][0]
        with pytest.raises(ValidationFailedError):
            await alice.upload_file(BytesFile(b"hello", "x.txt"), kind="video")
        await alice.close()

    run(main())
