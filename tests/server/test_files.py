"""Images and files: uploads judged by their bytes, stored once, fetched only by those who
may (the uploader, whoever sees a message showing it, anyone for an avatar), answered with
headers that never let a browser render them as a page; picture and file messages."""

from __future__ import annotations

import hashlib
import io
import json
import random
import select as io_select
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, update
from websockets.sync.client import connect

from server.asgi import TidemarkASGI
from server.security import CONTENT_SECURITY_POLICY
from server.serve import in_thread
from server.storage.tables import files, message_files, messages, uploads, users
from tests.server.conftest import make_app, register

SMALL_LIMIT = 64 * 1024
FILE_CSP = "default-src 'none'; sandbox"
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>\n"
)


@pytest.fixture
def blob_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def app(database_url: str, blob_root: Path):
    """The app with its blobs in a folder of this test (whatever the database)."""
    app = make_app(database_url, FILE_STORAGE_URL=f"file://{blob_root}")
    yield app
    app.extensions["tidemark"].db.dispose()


@pytest.fixture
def small_app(database_url: str, blob_root: Path):
    app = make_app(
        database_url, FILE_STORAGE_URL=f"file://{blob_root}", MAX_UPLOAD_BYTES=SMALL_LIMIT
    )
    yield app
    app.extensions["tidemark"].db.dispose()


def image(
    size: tuple[int, int] = (640, 480),
    fmt: str = "PNG",
    mode: str = "RGB",
    exif: dict[int, Any] | None = None,
) -> bytes:
    picture = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        for tag, value in exif.items():
            data[tag] = value
        kwargs["exif"] = data
    picture.save(out, fmt, **kwargs)
    return out.getvalue()


def put(
    user,
    data: bytes,
    name: str = "a.bin",
    kind: str = "file",
    content_type: str = "application/octet-stream",
    expect: int = 201,
) -> Any:
    response = user.client.put(
        "/api/files",
        query_string={"name": name, "kind": kind},
        data=data,
        headers={**user.headers, "Content-Type": content_type},
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def get(user, sha: str, **query: str):
    return user.client.get(
        f"/api/files/{sha}", query_string=query, headers=user.headers, buffered=True
    )


def counts(app) -> tuple[int, int, int]:
    with app.extensions["tidemark"].db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.scalar(select(func.count()).select_from(table))
            for table in (files, uploads, message_files)
        )


