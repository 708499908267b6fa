"""Look at issue 12's page (images and files, notifications bar, search, the New chat
picker, avatars, the profile) in Debian's Chromium, desktop and phone widths, with the
page's own files and the spec-shaped fake IMSDK (tests/web/fake-imsdk.mjs) in place of
web/imsdk.js, under the server's real Content-Security-Policy: the page's side can be
looked at before (and apart from) the SDK and server parts. Pictures are real PNG object
URLs made in the page, as getFileURL's are.

Not a test (pytest does not collect it):

    .venv/bin/python tests/web/look12.py --out /tmp/page12
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from pathlib import Path

from playwright.sync_api import Page, Route, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.security import CONTENT_SECURITY_POLICY  # noqa: E402
from server.testing.browser import CHROMIUM_ARGS, SYSTEM_CHROMIUM  # noqa: E402

ORIGIN = "http://tidemark.test"

# window.IMSDK for the look: the fake, seeded; getFileURL answers a real PNG object URL.
SHIM = """
import { conversation, createFakeIMSDK } from "/tests/web/fake-imsdk.mjs";
const now = Date.now();
const t = (m) => now - m * 60000;
const msg = (seq, sendID, content, extra = {}) => ({ clientMsgID: `m${seq}`, conversationID: "si_alice_bob",
  seq, sendID, sessionType: 1, contentType: 101, textElem: { content }, sendTime: t(60 - seq), ...extra });
