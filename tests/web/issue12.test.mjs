// Issue 12 on the page, against the spec-shaped fake IMSDK (tests/web/fake-imsdk.mjs) and a
// small DOM (tests/web/dom-shim.mjs): notifications only while hidden and never for muted
// conversations or my own messages, taken down when read on any device; the favicon and
// title counts; Web Push subscribing with this device's previews choice (off by default)
// and the service worker's push/click handling; upload progress and the refusals' words;
// thumbnails in fixed boxes and object URLs given back; the image viewer (Escape, focus);
// search results built from text nodes, opening the chat around the hit; the "New chat"
// picker (debounced, keyboard); avatars and the profile.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { beforeEach, describe, it } from "node:test";
import vm from "node:vm";

/* global document */

import { byTestId, install, key, nodesOf, type } from "./dom-shim.mjs";
import { conversation, createFakeIMSDK } from "./fake-imsdk.mjs";

install();
const { Controller, humanSize, searchKeywords, uploadErrorText } = await import("../../web/controller.js");
const { Model } = await import("../../web/model.js");
const { ContentType } = await import("../../web/protocol.js");
const { connectSdk } = await import("../../web/sdk.js");
const { Attachment, ImageViewer, thumbnailBox } = await import("../../web/ui/attachments.js");
const { createAvatar, renderAvatar } = await import("../../web/ui/avatar.js");
const { ObjectURLs } = await import("../../web/ui/blobs.js");
const { preview } = await import("../../web/ui/list.js");
const { FaviconBadge, Notifier, PushSubscriber, badgeText, base64urlBytes } = await import("../../web/ui/notifications.js");
const { PeoplePicker } = await import("../../web/ui/people.js");
const { SearchResults, highlightSegments, snippet } = await import("../../web/ui/search.js");
const { tabTitle } = await import("../../web/ui/status.js");

const settle = async (n = 3) => { for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0)); };
const called = (sdk, method) => sdk.calls.filter(([name]) => name === method);

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k),
  };
}

function manualTimers() {
  const pending = new Map();
  let next = 0;
  return {
    setTimer: (run) => { pending.set(++next, run); return next; },
    clearTimer: (id) => pending.delete(id),
    run() { const due = [...pending.values()]; pending.clear(); for (const run of due) run(); },
    get size() { return pending.size; },
  };
}

async function booted(seed = {}, { onLogout } = {}) {
  const sdk = createFakeIMSDK(seed);
  const model = new Model();
  const timers = manualTimers();
  const storage = memoryStorage();
  const controller = new Controller(model, connectSdk(() => sdk), {
    storage, visible: () => true, setTimer: timers.setTimer, clearTimer: timers.clearTimer, onLogout,
  });
  await controller.boot();
  return { sdk, model, controller, timers, storage };
}

/** A browser File's stand-in: what the page reads of one. */
const file = (name, type, size = 1000, extra = {}) => ({ name, type, size, ...extra });

const text = (seq, sendID, content, fields = {}) => ({
  clientMsgID: `c${seq}`, conversationID: "si_alice_bob", seq, sendID, sessionType: 1,
  contentType: ContentType.TEXT, textElem: { content }, sendTime: 1000 + seq, ...fields,
});

/** The notification env: records what was shown and closed. */
function notifyEnv({ hidden = true, permission = "granted", previews = false } = {}) {
  const env = {
    hidden: () => env.isHidden, permission: () => env.perm, previews: () => env.withText,
    isHidden: hidden, perm: permission, withText: previews, shown: [], closed: [],
    show: (tag, title, options) => env.shown.push({ tag, title, options }),
    close: (tag) => env.closed.push(tag),
  };
  return env;
}

/** bob's new message reaches the SDK: the record says so (as OnConversationChanged would). */
function bobWrites(sdk, id, seq, content, fields = {}) {
  const record = sdk.records.get(id);
  const sendID = fields.sendID ?? (record.userID || "bob");
  sdk.push(id, { maxSeq: seq, latestMsg: text(seq, sendID, content, { conversationID: id }), latestMsgSendTime: 1000 + seq, ...fields });
}

