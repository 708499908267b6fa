"""Issue 12 in a real browser: an image and a file sent from the page reach another
device (after a reload too) as a server-made thumbnail and a download; a search finds an
old message and opens the chat at it; uploaded HTML and SVG never render as a page of
the site.

Other users act through the HTTP API; the pages are driven through the contract's test
ids (``attach-input``, ``message-image``, ``image-viewer``, ``message-file``,
``search-input``, ``search-result``, ``message-item[data-highlight]``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.driver import Api, App, User, single

Screenshot = Callable[[Page, str], Path]


def logged_in(open_app: Callable[..., App], user_id: str) -> App:
    app = open_app()
    app.log_in(user_id)
    return app


def png(path: Path, width: int, height: int) -> Path:
    picture = Image.new("RGB", (width, height), (20, 110, 160))
    for x in range(0, width, 40):  # stripes, so a thumbnail is not one flat colour
        for y in range(height):
            picture.putpixel((x, y), (240, 200, 40))
    picture.save(path, "PNG")
    return path


def image_size(app: App, locator: Any) -> dict[str, Any]:
    """The loaded <img>'s natural size and where its bytes came from."""
    return locator.evaluate(  # type: ignore[no-any-return]
        """async (img) => {
            if (!img.complete || !img.naturalWidth) {
                await new Promise((ok, fail) => { img.onload = ok; img.onerror = fail; });
            }
            return {width: img.naturalWidth, height: img.naturalHeight, src: img.src};
        }"""
    )


def test_an_image_and_a_file_sent_from_the_page_reach_the_other_device_after_a_reload(
    api: Api, open_app: Callable[..., App], screenshot: Screenshot, tmp_path: Path
) -> None:
    # Intent: issue 12 — alice attaches a photo and a text file in the page; bob's device (another profile) shows the photo as the server's thumbnail (at most 320 px, fetched with the token into a blob: URL), the full picture on click, and the file as a row with its name and a download of the same bytes — live, and again after a reload.
    bob = api.user("bob")
    api.user("alice")
    with_bob = single("alice", "bob")
    api.send(bob, "send me the photo?", to="alice")

    alice = logged_in(open_app, "alice")
    alice.open(with_bob)
    photo = png(tmp_path / "harbour.png", 1200, 800)
    notes = tmp_path / "notes.txt"
    notes.write_text("tide tables for saturday\n" * 40)
    alice.page.get_by_test_id("attach-input").set_input_files(str(photo))
    mine = alice.page.get_by_test_id("message-item").filter(
        has=alice.page.get_by_test_id("message-image")
    )
    expect(mine).to_have_attribute("data-state", "sent")
    alice.page.get_by_test_id("attach-input").set_input_files(str(notes))
    expect(alice.page.get_by_test_id("message-file")).to_contain_text("notes.txt")
    filed = alice.page.get_by_test_id("message-item").filter(
        has=alice.page.get_by_test_id("message-file")
    )
    expect(filed).to_have_attribute("data-state", "sent")
    assert not alice.page_errors, alice.page_errors

    stored = [m for m in api.history(bob, with_bob) if m["contentType"] in (102, 105)]
    assert sorted(m["contentType"] for m in stored) == [102, 105]
    picture = next(m for m in stored if m["contentType"] == 102)["pictureElem"]
    assert (picture["sourcePicture"]["width"], picture["sourcePicture"]["height"]) == (1200, 800)
    assert picture["sourcePicture"]["type"] == "image/png"
    assert max(picture["snapshotPicture"]["width"], picture["snapshotPicture"]["height"]) <= 320

    phone = logged_in(open_app, "bob")
    for step in ("live", "after a reload"):
        if step != "live":
            phone.reload()
            phone.wait_up_to_date()
        phone.open(with_bob)
        thumbnail = phone.page.get_by_test_id("message-image").locator("img")
        expect(thumbnail).to_be_visible()
        shown = image_size(phone, thumbnail)
        assert shown["src"].startswith("blob:"), shown  # fetched by the worker with the token
        assert (shown["width"], shown["height"]) == (
            picture["snapshotPicture"]["width"],
            picture["snapshotPicture"]["height"],
        ), f"{step}: the thumbnail is the server's, not the original"
        row = phone.page.get_by_test_id("message-file")
        expect(row.get_by_test_id("file-name")).to_have_text("notes.txt")
        if step != "live":
            screenshot(phone.page, "files-chat")
        phone.page.get_by_test_id("message-image").click()
        viewer = phone.page.get_by_test_id("image-viewer")
        expect(viewer).to_be_visible()
        full = image_size(phone, viewer.get_by_test_id("image-viewer-img"))
        assert (full["width"], full["height"]) == (1200, 800), step
        if step != "live":
            screenshot(phone.page, "files-viewer")
        phone.page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        if phone.page.get_by_test_id("back-button").is_visible():
            phone.back()

    # The download button hands over the very bytes that were uploaded.
    phone.open(with_bob)
    with phone.page.expect_download() as download:
        phone.page.get_by_test_id("file-download").click()
    assert Path(download.value.path()).read_bytes() == notes.read_bytes()
    assert download.value.suggested_filename == "notes.txt"
    assert not phone.page_errors, phone.page_errors