const pic = (url, width, height) => ({ uuid: url.slice(11), url, type: "image/jpeg", size: 120000, width, height });
const history = [
  msg(1, "bob", "Here are the photos from the trip"),
  msg(2, "bob", "", { contentType: 102, textElem: null, pictureElem: { sourcePath: "",
    sourcePicture: pic("/api/files/wide", 1600, 900), bigPicture: pic("/api/files/wide", 1600, 900),
    snapshotPicture: pic("/api/files/wide-t", 320, 180) } }),
  msg(3, "bob", "", { contentType: 102, textElem: null, pictureElem: { sourcePath: "",
    sourcePicture: pic("/api/files/tall", 900, 1600), bigPicture: pic("/api/files/tall", 900, 1600),
    snapshotPicture: pic("/api/files/tall-t", 180, 320) } }),
  msg(4, "alice", "Lovely! And the booking for the train:"),
  msg(5, "alice", "", { contentType: 105, textElem: null, fileElem: { filePath: "", uuid: "f1",
    sourceUrl: "/api/files/f1", fileName: "train-tickets-2024-final-version.pdf", fileSize: 482133, fileType: "application/pdf" } }),
  msg(6, "bob", "Did you book the train for Saturday <b>or</b> Sunday?"),
];
const sdk = createFakeIMSDK({
  me: { userID: "alice", nickname: "Alice" },
  users: [{ userID: "bob", nickname: "Bob Baker", faceURL: "/api/files/face-bob" },
    { userID: "bobby", nickname: "Bobby Tables" }, { userID: "carol", nickname: "Carol" }, { userID: "boris", nickname: "Boris" }],
  conversations: [
    conversation({ conversationID: "si_alice_bob", userID: "bob", showName: "Bob Baker", faceURL: "/api/files/face-bob",
      maxSeq: 6, hasReadSeq: 5, latestMsg: history[5], latestMsgSendTime: history[5].sendTime }),
    conversation({ conversationID: "si_alice_carol", userID: "carol", showName: "Carol", maxSeq: 2, hasReadSeq: 0,
      latestMsg: { ...msg(2, "carol", "", { conversationID: "si_alice_carol", contentType: 105, textElem: null,
        fileElem: { fileName: "menu.pdf", fileSize: 20000, sourceUrl: "/api/files/m" } }) }, latestMsgSendTime: t(30) }),
    conversation({ conversationID: "sg_g1", conversationType: 3, userID: "", groupID: "g1", showName: "Trip", maxSeq: 3,
      hasReadSeq: 3, latestMsg: { ...msg(3, "bob", "", { conversationID: "sg_g1", contentType: 102, textElem: null,
        pictureElem: {} }) }, latestMsgSendTime: t(50) }),
  ],
  messages: {
    si_alice_bob: history,
    si_alice_carol: [msg(1, "carol", "Which train do we take?", { conversationID: "si_alice_carol", clientMsgID: "k1" })],
  },
  members: { g1: [{ groupID: "g1", userID: "alice", nickname: "Alice", roleLevel: 100 },
    { groupID: "g1", userID: "bob", nickname: "Bob Baker", roleLevel: 20 }, { groupID: "g1", userID: "carol", nickname: "Carol", roleLevel: 20 }] },
});
async function png(url) {
  const wide = /wide|face/.test(url) ? url.includes("face") ? [96, 96] : [320, 180] : [180, 320];
  const canvas = new OffscreenCanvas(wide[0], wide[1]);
  const ctx = canvas.getContext("2d");
  const g = ctx.createLinearGradient(0, 0, wide[0], wide[1]);
  g.addColorStop(0, url.includes("face") ? "#f59e0b" : "#0ea5b7"); g.addColorStop(1, url.includes("face") ? "#b45309" : "#1e3a8a");
  ctx.fillStyle = g; ctx.fillRect(0, 0, wide[0], wide[1]);
  ctx.fillStyle = "rgba(255,255,255,.85)"; ctx.beginPath(); ctx.arc(wide[0] * 0.7, wide[1] * 0.3, Math.min(...wide) / 6, 0, 7); ctx.fill();
  return URL.createObjectURL(await canvas.convertToBlob({ type: "image/png" }));
}
const getFileURL = sdk.getFileURL;
sdk.getFileURL = async (arg) => { await getFileURL(arg); return { errCode: 0, errMsg: "", data: await png(arg.url) }; };
window.IMSDK = sdk;
"""


def serve(route: Route) -> None:
    url = route.request.url
    path = url.removeprefix(ORIGIN).split("?")[0].split("#")[0]
    headers = {"content-security-policy": CONTENT_SECURITY_POLICY, "cache-control": "no-store"}
    if path == "/imsdk.js":
        route.fulfill(status=200, body=SHIM, headers={**headers, "content-type": "text/javascript"})
        return
    if path in ("", "/"):
        path = "/index.html"
    file = ROOT / (path.lstrip("/") if path.startswith("/tests/") else "web" + path)
    if not file.is_file():
        route.fulfill(status=404, body="not found", headers=headers)
        return
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if file.suffix in (".js", ".mjs"):
        kind = "text/javascript"
    route.fulfill(status=200, body=file.read_bytes(), headers={**headers, "content-type": kind})


def open_page(browser, width: int, height: int, errors: list[str], **kwargs) -> Page:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": height}, **kwargs)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.route(f"{ORIGIN}/**", serve)
    page.goto(ORIGIN + "/")
    expect(page.get_by_test_id("conversation-item").first).to_be_visible(timeout=20_000)
    return page


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/page12")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        exe = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = open_page(browser, 1280, 800, errors)
        page.wait_for_timeout(400)
        page.screenshot(path=str(out / "desktop-list.png"))
        page.locator('[data-conversation-id="si_alice_bob"] .conv').click()
        expect(page.get_by_test_id("message-image").first).to_be_visible()
        page.wait_for_timeout(400)
        page.screenshot(path=str(out / "desktop-chat.png"))
        # A pending upload with its progress: a big file whose upload is held at 50%.
        page.evaluate(
            """() => {
              const send = window.IMSDK.sendMessage;
              window.IMSDK.sendMessage = (arg) => new Promise(() => {
                window.IMSDK.emit("OnProgress", { clientMsgID: arg.message.clientMsgID, progress: 45 });
              });
              window.__restore = () => { window.IMSDK.sendMessage = send; };
            }"""
        )
        page.get_by_test_id("attach-input").set_input_files(
            files=[{"name": "holiday.zip", "mimeType": "application/zip", "buffer": b"x" * 300000}]
        )
        expect(page.get_by_test_id("upload-progress").last).to_be_visible()
        page.wait_for_timeout(200)
        page.screenshot(path=str(out / "desktop-uploading.png"))
        page.evaluate("() => window.__restore()")
        page.get_by_test_id("message-image").first.click()
        expect(page.get_by_test_id("image-viewer")).to_be_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "desktop-viewer.png"))
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("image-viewer")).to_be_hidden()
        expect(page.get_by_test_id("message-image").first).to_be_focused()
        expect(page.get_by_test_id("chat-title")).to_be_visible()  # Escape closed only the viewer
        page.get_by_test_id("search-input").fill("train")
        expect(page.get_by_test_id("search-result").first).to_be_visible()
        page.get_by_test_id("search-result").nth(1).click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "desktop-search.png"))
        page.get_by_test_id("search-input").fill("")
        page.get_by_test_id("new-chat-button").click()
        page.keyboard.type("bo")
        expect(page.get_by_test_id("person-option").first).to_be_visible()
        page.keyboard.press("ArrowDown")
        page.screenshot(path=str(out / "desktop-picker.png"))
        page.keyboard.press("Escape")
        page.get_by_test_id("profile-button").click()
        expect(page.get_by_test_id("profile-dialog")).to_be_visible()
        page.screenshot(path=str(out / "desktop-profile.png"))
        page.keyboard.press("Escape")
        print("title:", page.title())

        phone = open_page(browser, 390, 780, errors, has_touch=True, is_mobile=True)
        phone.wait_for_timeout(300)
        phone.screenshot(path=str(out / "phone-list.png"))
        phone.locator('[data-conversation-id="si_alice_bob"] .conv').click()
        expect(phone.get_by_test_id("message-image").first).to_be_visible()
        phone.wait_for_timeout(400)
        phone.screenshot(path=str(out / "phone-chat.png"))
        phone.get_by_test_id("back-button").click()
        phone.get_by_test_id("search-input").fill("train")
        expect(phone.get_by_test_id("search-result").first).to_be_visible()
        phone.screenshot(path=str(out / "phone-search.png"))
        phone.get_by_test_id("search-input").fill("")
        phone.get_by_test_id("new-chat-button").click()
        phone.keyboard.type("bo")
        expect(phone.get_by_test_id("person-option").first).to_be_visible()
        phone.screenshot(path=str(out / "phone-picker.png"))
        browser.close()
    print("errors:", errors or "none")


if __name__ == "__main__":
    main()