describe("notifications", () => {
  const seed = () => ({
    conversations: [
      conversation({ maxSeq: 1, hasReadSeq: 1 }),
      conversation({ conversationID: "si_alice_carol", userID: "carol", showName: "Carol", maxSeq: 1, hasReadSeq: 1, recvMsgOpt: 2 }),
    ],
  });

  it("shows one per conversation, tagged with its ID, only while the page is hidden", async () => {
    const { sdk, model } = await booted(seed());
    const env = notifyEnv({ hidden: false });
    new Notifier(model, env);
    bobWrites(sdk, "si_alice_bob", 2, "visible page");
    assert.equal(env.shown.length, 0, "the page is visible: no notification");
    env.isHidden = true;
    bobWrites(sdk, "si_alice_bob", 3, "hidden now");
    bobWrites(sdk, "si_alice_bob", 4, "and again");
    assert.deepEqual(env.shown.map((n) => n.tag), ["si_alice_bob", "si_alice_bob"]);
    assert.equal(env.shown[0].title, "bob");
    assert.equal(env.shown[1].options.body, "3 new messages", "no text without previews");
    assert.ok(!JSON.stringify(env.shown).includes("hidden now"), "previews are off by default");
  });

  it("shows the text only with previews on", async () => {
    const { sdk, model } = await booted(seed());
    const env = notifyEnv({ previews: true });
    new Notifier(model, env);
    bobWrites(sdk, "si_alice_bob", 2, "lunch at noon?");
    assert.equal(env.shown[0].options.body, "lunch at noon?");
  });

  it("never for a muted conversation, my own message, a refused permission, or a repeated report", async () => {
    const { sdk, model } = await booted(seed());
    const env = notifyEnv({ permission: "default" });
    new Notifier(model, env);
    bobWrites(sdk, "si_alice_bob", 2, "not allowed yet");
    env.perm = "granted";
    bobWrites(sdk, "si_alice_carol", 2, "muted");
    sdk.push("si_alice_bob", { maxSeq: 3, hasReadSeq: 3, latestMsg: text(3, "alice", "mine"), latestMsgSendTime: 1003 });
    assert.equal(env.shown.length, 0);
    assert.equal(model.conversations.get("si_alice_carol").unreadCount, 1, "muted keeps its count (rule 13)");
    bobWrites(sdk, "si_alice_bob", 4, "yes");
    const record = model.conversations.get("si_alice_bob");
    model.conversationsChanged([{ ...record }]); // the same state again
    model.conversationsListed([...sdk.records.values()], sdk.total(), model.ask());
    assert.equal(env.shown.length, 1, "a repeated report shows nothing twice");
  });

  it("takes the notification down when the conversation is read on any device", async () => {
    const { sdk, model } = await booted(seed());
    const env = notifyEnv();
    new Notifier(model, env);
    bobWrites(sdk, "si_alice_bob", 2, "hi");
    assert.equal(env.shown.length, 1);
    sdk.push("si_alice_bob", { hasReadSeq: 2 }); // another device read it
    assert.deepEqual(env.closed, ["si_alice_bob"]);
    sdk.push("si_alice_bob", { showName: "Bob" });
    assert.deepEqual(env.closed, ["si_alice_bob"], "closed once");
  });

  it("shows nothing for what the cache or the first sync brings", async () => {
    const sdk = createFakeIMSDK(seed());
    const model = new Model();
    const env = notifyEnv();
    new Notifier(model, env);
    model.cachedListRead({ userID: "alice", conversationList: [conversation({ maxSeq: 1, hasReadSeq: 1 })], syncing: true, totalUnreadCount: 0 },
      { userID: "alice", nickname: "Alice" }, model.ask());
    model.conversationsChanged([conversation({ maxSeq: 5, hasReadSeq: 1, unreadCount: 4, version: 9, latestMsg: text(5, "bob", "old news") })]);
    assert.equal(env.shown.length, 0, "a catch-up is not news");
    void sdk;
  });
});