def blobs_on_disk(root: Path) -> list[Path]:
    """Every file under the blob folder, partial ones included."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]


def send_picture(
    user, sha: str, client_msg_id: str | None = None, expect: int = 200, **target: str
) -> Any:
    body = {
        "clientMsgID": client_msg_id or uuid.uuid4().hex,
        "contentType": 102,
        # What createImageMessageByFile makes: everything but the uuid is ignored.
        "pictureElem": {
            "sourcePath": "",
            "sourcePicture": {"uuid": sha, "url": "", "width": 0, "height": 0},
            "bigPicture": {"uuid": "", "url": ""},
            "snapshotPicture": {"uuid": "", "url": ""},
        },
        **target,
    }
    return user.call("POST", "/api/messages", body, expect)


def send_file(
    user, sha: str, expect: int = 200, file_name: str | None = None, **target: str
) -> Any:
    elem: dict[str, Any] = {"uuid": sha, "filePath": "", "sourceUrl": "", "fileSize": 0}
    if file_name is not None:
        elem["fileName"] = file_name
    body = {"clientMsgID": uuid.uuid4().hex, "contentType": 105, "fileElem": elem, **target}
    return user.call("POST", "/api/messages", body, expect)


# --- Upload and fetch -------------------------------------------------------------------


def test_an_upload_is_answered_and_fetched_by_its_uploader(app, make_user):
    alice = make_user()
    data = b"minutes of the meeting\n" * 100
    answer = put(alice, data, name="minutes.txt", content_type="text/plain")
    sha = hashlib.sha256(data).hexdigest()
    assert answer == {
        "uuid": sha,
        "url": f"/api/files/{sha}",
        "fileName": "minutes.txt",
        "type": "text/plain",
        "size": len(data),
        "width": 0,
        "height": 0,
        "thumbnail": None,
    }
    fetched = get(alice, sha)
    assert fetched.status_code == 200
    assert fetched.data == data


def test_the_same_bytes_twice_are_one_blob_and_one_row(app, make_user, blob_root):
    alice, bob = make_user(), make_user()
    data = image((400, 300))
    first = put(alice, data, name="one.png", kind="image")
    again = put(alice, data, name="two.png", kind="image")
    other = put(bob, data, name="bobs.png", content_type="image/png")
    assert first["uuid"] == again["uuid"] == other["uuid"]
    assert first["thumbnail"] == again["thumbnail"] == other["thumbnail"]
    assert again["fileName"] == "two.png"
    # One row and one blob for the original, one for its thumbnail; an upload row per
    # (user, blob): alice's two (original, thumbnail), bob's two.
    assert counts(app) == (2, 4, 0)
    assert len(blobs_on_disk(blob_root)) == 2
    assert get(bob, first["uuid"]).status_code == 200  # bob uploaded it too


def test_the_default_limit_is_25_mib(app):
    assert app.config["MAX_UPLOAD_BYTES"] == 26214400 == 25 * 1024 * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_upload_is_refused_and_nothing_is_kept(small_app, blob_root, chunked):
    alice = register(small_app.test_client())
    data = b"x" * (SMALL_LIMIT + 1)
    headers = {**alice.headers, "Content-Type": "application/octet-stream"}
    if chunked:
        response = alice.client.put(
            "/api/files?name=big.bin",
            input_stream=io.BytesIO(data),
            headers={**headers, "Transfer-Encoding": "chunked"},
        )
    else:
        response = alice.client.put("/api/files?name=big.bin", data=data, headers=headers)
    assert error_of(response) == (413, "FILE_TOO_LARGE")
    assert response.get_json()["errCode"] == 1601
    assert counts(small_app) == (0, 0, 0)
    assert blobs_on_disk(blob_root) == []
    # Exactly at the limit is accepted.
    assert put(alice, data[:-1])["size"] == SMALL_LIMIT


def _raw_put(url: str, token: str, head: dict[str, str], body_parts: list[bytes]) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    lines = [
        "PUT /api/files?name=big.bin HTTP/1.1",
        "Host: x",
        f"Authorization: Bearer {token}",
        "Content-Type: application/octet-stream",
        *(f"{k}: {v}" for k, v in head.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    for part in body_parts:
        sock.sendall(part)
        # Stop sending once the server has answered: bytes it never reads would make its
        # close a reset, which loses the answer (as a browser would see it too).
        if io_select.select([sock], [], [], 0.2)[0]:
            break
    answer = b""
    while chunk := sock.recv(65536):  # the server answers, then closes
        answer += chunk
    sock.close()
    return answer


def test_over_the_limit_by_content_length_is_refused_at_once_when_served(small_app, blob_root):
    alice = register(small_app.test_client())
    with in_thread(TidemarkASGI(small_app)) as url:
        # Not one byte of the body is sent: the answer comes from the header alone.
        answer = _raw_put(url, alice.token, {"Content-Length": str(SMALL_LIMIT + 1)}, [])
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"FILE_TOO_LARGE"' in answer
    assert counts(small_app) == (0, 0, 0)
    assert blobs_on_disk(blob_root) == []


def test_a_chunked_upload_is_refused_as_it_grows_past_the_limit_when_served(small_app, blob_root):
    alice = register(small_app.test_client())
    piece = b"y" * 8192
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    # Past the limit, and never finished (no last chunk): refused while reading.
    parts = [chunk] * (SMALL_LIMIT // len(piece) + 2)
    with in_thread(TidemarkASGI(small_app)) as url:
        answer = _raw_put(url, alice.token, {"Transfer-Encoding": "chunked"}, parts)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"FILE_TOO_LARGE"' in answer
    assert counts(small_app) == (0, 0, 0)
    assert blobs_on_disk(blob_root) == []


def test_a_served_upload_from_an_unknown_token_is_refused_before_its_body(small_app):
    with in_thread(TidemarkASGI(small_app)) as url:
        answer = _raw_put(url, "forged", {"Content-Length": "1000"}, [])
    assert answer.startswith(b"HTTP/1.1 401"), answer
    assert counts(small_app) == (0, 0, 0)


def test_a_served_upload_streams_to_the_store(app, live_server, blob_root):
    alice = register(app.test_client())
    data = random.Random(12).randbytes(2 * 1024 * 1024)  # over the 64 KiB JSON limit
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    answer = httpx.put(
        f"{live_server}/api/files",
        params={"name": "noise.bin"},
        content=chunks,
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert answer.status_code == 201, answer.text
    sha = hashlib.sha256(data).hexdigest()
    assert answer.json()["uuid"] == sha
    assert answer.json()["type"] == "application/octet-stream"
    assert (blob_root / sha[:2] / sha[2:]).read_bytes() == data


def test_an_empty_file_is_refused(app, make_user, blob_root):
    alice = make_user()
    response = alice.client.put("/api/files?name=empty.txt", data=b"", headers=alice.headers)
    assert error_of(response) == (400, "FILE_EMPTY")
    assert response.get_json()["errCode"] == 1602
    assert counts(app) == (0, 0, 0)
    assert blobs_on_disk(blob_root) == []


@pytest.mark.parametrize(
    ("data", "declared", "kind"),
    [
        (HTML, "image/png", "file"),  # a page that claims to be a picture
        (PDF, "image/png", "file"),
        (image(fmt="JPEG"), "image/png", "image"),  # an image, but not the one declared
        (HTML, "application/octet-stream", "image"),  # no claim, but not an image
        (PDF, "application/pdf", "image"),
        (SVG, "application/octet-stream", "image"),  # SVG is not a raster image
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "image/png", "image"),  # a broken PNG
    ],
    ids=[
        "html-as-png",
        "pdf-as-png",
        "jpeg-as-png",
        "html-as-image",
        "pdf-as-image",
        "svg-as-image",
        "broken-png",
    ],
)
def test_bytes_that_are_not_what_was_declared_are_refused(
    app, make_user, blob_root, data, declared, kind
):
    alice = make_user()
    response = alice.client.put(
        "/api/files",
        query_string={"name": "x.png", "kind": kind},
        data=data,
        headers={**alice.headers, "Content-Type": declared},
    )
    assert error_of(response) == (415, "FILE_TYPE_MISMATCH")
    assert response.get_json()["errCode"] == 1603
    assert counts(app) == (0, 0, 0)
    assert blobs_on_disk(blob_root) == []


@pytest.mark.parametrize(
    ("data", "name", "declared"),
    [
        (b"# Notes\n\n- tide at 6\n", "notes.md", "text/markdown"),
        (b"a,b\n1,2\n", "table.csv", "text/csv"),
        (b'{"tide": 6}\n', "data.json", "application/json"),
        (b"tide: 6\n", "conf.yaml", "application/x-yaml"),
        (b"<!doctype html><p>hi</p>", "page.txt", "text/plain"),  # stored as text/html
    ],
    ids=["markdown", "csv", "json", "yaml", "html-named-txt"],
)
def test_text_files_are_not_refused_for_the_browsers_name_of_their_type(
    app, make_user, data, name, declared
):
    # Browsers name text types by extension where libmagic says text/plain: no lie.
    alice = make_user()
    uploaded = put(alice, data, name=name, content_type=declared)
    assert uploaded["type"].startswith(("text/", "application/"))
    fetched = get(alice, uploaded["uuid"])
    assert fetched.data == data
    assert fetched.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("data", "declared"),
    [(HTML, "application/pdf"), (PDF, "text/plain"), (b"plain words\n", "application/zip")],
    ids=["text-as-pdf", "pdf-as-text", "text-as-zip"],
)
def test_text_never_passes_for_binary_nor_binary_for_text(app, make_user, data, declared):
    alice = make_user()
    response = alice.client.put(
        "/api/files",
        query_string={"name": "x", "kind": "file"},
        data=data,
        headers={**alice.headers, "Content-Type": declared},
    )
    assert error_of(response) == (415, "FILE_TYPE_MISMATCH")


def test_a_declared_type_that_matches_is_accepted(app, make_user):
    alice = make_user()
    assert (
        put(alice, PDF, name="a.pdf", content_type="application/pdf")["type"] == "application/pdf"
    )
    assert (
        put(alice, image(fmt="JPEG"), name="a.jpg", content_type="image/jpeg; charset=x")["type"]
        == "image/jpeg"
    )


@pytest.mark.parametrize("side", [9_000, 12_000], ids=["warned-size", "refused-size"])
def test_a_decompression_bomb_is_refused_not_a_500(app, make_user, side):
    alice = make_user()
    bomb = io.BytesIO()
    Image.new("1", (side, side)).save(bomb, "PNG")  # 81 or 144 megapixels, a few KiB
    assert len(bomb.getvalue()) < 100_000
    response = alice.client.put(
        "/api/files?name=bomb.png&kind=image",
        data=bomb.getvalue(),
        headers={**alice.headers, "Content-Type": "image/png"},
    )
    assert error_of(response) == (415, "FILE_TYPE_MISMATCH")
    # As a plain file it is only bytes: kept, never decoded, no thumbnail.
    kept = put(alice, bomb.getvalue(), name="bomb.png", content_type="image/png")
    assert (kept["width"], kept["thumbnail"]) == (0, None)


def test_bad_upload_parameters_are_refused(app, make_user):
    alice = make_user()
    for query in (
        {"kind": "file"},
        {"name": "a", "kind": "video"},
        {"name": "a\x01b"},
        {"name": "x" * 256},
    ):
        response = alice.client.put(
            "/api/files", query_string=query, data=b"abc", headers=alice.headers
        )
        assert error_of(response) == (400, "VALIDATION_FAILED"), query
    assert counts(app) == (0, 0, 0)


def test_uploads_are_rate_limited_per_user(database_url, blob_root):
    app = make_app(
        database_url, FILE_STORAGE_URL=f"file://{blob_root}", UPLOAD_RATE_LIMIT="2 per minute"
    )
    try:
        client = app.test_client()
        alice, bob = register(client), register(client)
        put(alice, b"one")
        put(alice, b"two")
        response = alice.client.put("/api/files?name=c", data=b"three", headers=alice.headers)
        assert error_of(response) == (429, "RATE_LIMITED")
        put(bob, b"three")  # another user's count
    finally:
        app.extensions["tidemark"].db.dispose()


# --- Images -----------------------------------------------------------------------------

ORIENTATION, DESCRIPTION, MAKE = 0x0112, 0x010E, 0x010F


def test_an_image_is_measured_and_its_thumbnail_re_encoded_upright_without_metadata(app, make_user):
    alice = make_user()
    # Stored 1000 x 500, shown a quarter turn rotated (EXIF orientation 6): 500 x 1000.
    photo = image(
        (1000, 500), "JPEG", exif={ORIENTATION: 6, DESCRIPTION: "home address", MAKE: "Phone"}
    )
    assert Image.open(io.BytesIO(photo)).getexif()[DESCRIPTION] == "home address"
    answer = put(alice, photo, name="photo.jpg", kind="image", content_type="image/jpeg")
    assert (answer["type"], answer["width"], answer["height"]) == ("image/jpeg", 500, 1000)
    thumb = answer["thumbnail"]
    assert (thumb["width"], thumb["height"], thumb["type"]) == (160, 320, "image/jpeg")
    assert thumb["url"] == f"/api/files/{thumb['uuid']}"
    data = get(alice, thumb["uuid"]).data
    assert hashlib.sha256(data).hexdigest() == thumb["uuid"] and len(data) == thumb["size"]
    small = Image.open(io.BytesIO(data))
    assert (small.format, small.size) == ("JPEG", (160, 320))
    assert dict(small.getexif()) == {}
    assert b"home address" not in data and b"Phone" not in data
    # The original is kept exactly as sent.
    assert get(alice, answer["uuid"]).data == photo


def test_a_transparent_image_gets_a_png_thumbnail_and_a_small_one_keeps_its_size(app, make_user):
    alice = make_user()
    answer = put(alice, image((100, 40), "PNG", mode="RGBA"), name="logo.png", kind="image")
    thumb = answer["thumbnail"]
    assert (thumb["type"], thumb["width"], thumb["height"]) == ("image/png", 100, 40)
    small = Image.open(io.BytesIO(get(alice, thumb["uuid"]).data))
    assert small.mode == "RGBA" and small.getpixel((0, 0))[3] == 128


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_gif_and_webp_are_images(app, make_user, fmt):
    alice = make_user()
    answer = put(alice, image((800, 600), fmt), name=f"a.{fmt.lower()}", kind="image")
    assert answer["type"] == f"image/{fmt.lower()}"
    assert (answer["thumbnail"]["width"], answer["thumbnail"]["height"]) == (320, 240)


# --- Who may fetch ----------------------------------------------------------------------


@pytest.fixture
def shared(app, make_user):
    """ann sends a picture to a group of bob and dan; cat is outside; dan left before the
    message; eve joined after it."""
    ann, bob, cat, dan, eve = (make_user() for _ in range(5))
    group = ann.group(bob.user_id, dan.user_id)
    gid, cid = group["groupID"], group["conversationID"]
    dan.call("POST", f"/api/groups/{gid}/quit", {})
    upload = put(ann, image(), name="plan.png", kind="image")
    sent = send_picture(ann, upload["uuid"], groupID=gid)["message"]
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [eve.user_id]})
    return {
        "ann": ann,
        "bob": bob,
        "cat": cat,
        "dan": dan,
        "eve": eve,
        "cid": cid,
        "gid": gid,
        "upload": upload,
        "sent": sent,
    }


def _urls(case) -> list[str]:
    return [case["upload"]["uuid"], case["upload"]["thumbnail"]["uuid"]]


def test_every_file_url_of_a_message_follows_the_readers_window(shared):
    for sha in _urls(shared):
        assert get(shared["ann"], sha).status_code == 200  # the uploader
        assert get(shared["bob"], sha).status_code == 200  # a member who sees the message
        for outsider in ("cat", "dan", "eve"):  # never a member, left before, joined after
            response = get(shared[outsider], sha)
            assert error_of(response) == (404, "FILE_NOT_FOUND"), outsider
            assert response.get_json()["errCode"] == 1604


def test_an_unknown_file_is_the_same_404(shared):
    bob = shared["bob"]
    for sha in ("0" * 64, "not-a-sha", "A" * 64):
        assert error_of(get(bob, sha)) == (404, "FILE_NOT_FOUND")


def test_anonymous_callers_get_401(shared):
    client = shared["ann"].client
    for sha in _urls(shared):
        response = client.get(f"/api/files/{sha}")
        assert error_of(response) == (401, "UNAUTHORIZED")
        assert (
            client.get(f"/api/files/{sha}", headers={"Authorization": "Bearer forged"}).status_code
            == 401
        )
    assert error_of(client.put("/api/files?name=a", data=b"abc")) == (401, "UNAUTHORIZED")


def test_a_revoke_takes_the_files_from_those_who_had_only_the_message(app, shared):
    ann, bob = shared["ann"], shared["bob"]
    revoked = ann.revoke(shared["cid"], shared["sent"]["clientMsgID"])["message"]
    assert revoked["contentType"] == 2101 and revoked["pictureElem"] is None
    for sha in _urls(shared):
        assert error_of(get(bob, sha)) == (404, "FILE_NOT_FOUND")
        assert get(ann, sha).status_code == 200  # still the uploader's
    assert counts(app)[2] == 0
    with app.extensions["tidemark"].db.read() as conn:
        content = conn.scalar(
            select(messages.c.content).where(
                messages.c.seq == shared["sent"]["seq"], messages.c.conversation_id == shared["cid"]
            )
        )
    assert shared["upload"]["uuid"] not in content


def test_a_file_sent_again_elsewhere_is_fetchable_there(shared, make_user):
    bob, cat, dan = shared["bob"], shared["cat"], shared["dan"]
    # bob did not upload it, but sees a message that shows it: he may send it on.
    forwarded = send_file(bob, shared["upload"]["uuid"], recvID=cat.user_id)["message"]
    assert forwarded["fileElem"]["fileName"] == "plan.png"  # the name ann uploaded it under
    response = get(cat, shared["upload"]["uuid"])
    assert response.status_code == 200
    # bob gave it no name of his own: the download is named by its sha (the elem has it).
    sha = shared["upload"]["uuid"]
    assert response.headers["Content-Disposition"] == f"inline; filename*=UTF-8''{sha[:16]}.png"
    # dan, outside both, still may not fetch it, nor send it.
    assert error_of(get(dan, shared["upload"]["uuid"])) == (404, "FILE_NOT_FOUND")
    assert (
        send_file(dan, shared["upload"]["uuid"], recvID=cat.user_id, expect=404)["error"]
        == "FILE_NOT_FOUND"
    )


def test_a_users_avatar_is_fetchable_by_anyone_logged_in(app, shared):
    ann, cat = shared["ann"], shared["cat"]
    face = put(ann, image((64, 64)), name="me.png", kind="image")
    assert get(cat, face["uuid"]).status_code == 404
    with app.extensions["tidemark"].db.write() as tx:
        tx.conn.execute(
            update(users)
            .where(users.c.user_id == ann.user_id)
            .values(face_url=f"/api/files/{face['uuid']}")
        )
    assert get(cat, face["uuid"]).status_code == 200
    assert cat.client.get(f"/api/files/{face['uuid']}").status_code == 401
    with app.extensions["tidemark"].db.write() as tx:
        tx.conn.execute(update(users).where(users.c.user_id == ann.user_id).values(face_url=""))
    assert get(cat, face["uuid"]).status_code == 404


# --- Headers ----------------------------------------------------------------------------


@pytest.fixture
def served(app, live_server):
    alice = register(app.test_client())

    def fetch(data: bytes, name: str, query: str = "") -> httpx.Response:
        answer = put(alice, data, name=name)
        return httpx.get(
            f"{live_server}{answer['url']}{query}",
            headers={"Authorization": f"Bearer {alice.token}"},
        )

    return fetch


def _disposition(response: httpx.Response) -> str:
    return response.headers["content-disposition"].split(";", 1)[0]


@pytest.mark.parametrize(
    ("data", "name", "query", "content_type", "disposition"),
    [
        (image(fmt="PNG"), "a.png", "", "image/png", "inline"),
        (image(fmt="JPEG"), "a.jpg", "", "image/jpeg", "inline"),
        (image(fmt="GIF"), "a.gif", "", "image/gif", "inline"),
        (image(fmt="WEBP"), "a.webp", "", "image/webp", "inline"),
        (image(fmt="PNG"), "a.png", "?download=1", "image/png", "attachment"),
        (SVG, "a.svg", "", "application/octet-stream", "attachment"),
        (HTML, "a.html", "", "application/octet-stream", "attachment"),
        (PDF, "a.pdf", "", "application/octet-stream", "attachment"),
        (b"plain words\n", "a.txt", "", "application/octet-stream", "attachment"),
    ],
    ids=["png", "jpeg", "gif", "webp", "png-download", "svg", "html", "pdf", "text"],
)
def test_file_answers_never_render_as_a_page(served, data, name, query, content_type, disposition):
    response = served(data, name, query)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == content_type
    assert _disposition(response) == disposition
    assert response.headers["content-disposition"].endswith(f"filename*=UTF-8''{name}")
    # Its own policy, instead of the page's (not both), and one nosniff.
    assert response.headers.get_list("content-security-policy") == [FILE_CSP]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["x-frame-options"] == "DENY"  # the layer's other headers stay


def test_a_file_name_is_encoded_in_the_disposition(served):
    response = served(b"notes", 'r\u00e9sum\u00e9 "final"; x.txt')
    assert response.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%3B%20x.txt"
    )


def test_an_unchanged_file_is_a_304(app, make_user):
    alice = make_user()
    answer = put(alice, b"same bytes")
    etag = f'"{answer["uuid"]}"'
    response = alice.client.get(answer["url"], headers={**alice.headers, "If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag


def test_the_page_may_show_images_from_blob_urls(live_server):
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["img-src"] == "'self' blob:"
    page = httpx.get(f"{live_server}/")
    assert page.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]


# --- Picture and file messages ----------------------------------------------------------


def test_a_picture_message_is_filled_in_from_the_upload(app, make_user):
    alice, bob = make_user(), make_user()
    up = put(alice, image((1280, 720), "JPEG"), name="view.jpg", kind="image")
    sent = send_picture(alice, up["uuid"], recvID=bob.user_id)
    message = sent["message"]
    source = {
        "uuid": up["uuid"],
        "type": "image/jpeg",
        "size": up["size"],
        "width": 1280,
        "height": 720,
        "url": up["url"],
    }
    thumb = {**up["thumbnail"]}
    assert message["contentType"] == 102
    assert message["pictureElem"] == {
        "sourcePath": "",
        "sourcePicture": source,
        "bigPicture": source,
        "snapshotPicture": thumb,
    }
    assert message["textElem"] is None and message["fileElem"] is None
    # The list shows it as the latest message, and bob's history has it.
    assert bob.record(message["conversationID"])["latestMsg"] == message
    history = bob.call("GET", f"/api/conversations/{message['conversationID']}/messages")
    assert history["messages"] == [message]
    with app.extensions["tidemark"].db.read() as conn:
        rows = set(conn.execute(select(message_files.c.seq, message_files.c.sha256)))
    assert rows == {(message["seq"], up["uuid"]), (message["seq"], thumb["uuid"])}
    assert get(bob, up["uuid"]).status_code == 200


def test_a_file_message_is_filled_in_from_the_upload(app, make_user):
    alice, bob = make_user(), make_user()
    up = put(alice, PDF, name="report.pdf")
    message = send_file(alice, up["uuid"], recvID=bob.user_id)["message"]
    assert message["contentType"] == 105
    assert message["fileElem"] == {
        "filePath": "",
        "uuid": up["uuid"],
        "sourceUrl": up["url"],
        "fileName": "report.pdf",
        "fileSize": len(PDF),
        "fileType": "application/pdf",
    }
    renamed = send_file(alice, up["uuid"], recvID=bob.user_id, file_name="Q3 report.pdf")["message"]
    assert renamed["fileElem"]["fileName"] == "Q3 report.pdf"
    assert counts(app)[2] == 2  # one blob row per message
    revoked = alice.revoke(message["conversationID"], renamed["clientMsgID"])["message"]
    assert revoked["fileElem"] is None
    assert get(bob, up["uuid"]).status_code == 200  # the first message still shows it
    alice.revoke(message["conversationID"], message["clientMsgID"])
    assert error_of(get(bob, up["uuid"])) == (404, "FILE_NOT_FOUND")


def test_sending_a_file_that_is_not_yours_is_1604(app, make_user):
    alice, bob, mallory = make_user(), make_user(), make_user()
    up = put(alice, image(), name="a.png", kind="image")
    for sha in (up["uuid"], up["thumbnail"]["uuid"], "f" * 64):
        answer = send_picture(mallory, sha, recvID=bob.user_id, expect=404)
        assert (answer["error"], answer["errCode"]) == ("FILE_NOT_FOUND", 1604)
        assert send_file(mallory, sha, recvID=bob.user_id, expect=404)["error"] == "FILE_NOT_FOUND"
    with app.extensions["tidemark"].db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(messages)) == 0
    assert counts(app)[2] == 0


def test_a_picture_must_be_an_image(app, make_user):
    alice, bob = make_user(), make_user()
    up = put(alice, PDF, name="a.pdf")
    answer = send_picture(alice, up["uuid"], recvID=bob.user_id, expect=415)
    assert (answer["error"], answer["errCode"]) == ("FILE_TYPE_MISMATCH", 1603)
    # An image uploaded as a file is an image all the same.
    photo = put(alice, image(), name="b.png")
    assert send_picture(alice, photo["uuid"], recvID=bob.user_id)["message"]["contentType"] == 102


def test_a_resent_picture_answers_the_original(app, make_user):
    alice, bob = make_user(), make_user()
    up = put(alice, image(), name="a.png", kind="image")
    first = send_picture(alice, up["uuid"], client_msg_id="pic-1", recvID=bob.user_id)["message"]
    again = send_picture(alice, up["uuid"], client_msg_id="pic-1", recvID=bob.user_id)["message"]
    assert again == first
    with app.extensions["tidemark"].db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(messages)) == 1
    assert counts(app)[2] == 2


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {
                "contentType": 102,
                "text": "hi",
                "pictureElem": {"sourcePicture": {"uuid": "a" * 64}},
            },
            "text: not allowed",
        ),
        ({"contentType": 102}, "pictureElem: required"),
        (
            {"contentType": 105, "pictureElem": {"sourcePicture": {"uuid": "a" * 64}}},
            "fileElem: required",
        ),
        ({"text": "hi", "fileElem": {"uuid": "a" * 64}}, "fileElem: only for contentType 105"),
        ({"contentType": 101}, "text: required"),
        ({"contentType": 106, "text": "hi"}, "atUserIDList: required"),
        ({"contentType": 102, "pictureElem": {"sourcePicture": {"uuid": "nope"}}}, "uuid"),
        ({"contentType": 105, "fileElem": {"uuid": "a" * 64, "fileName": "a\x02"}}, "fileName"),
        ({"contentType": 103, "text": "hi"}, "contentType"),
    ],
)
def test_bad_picture_and_file_messages_are_refused(make_user, body, problem):
    alice, bob = make_user(), make_user()
    answer = alice.call(
        "POST", "/api/messages", {"clientMsgID": "x1", "recvID": bob.user_id, **body}, 400
    )
    assert answer["error"] == "VALIDATION_FAILED"
    assert problem in answer["errMsg"]


def test_the_socket_sends_pictures_too(app, live_server):
    client = app.test_client()
    alice, bob = register(client), register(client)
    up = put(alice, image(), name="a.png", kind="image")
    with connect(live_server.replace("http", "ws") + "/api/ws", open_timeout=5) as socket_:
        socket_.send(json.dumps({"type": "auth", "token": alice.token}))
        assert json.loads(socket_.recv(timeout=5))["type"] == "hello"
        body = {
            "clientMsgID": "ws-1",
            "recvID": bob.user_id,
            "contentType": 102,
            "pictureElem": {"sourcePicture": {"uuid": up["uuid"]}},
        }
        socket_.send(json.dumps({"type": "request", "id": 7, "op": "sendMessage", "body": body}))
        while (frame := json.loads(socket_.recv(timeout=5)))["type"] != "response":
            pass
    assert frame["id"] == 7, frame
    assert frame["data"]["message"]["pictureElem"]["snapshotPicture"] == up["thumbnail"]
    assert get(bob, up["uuid"]).status_code == 200