def test_a_search_finds_an_old_message_and_opens_the_chat_at_it(
    api: Api, open_app: Callable[..., App], screenshot: Screenshot
) -> None:
    # Intent: issue 12 — the server searches the whole history the user may see: a word from an old message, far beyond the first page of the chat, finds it; the result opens that chat at the message (highlighted, with history around it), and a message from a group the user had left before it was sent is never found.
    bob, carol = api.user("bob"), api.user("carol")
    api.user("alice")
    api.send(bob, "the albatross landed on the pier", to="alice")
    for n in range(60):  # the hit is far older than the first page of the chat
        api.send(bob, f"filler {n}", to="alice")
    group_id, _ = api.group(carol, "Crew", ["alice"])
    kick = api.http.post(
        f"/api/groups/{group_id}/kick", json={"userIDList": ["alice"]}, headers=carol.headers
    )
    assert kick.status_code == 200, kick.text
    api.send(carol, "albatross sighting after alice left", group=group_id)

    alice = logged_in(open_app, "alice")
    alice.page.get_by_test_id("search-input").fill("albatross")
    results = alice.page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("the albatross landed on the pier")
    # The group's message after the kick is outside alice's window (rule 11).
    expect(alice.page.get_by_test_id("search-results")).not_to_contain_text("sighting")
    screenshot(alice.page, "search-results")
    results.first.click()
    expect(alice.page.get_by_test_id("chat-title")).to_have_text("bob")
    hit = alice.page.locator('[data-testid="message-item"][data-highlight="true"]')
    expect(hit).to_contain_text("the albatross landed on the pier")
    expect(hit).to_be_in_viewport()
    expect(alice.page.get_by_test_id("message-item").filter(has_text="filler 3")).to_have_count(1)
    screenshot(alice.page, "search-opened")
    assert not alice.page_errors, alice.page_errors


def _upload(api: Api, user: User, name: str, data: bytes, content_type: str) -> dict[str, Any]:
    answer = api.http.put(
        "/api/files",
        params={"name": name, "kind": "file"},
        content=data,
        headers={**user.headers, "Content-Type": content_type},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_uploaded_html_and_svg_never_render_as_a_page_of_the_site(
    api: Api, browser: Browser, server: Any
) -> None:
    # Intent: issue 12 — a file uploaded as HTML or SVG with a script inside, opened straight in Chromium by a member with a valid token, is a download: no document of the site's origin is made from it and its script never runs; even fetched and forced into a frame, the sandboxing CSP keeps its script from running.
    alice, bob = api.user("alice"), api.user("bob")
    script = b"<script>document.title='pwned';parent.postMessage('pwned','*')</script>"
    uploads = {
        "page.html": _upload(
            api, alice, "page.html", b"<!doctype html><html>" + script, "text/html"
        ),
        "logo.svg": _upload(
            api,
            alice,
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="pwned"</script>'
            b'<rect width="10" height="10"/></svg>',
            "image/svg+xml",
        ),
    }
    for name, uploaded in uploads.items():
        body = {
            "clientMsgID": f"file-{name.replace('.', '-')}",
            "recvID": "bob",
            "contentType": 105,
            "fileElem": {"uuid": uploaded["uuid"]},
        }
        sent = api.http.post("/api/messages", json=body, headers=alice.headers)
        assert sent.status_code == 200, sent.text

    context = browser.new_context(extra_http_headers=bob.headers)  # a member, with the token
    try:
        page = context.new_page()
        page.goto(server.url + "/healthz")  # the site's origin, to compare titles against
        for name, uploaded in uploads.items():
            url = server.url + uploaded["url"]
            direct = httpx.get(url, headers=bob.headers)
            assert direct.status_code == 200
            assert direct.headers["Content-Type"] == "application/octet-stream", name
            assert direct.headers["Content-Disposition"].startswith("attachment"), name
            assert direct.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in direct.headers["Content-Security-Policy"]
            with page.expect_download() as download:
                page.evaluate("(url) => { location.href = url; }", url)
            assert download.value.suggested_filename == name
            page.wait_for_timeout(300)
            assert page.url == server.url + "/healthz", f"{name} became a page: {page.url}"
            assert page.title() != "pwned"
            # Even framed on purpose, the answer's own CSP sandboxes it: no script runs.
            page.set_content(
                f"<iframe src='{url}'></iframe>"
                "<script>addEventListener('message', (e) => { document.title = e.data; })</script>"
            )
            page.wait_for_timeout(500)
            assert page.title() != "pwned", name
    finally:
        context.close()
    # Anonymous: nothing at all.
    assert httpx.get(server.url + uploads["page.html"]["url"]).status_code == 401