describe("the favicon and the title", () => {
  it("draws the SDK's total on the favicon and gives the old picture back", async () => {
    const model = new Model();
    model.loggedIn({ userID: "alice", nickname: "Alice" });
    const drawn = [];
    const revoked = [];
    let icon = "favicon.svg";
    const badge = new FaviconBadge(model, {
      base: "favicon.svg",
      setIcon: (href) => { icon = href; },
      draw: async (t) => { drawn.push(t); return `blob:icon/${drawn.length}`; },
      revoke: (url) => revoked.push(url),
    });
    model.totalChanged(3);
    await badge.show(3);
    assert.equal(icon, "blob:icon/1");
    assert.deepEqual(drawn, ["3"]);
    model.totalChanged(250);
    await badge.show(250);
    assert.equal(icon, "blob:icon/2");
    assert.deepEqual(drawn, ["3", "99+"]);
    assert.deepEqual(revoked, ["blob:icon/1"]);
    model.totalChanged(0);
    await badge.show(0);
    assert.equal(icon, "favicon.svg", "no count: the plain favicon");
    assert.deepEqual(revoked, ["blob:icon/1", "blob:icon/2"]);
    assert.equal(badgeText(0), "");
    assert.equal(tabTitle(3), "(3) Tidemark");
  });
});

describe("Web Push", () => {
  function fakeManager() {
    const manager = {
      subscription: null,
      subscribed: 0,
      async getSubscription() { return manager.subscription; },
      async subscribe({ applicationServerKey }) {
        manager.subscribed++;
        manager.subscription = {
          endpoint: "https://push.example/abc",
          options: { applicationServerKey: applicationServerKey.buffer },
          unsubscribed: false,
          toJSON: () => ({ endpoint: "https://push.example/abc", keys: { p256dh: "P", auth: "A" } }),
          async unsubscribe() { this.unsubscribed = true; manager.subscription = null; return true; },
        };
        return manager.subscription;
      },
    };
    return manager;
  }

  it("subscribes only with permission, previews off by default, and says the choice per device", async () => {
    const { sdk, controller } = await booted({});
    const manager = fakeManager();
    let permission = "default";
    const storage = memoryStorage();
    const push = new PushSubscriber({
      call: (m, ...a) => controller.sdk.call(m, ...a), storage, permission: () => permission, pushManager: async () => manager,
    });
    assert.equal(await push.ensure(), false);
    assert.equal(manager.subscribed, 0, "never without permission");
    permission = "granted";
    assert.equal(await push.ensure(), true);
    assert.deepEqual(called(sdk, "subscribePush").at(-1)[1], { endpoint: "https://push.example/abc", keys: { p256dh: "P", auth: "A" }, previews: false });
    await push.setPreviews(true);
    assert.equal(called(sdk, "subscribePush").at(-1)[1].previews, true);
    assert.equal(storage.getItem("tidemark.page.pushPreviews"), "true");
    assert.equal(manager.subscribed, 1, "the same subscription, told again");
    assert.deepEqual([...base64urlBytes("AQID_-8")], [1, 2, 3, 255, 239]);
  });

  it("unsubscribes the browser on logout, before the SDK logs out", async () => {
    const manager = fakeManager();
    await manager.subscribe({ applicationServerKey: new Uint8Array([1]) });
    const subscription = manager.subscription;
    const order = [];
    const push = new PushSubscriber({ call: async () => null, storage: memoryStorage(), permission: () => "granted", pushManager: async () => manager });
    const { sdk, controller, model } = await booted({}, { onLogout: async () => { order.push("unsubscribe"); await push.unsubscribe(); } });
    const logout = sdk.logout;
    sdk.logout = (...args) => { order.push("logout"); return logout(...args); };
    await controller.logout();
    assert.equal(subscription.unsubscribed, true);
    assert.deepEqual(order, ["unsubscribe", "logout"]);
    assert.equal(model.screen, "login");
  });

  it("the service worker shows a push only with no visible tab, closes it on read, opens the chat on click", async () => {
    const source = readFileSync(new URL("../../web/sw.js", import.meta.url), "utf8");
    const listeners = {};
    const shown = [];
    const windows = [];
    const registration = {
      showNotification: async (title, options) => shown.push({ title, ...options, closed: false }),
      getNotifications: async (filter) => shown.filter((n) => !n.closed && (!filter?.tag || n.tag === filter.tag))
        .map((n) => ({ close: () => { n.closed = true; } })),
    };
    const opened = [];
    const context = {
      self: { addEventListener: (type, run) => { listeners[type] = run; }, registration, skipWaiting: () => {} },
      clients: { matchAll: async () => windows, claim: async () => {}, openWindow: async (url) => opened.push(url) },
    };
    vm.runInNewContext(source, context);
    const fire = async (type, event) => {
      let waited = null;
      listeners[type]({ ...event, waitUntil: (p) => { waited = p; } });
      await waited;
    };
    const push = (data) => fire("push", { data: { json: () => data } });
    windows.push({ visibilityState: "visible", focus: async () => {}, postMessage: () => {} });
    await push({ type: "message", conversationID: "si_alice_bob", title: "Bob", body: "New message", total: 1 });
    assert.equal(shown.length, 0, "a visible tab shows it itself");
    windows[0].visibilityState = "hidden";
    await push({ type: "message", conversationID: "si_alice_bob", title: "Bob", body: "New message", total: 1 });
    assert.equal(shown.length, 1);
    assert.equal(shown[0].tag, "si_alice_bob");
    await push({ type: "read", conversationID: "si_alice_bob", total: 0 });
    assert.equal(shown[0].closed, true);
    windows.length = 0;
    let closed = false;
    await fire("notificationclick", { notification: { data: { conversationID: "si_alice_bob" }, close: () => { closed = true; } } });
    assert.equal(closed, true);
    assert.deepEqual(opened, ["/#conversation=si_alice_bob"]);
    const messages = [];
    windows.push({ visibilityState: "hidden", focus: async () => {}, postMessage: (m) => messages.push(m) });
    await fire("notificationclick", { notification: { data: { conversationID: "sg_g1" }, close: () => {} } });
    assert.deepEqual(JSON.parse(JSON.stringify(messages)), [{ type: "open-conversation", conversationID: "sg_g1" }]);
  });
});

describe("images and files", () => {
  beforeEach(() => install());
  const chatSeed = () => ({ conversations: [conversation({ maxSeq: 1, hasReadSeq: 1 })], messages: { si_alice_bob: [text(1, "bob", "hi")] } });

  it("shows the upload's progress on the pending message, then the server's picture", async () => {
    const { sdk, model, controller } = await booted(chatSeed());
    controller.open("si_alice_bob");
    await settle();
    const seen = [];
    model.subscribe(() => {
      const pending = [...model.chat.messages.values()].find((m) => m.contentType === ContentType.PICTURE);
      if (pending) seen.push([pending.state, pending.progress ?? null]);
    });
    await controller.sendFiles([file("cat.png", "image/png", 5000, { width: 800, height: 400 })]);
    const steps = seen.filter(([state]) => state === "sending").map(([, p]) => p).filter((p, i, all) => p !== all[i - 1]);
    assert.deepEqual(steps, [0, 50, 100], "OnProgress reached the pending message while it was sending");
    const sent = [...model.chat.messages.values()].find((m) => m.contentType === ContentType.PICTURE);
    assert.equal(sent.state, "sent");
    assert.equal(sent.localFile, undefined, "the stored copy replaced the pending one");
    assert.match(sent.pictureElem.snapshotPicture.url, /^\/api\/files\//);
    assert.equal(called(sdk, "createImageMessageByFile").length, 1);
    await controller.sendFiles([file("notes.pdf", "application/pdf", 2048)]);
    assert.equal(called(sdk, "createFileMessageByFile")[0][1].fileName, "notes.pdf");
    assert.equal(preview(model.conversations.get("si_alice_bob"), "alice"), "You: [File] notes.pdf");
    assert.equal(preview(conversation({ latestMsg: sent }), "bob"), "[Image]");
  });

  it("says the limit for a file too large, and what an image must be", async () => {
    const { model, controller } = await booted({ ...chatSeed(), uploadLimit: 1024 * 1024 });
    controller.open("si_alice_bob");
    await settle();
    await controller.sendFiles([file("huge.zip", "application/zip", 5 * 1024 * 1024)]);
    assert.match(model.error.message, /“huge\.zip” is too large to send: the limit is 1 MiB/);
    const failed = [...model.chat.messages.values()].find((m) => m.contentType === ContentType.FILE);
    assert.equal(failed.state, "failed");
    assert.match(uploadErrorText({ errCode: 1601, errMsg: "too large" }, "a"), /the limit is 25 MiB/);
    assert.match(uploadErrorText({ errCode: 1603, errMsg: "mismatch" }, "x.png"), /not an image Tidemark can show/);
    assert.equal(humanSize(1536), "1.5 KiB");
    assert.equal(humanSize(26214400), "25 MiB");
  });

  it("draws a thumbnail in a box of its size before it loads, and gives its object URL back", async () => {
    const fetched = [];
    const revoked = [];
    const urls = new ObjectURLs(async (url) => { fetched.push(url); return `blob:x/${fetched.length}`; }, { revoke: (b) => revoked.push(b), create: () => "blob:local/1" });
    const opened = [];
    const attachment = new Attachment({ urls, onOpenImage: (m) => opened.push(m), onDownload: () => {} });
    const pending = { clientMsgID: "p", contentType: ContentType.PICTURE, state: "sending", progress: 40, localFile: file("a.png", "image/png"),
      pictureElem: { sourcePicture: { width: 0, height: 0 }, snapshotPicture: {} } };
    attachment.update(pending);
    const progress = byTestId(attachment.element, "upload-progress")[0];
    assert.equal(progress.hidden, false);
    assert.equal(progress.value, 40);
    const img = attachment.element.querySelector("img");
    assert.equal(img.src, "blob:local/1", "the local file while it uploads");
    const sent = { ...pending, seq: 2, state: "sent", localFile: undefined, progress: undefined,
      pictureElem: { sourcePicture: { url: "/api/files/big", width: 1280, height: 640 }, snapshotPicture: { url: "/api/files/thumb", width: 320, height: 160 } } };
    attachment.update(sent);
    const box = attachment.element.querySelector(".attachment__box");
    assert.equal(box.style.width, "260px");
    assert.equal(box.style.aspectRatio, "320 / 160");
    assert.deepEqual(thumbnailBox(100, 300), { width: 100, height: 300, ratio: "100 / 300" });
    await settle();
    assert.deepEqual(fetched, ["/api/files/thumb"]);
    assert.equal(img.src, "blob:x/1");
    assert.deepEqual(revoked, ["blob:local/1"], "the local preview went with the upload");
    assert.equal(progress.hidden, true);
    byTestId(attachment.element, "message-image")[0].click();
    assert.equal(opened.length, 1);
    attachment.dispose();
    assert.deepEqual(revoked, ["blob:local/1", "blob:x/1"]);
    assert.equal(urls.size, 0);
  });

  it("a file row has its name, size and a download button", () => {
    const urls = new ObjectURLs(async () => "blob:f");
    const downloads = [];
    const attachment = new Attachment({ urls, onOpenImage: () => {}, onDownload: (m) => downloads.push(m) });
    attachment.update({ clientMsgID: "f", seq: 3, state: "sent", contentType: ContentType.FILE,
      fileElem: { fileName: "report <b>final</b>.pdf", fileSize: 2 * 1024 * 1024, sourceUrl: "/api/files/f1" } });
    const row = byTestId(attachment.element, "message-file")[0];
    assert.equal(byTestId(row, "file-name")[0].textContent, "report <b>final</b>.pdf");
    assert.equal(byTestId(row, "file-size")[0].textContent, "2 MiB");
    assert.ok(!nodesOf(row).tags.includes("B"), "a file name is text");
    byTestId(row, "file-download")[0].click();
    assert.equal(downloads.length, 1);
  });

  it("holds an object URL while anything shows it, and revokes one that came after it was released", async () => {
    const revoked = [];
    let answer;
    const urls = new ObjectURLs(() => new Promise((resolve) => { answer = resolve; }), { revoke: (b) => revoked.push(b) });
    const a = urls.acquire("/api/files/1");
    urls.acquire("/api/files/1");
    urls.release("/api/files/1");
    urls.release("/api/files/1");
    answer("blob:late");
    await a;
    assert.deepEqual(revoked, ["blob:late"]);
  });
});

describe("the image viewer", () => {
  beforeEach(() => install());

  it("opens the original, closes on Escape without closing the chat, gives the focus back and the URL", async () => {
    const revoked = [];
    const fetched = [];
    const urls = new ObjectURLs(async (url) => { fetched.push(url); return "blob:original"; }, { revoke: (b) => revoked.push(b) });
    const viewer = new ImageViewer(urls);
    const opener = document.createElement("button");
    document.body.append(opener);
    let chatClosed = false;
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") chatClosed = true; });
    viewer.open({ seq: 1, pictureElem: { sourcePicture: { url: "/api/files/big", width: 1280, height: 640, size: 90000 }, snapshotPicture: { url: "/api/files/t" } } }, opener);
    await settle();
    const dialog = byTestId(document.body, "image-viewer")[0];
    assert.equal(dialog.open, true);
    assert.deepEqual(fetched, ["/api/files/big"], "the original, not the thumbnail");
    assert.equal(byTestId(dialog, "image-viewer-img")[0].src, "blob:original");
    assert.equal(document.activeElement, byTestId(dialog, "image-viewer-close")[0], "the focus moves into it");
    key(document.activeElement, "Escape");
    assert.equal(dialog.open, false);
    assert.equal(chatClosed, false, "Escape closed only the viewer");
    assert.equal(document.activeElement, opener);
    assert.deepEqual(revoked, ["blob:original"]);
    viewer.open({ seq: 1, pictureElem: { sourcePicture: { url: "/api/files/big" } } }, opener);
    byTestId(dialog, "image-viewer-close")[0].click();
    assert.equal(dialog.open, false);
    assert.equal(document.activeElement, opener);
  });
});

describe("search", () => {
  beforeEach(() => install());
  const searchSeed = () => ({
    conversations: [
      conversation({ maxSeq: 60, hasReadSeq: 60, showName: "Bob Baker" }),
      conversation({ conversationID: "si_alice_carol", userID: "carol", showName: "Carol", maxSeq: 1, hasReadSeq: 1 }),
    ],
    messages: {
      si_alice_bob: Array.from({ length: 60 }, (_, i) => text(i + 1, i % 2 ? "alice" : "bob",
        i + 1 === 12 ? "booked the <img src=x onerror=alert(1)> train" : `message ${i + 1}`)),
      si_alice_carol: [text(1, "carol", "Train tickets?", { conversationID: "si_alice_carol", clientMsgID: "k1", sendTime: 5000 })],
    },
  });

  it("marks the matching words, case-insensitive, and cuts long text around the first", () => {
    assert.deepEqual(highlightSegments("Booked the TRAIN, train!", ["train", "book"]), [
      { text: "Book", hit: true }, { text: "ed the ", hit: false }, { text: "TRAIN", hit: true },
      { text: ", ", hit: false }, { text: "train", hit: true }, { text: "!", hit: false },
    ]);
    const long = `${"a ".repeat(100)}needle ${"b ".repeat(100)}`;
    const cut = snippet(long, ["needle"], 60);
    assert.ok(cut.startsWith("…") && cut.endsWith("…") && cut.includes("needle"));
    assert.deepEqual(searchKeywords("  Train  train tickets "), ["train", "tickets"]);
  });

  it("asks once after typing stops, and draws the results from text nodes grouped by conversation", async () => {
    const { sdk, model, controller, timers } = await booted(searchSeed());
    controller.searchChanged("tr");
    controller.searchChanged("train");
    assert.equal(called(sdk, "searchLocalMessages").length, 0, "debounced");
    timers.run();
    await settle();
    assert.deepEqual(called(sdk, "searchLocalMessages").map((c) => c[1].keywordList), [["train"]]);
    assert.equal(model.search.items.length, 2);
    const root = document.createElement("div");
    const opened = [];
    new SearchResults(root, (id, seq) => opened.push([id, seq])).render(model.search, {
      myUserID: "alice", names: (id) => model.conversations.get(id)?.showName ?? "",
    });
    const results = byTestId(root, "search-result");
    assert.equal(results.length, 2);
    assert.deepEqual(results.map((r) => r.dataset.conversationId), ["si_alice_carol", "si_alice_bob"], "newest match first");
    const built = nodesOf(byTestId(results[1], "search-result-text")[0]);
    assert.ok(!built.tags.includes("IMG"), "message text is never parsed as HTML");
    assert.deepEqual(built.tags, ["MARK"]);
    assert.equal(built.texts.join(""), "booked the <img src=x onerror=alert(1)> train");
    assert.equal(results[1].querySelector("mark").textContent, "train");
    results[1].click();
    assert.deepEqual(opened, [["si_alice_bob", 12]]);
    controller.searchChanged("");
    assert.equal(model.search.query, "");
  });

  it("drops an answer for a query the box no longer holds", async () => {
    const { model } = await booted(searchSeed());
    model.searchAsked("train", ["train"]);
    model.searchAsked("tickets", ["tickets"]);
    model.searchAnswered("train", { totalCount: 1, searchResultItems: [{ conversationID: "x", messageList: [] }] });
    assert.equal(model.search.items.length, 0);
    assert.equal(model.search.loading, true);
  });

  it("opens the chat around the hit, highlighted, newer pages on demand, and new messages wait for them", async () => {
    const { sdk, model, controller } = await booted(searchSeed());
    controller.openAt("si_alice_bob", 12);
    await settle();
    const history = called(sdk, "getAdvancedHistoryMessageList");
    assert.equal(history.at(-1)[1].lastMinSeq, 12 + 10 + 1, "the page up to 10 messages after the hit");
    const seqs = [...model.chat.messages.values()].map((m) => m.seq);
    assert.ok(seqs.includes(12));
    assert.equal(Math.max(...seqs), 22);
    assert.equal(model.chat.focusSeq, 12);
    assert.equal(model.chat.hasNewer, true);
    bobWrites(sdk, "si_alice_bob", 61, "brand new");
    sdk.messages.get("si_alice_bob").push(text(61, "bob", "brand new"));
    model.messagesReceived([text(61, "bob", "brand new")]);
    assert.ok(![...model.chat.messages.values()].some((m) => m.seq === 61), "no hole: it comes with the newer pages");
    for (let i = 0; i < 3 && model.chat.hasNewer; i++) await controller.loadNewer();
    const after = [...model.chat.messages.values()].map((m) => m.seq).sort((a, b) => a - b);
    assert.equal(model.chat.hasNewer, false);
    assert.deepEqual(after, Array.from({ length: after.length }, (_, i) => after[0] + i), "contiguous");
    assert.equal(after.at(-1), 61);
  });
});

describe("the New chat picker", () => {
  beforeEach(() => install());

  it("searches people as one types (debounced), moves by keyboard, and starts the chat with the one chosen", async () => {
    const { sdk, model, controller, timers } = await booted({
      users: [{ userID: "bob", nickname: "Bob Baker" }, { userID: "bobby", nickname: "Bobby" }, { userID: "carol", nickname: "Carol" }],
    });
    const button = document.createElement("button");
    const host = document.createElement("div");
    document.body.append(button, host);
    const picker = new PeoplePicker(model, controller, { button, host });
    button.click();
    const input = byTestId(host, "people-search")[0];
    assert.equal(document.activeElement, input);
    type(input, "b");
    type(input, "bo");
    timers.run();
    await settle();
    assert.deepEqual(called(sdk, "searchUsers").map((c) => c[1].keyword), ["bo"], "one question for the last word");
    const options = byTestId(host, "person-option");
    assert.deepEqual(options.map((o) => o.dataset.userId), ["bob", "bobby"]);
    assert.equal(options[0].getAttribute("aria-selected"), "true");
    key(input, "ArrowDown");
    assert.equal(byTestId(host, "person-option")[1].getAttribute("aria-selected"), "true");
    assert.equal(input.getAttribute("aria-activedescendant"), "person-option-1");
    key(input, "Enter");
    assert.equal(model.chat.id, "si_alice_bobby");
    assert.equal(model.chat.peer, "bobby");
    assert.equal(picker.isOpen, false);
  });

  it("leaves me out, takes a full user ID when no one is found, and Escape gives the focus back", async () => {
    const { model, controller, timers } = await booted({ users: [{ userID: "alina", nickname: "Alina" }] });
    const button = document.createElement("button");
    const host = document.createElement("div");
    document.body.append(button, host);
    const picker = new PeoplePicker(model, controller, { button, host });
    button.click();
    const input = byTestId(host, "people-search")[0];
    type(input, "al");
    timers.run();
    await settle();
    assert.deepEqual(byTestId(host, "person-option").map((o) => o.dataset.userId), ["alina"], "not me (alice)");
    key(input, "Escape");
    assert.equal(picker.isOpen, false);
    assert.equal(document.activeElement, button);
    button.click();
    type(input, "zed");
    timers.run();
    await settle();
    assert.equal(byTestId(host, "person-option").length, 0);
    key(input, "Enter");
    assert.equal(model.chat.peer, "zed");
  });
});

describe("avatars and the profile", () => {
  beforeEach(() => install());

  it("shows the picture through getFileURL, else initials on the user's colour", async () => {
    const urls = new ObjectURLs(async (url) => `blob:${url}`);
    const a = createAvatar();
    renderAvatar(a, { id: "bob", name: "Bob Baker" }, urls);
    assert.equal(a.dataset.testid, "avatar");
    assert.equal(a.textContent, "BB");
    const colour = a.style.getPropertyValue("--hue");
    const b = createAvatar();
    renderAvatar(b, { id: "bob", name: "Someone else" }, urls);
    assert.equal(b.style.getPropertyValue("--hue"), colour, "the colour follows the user ID");
    renderAvatar(a, { id: "bob", name: "Bob Baker", faceURL: "/api/files/face" }, urls);
    await settle();
    const img = a.querySelector("img");
    assert.equal(img.src, "blob:/api/files/face");
    assert.equal(img.hidden, false);
  });

  it("saves the nickname and an uploaded picture in one setSelfInfo, shown once the SDK reports it", async () => {
    const { sdk, model, controller } = await booted({});
    const events = [];
    sdk.on("OnSelfInfoUpdated", (e) => events.push(e.data));
    assert.equal(await controller.saveProfile({ nickname: "Alice A", file: file("me.png", "image/png") }), true);
    const [upload] = called(sdk, "uploadFile");
    assert.equal(upload[1].file.name, "me.png");
    const [info] = called(sdk, "setSelfInfo");
    assert.deepEqual(Object.keys(info[1]).sort(), ["faceURL", "nickname"]);
    assert.match(info[1].faceURL, /^\/api\/files\//);
    assert.equal(events.length, 1);
    assert.equal(model.me.nickname, "Alice A");
    assert.equal(model.me.faceURL, info[1].faceURL);
    sdk.emit("OnSelfInfoUpdated", { userID: "alice", nickname: "From my phone", faceURL: "" });
    assert.equal(model.me.nickname, "From my phone", "another device's change shows here");
    sdk.fail("setSelfInfo", { errCode: 1002, errMsg: "nickname: 1-64 characters" });
    assert.equal(await controller.saveProfile({ nickname: "x" }), false);
    assert.equal(model.me.nickname, "From my phone", "refused: nothing changed");
    assert.match(model.error.message, /1-64/);
  });
});
