// Issue 11 on the page: list order (pinned, drafts, hidden), badges (muted, @, marked
// unread), the tab title, @mentions (picker query, text -> atUserIDList, drawing), the
// tombstone's words, who may revoke, and the controller against the fake IMSDK
// (tests/web/fake-imsdk.mjs): nothing shows before the SDK confirmed it, a refusal leaves
// the view as it was, a mark-unread flag goes only by the user's doing.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Controller } from "../../web/controller.js";
import { Model, Role, canRevoke, isNotification, isRevoked, messageText, tombstoneOf } from "../../web/model.js";
import { ContentType, SessionType } from "../../web/protocol.js";
import { connectSdk } from "../../web/sdk.js";
import { badgesOf, preview } from "../../web/ui/list.js";
import { AT_ALL, atMentions, insertMention, mentionOptions, mentionQuery, mentionSegments } from "../../web/ui/mentions.js";
import { revokedText } from "../../web/ui/notice.js";
import { ConversationOrder, byLatest } from "../../web/ui/order.js";
import { tabTitle } from "../../web/ui/status.js";
import { contribution, conversation, createFakeIMSDK } from "./fake-imsdk.mjs";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const ids = (list) => list.map((r) => r.conversationID);

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

/** Timers run by hand: run() fires every pending one. */
function manualTimers() {
  const pending = new Map();
  let next = 0;
  return {
    setTimer: (run, _ms) => { pending.set(++next, run); return next; },
    clearTimer: (id) => pending.delete(id),
    run() {
      const due = [...pending.values()];
      pending.clear();
      for (const run of due) run();
    },
    get size() { return pending.size; },
  };
}

async function booted(seed, { visible = true } = {}) {
  const sdk = createFakeIMSDK(seed);
  const model = new Model();
  const timers = manualTimers();
  const controller = new Controller(model, connectSdk(() => sdk), {
    storage: memoryStorage(), visible: () => visible, setTimer: timers.setTimer, clearTimer: timers.clearTimer,
  });
  await controller.boot();
  return { sdk, model, controller, timers };
}

const called = (sdk, method) => sdk.calls.filter(([name]) => name === method);

const GROUP = "sg_g1";
const groupSeed = (fields = {}) => ({
  conversations: [conversation({
    conversationID: GROUP, conversationType: SessionType.GROUP, userID: "", groupID: "g1", showName: "Trip", ...fields,
  })],
  members: {
    g1: [
      { groupID: "g1", userID: "alice", nickname: "Alice", roleLevel: Role.OWNER },
      { groupID: "g1", userID: "bob", nickname: "Bob B", roleLevel: Role.MEMBER },
      { groupID: "g1", userID: "carol", nickname: "carol", roleLevel: Role.ADMIN },
    ],
  },
});

describe("list order: pinned first, then max(latestMsgSendTime, draftTextTime)", () => {
  const r = (id, fields) => conversation({ conversationID: id, ...fields });

  it("puts pinned conversations first and sorts each part by activity", () => {
    const list = [r("a", { latestMsgSendTime: 9 }), r("b", { latestMsgSendTime: 1, isPinned: true }),
      r("c", { latestMsgSendTime: 5, isPinned: true }), r("d", { latestMsgSendTime: 7 })].sort(byLatest);
    assert.deepEqual(ids(list), ["c", "b", "a", "d"]);
  });

  it("counts a draft's time as activity", () => {
    const list = [r("a", { latestMsgSendTime: 9 }), r("b", { latestMsgSendTime: 1, draftText: "x", draftTextTime: 10 })].sort(byLatest);
    assert.deepEqual(ids(list), ["b", "a"]);
  });

  it("leaves hidden conversations out and takes them back when un-hidden", () => {
    const order = new ConversationOrder();
    order.reset([r("a", { latestMsgSendTime: 1 }), r("b", { latestMsgSendTime: 2, isHidden: true })]);
    assert.deepEqual(ids(order.sorted), ["a"]);
    order.apply([r("a", { latestMsgSendTime: 1, isHidden: true, version: 2 })]);
    assert.deepEqual(ids(order.sorted), []);
    order.apply([r("b", { latestMsgSendTime: 3, version: 2 })]);
    assert.deepEqual(ids(order.sorted), ["b"]);
  });

  it("moves a conversation when it is pinned or unpinned, in a small or a large batch", () => {
    const order = new ConversationOrder();
    const many = Array.from({ length: 100 }, (_, i) => r(`c${String(i).padStart(3, "0")}`, { latestMsgSendTime: i }));
    order.reset(many);
    order.apply([{ ...many[0], isPinned: true, version: 2 }]);
    assert.equal(order.sorted[0].conversationID, "c000");
    order.apply(many.map((x) => ({ ...x, version: 3, isHidden: x.conversationID === "c099" })));
    assert.equal(order.sorted[0].conversationID, "c098", "unpinned again, c099 hidden");
    assert.equal(order.sorted.length, 99);
  });

  it("is the same order as the fake SDK's list", () => {
    const seed = [r("a", { latestMsgSendTime: 3 }), r("b", { isPinned: true }), r("c", { draftTextTime: 4 })];
    const sdk = createFakeIMSDK({ conversations: seed });
    return sdk.getAllConversationList().then(({ data }) => {
      assert.deepEqual(ids(data), ids([...seed].sort(byLatest)));
    });
  });
});

describe("badges and the tab title", () => {
  it("shows a muted conversation's count (greyed), the dot only with nothing unread, @ for any groupAtType", () => {
    assert.deepEqual(badgesOf(conversation({ unreadCount: 3, recvMsgOpt: 2 })), { unread: 3, muted: true, markedUnread: false, at: false });
    assert.deepEqual(badgesOf(conversation({ unreadCount: 2, isMarkedUnread: true })), { unread: 2, muted: false, markedUnread: false, at: false });
    assert.deepEqual(badgesOf(conversation({ isMarkedUnread: true })), { unread: 0, muted: false, markedUnread: true, at: false });
    for (const groupAtType of [1, 2, 3]) assert.equal(badgesOf(conversation({ groupAtType })).at, true);
    assert.equal(badgesOf(conversation({ groupAtType: 0 })).at, false);
  });

  it("titles the tab with the SDK's total", () => {
    assert.equal(tabTitle(0), "Tidemark");
    assert.equal(tabTitle(4), "(4) Tidemark");
  });

  it("takes the SDK's total as it is: muted conversations are already out of it", async () => {
    const { model, controller } = await booted({
      conversations: [
        conversation({ conversationID: "si_alice_bob", maxSeq: 4, unreadCount: 4 }),
        conversation({ conversationID: "si_alice_carol", userID: "carol", maxSeq: 2, unreadCount: 2, recvMsgOpt: 2 }),
        conversation({ conversationID: "si_alice_dan", userID: "dan", isMarkedUnread: true }),
      ],
    });
    assert.equal(model.total, 5, "4 + 0 (muted) + 1 (marked unread)");
    await controller.setMuted("si_alice_bob", true);
    assert.equal(model.total, 1);
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 4, "a muted conversation keeps its count");
    await controller.setMuted("si_alice_carol", false);
    assert.equal(model.total, 3);
  });
});

describe("mentions", () => {
  const members = [{ userID: "alice", nickname: "Alice" }, { userID: "bob", nickname: "Bob B" }, { userID: "carol", nickname: "carol" }];

  it("finds the @query before the caret, only at a word's start", () => {
    assert.deepEqual(mentionQuery("hi @bo", 6), { start: 3, query: "bo" });
    assert.deepEqual(mentionQuery("@", 1), { start: 0, query: "" });
    assert.equal(mentionQuery("mail a@b", 8), null);
    assert.equal(mentionQuery("hi @bob there", 13), null, "a space ends it");
  });

  it("offers everyone first, then the matching members but me", () => {
    assert.deepEqual(mentionOptions(members, "", "alice").map((o) => o.userID), [AT_ALL, "bob", "carol"]);
    assert.deepEqual(mentionOptions(members, "b", "alice").map((o) => o.userID), ["bob"]);
    assert.deepEqual(mentionOptions(members, "ev", "alice").map((o) => o.userID), [AT_ALL]);
  });

  it("inserts @name and a space in place of the query", () => {
    assert.deepEqual(insertMention("hi @bo", 3, 6, "Bob B"), { text: "hi @Bob B ", caret: 10 });
    assert.deepEqual(insertMention("@c later", 0, 2, "carol"), { text: "@carol later", caret: 7 });
  });

  it("turns the recorded mentions still in the text into atUserIDList and atUsersInfo", () => {
    const picks = [{ userID: "bob", name: "Bob B" }, { userID: AT_ALL, name: "everyone" }, { userID: "bob", name: "Bob B" },
      { userID: "carol", name: "carol" }];
    assert.deepEqual(atMentions("@Bob B and @everyone, look", picks), {
      atUserIDList: ["bob", AT_ALL],
      atUsersInfo: [{ atUserID: "bob", groupNickname: "Bob B" }, { atUserID: AT_ALL, groupNickname: "everyone" }],
    });
    assert.deepEqual(atMentions("@carolyn hi", picks).atUserIDList, [], "a longer word is not the mention");
    assert.deepEqual(atMentions("no one", picks).atUserIDList, []);
    assert.deepEqual(atMentions("@bob", [{ userID: "bob", name: "Bob B" }]).atUserIDList, [], "typed by hand: text");
  });

  it("cuts an @ message into text and mentions, a mention of me marked", () => {
    const elem = { text: "@Bob B and @Alice: see @everyone", atUserList: ["bob", "alice", AT_ALL],
      atUsersInfo: [{ atUserID: "bob", groupNickname: "Bob B" }, { atUserID: "alice", groupNickname: "Alice" }] };
    assert.deepEqual(mentionSegments(elem, "alice", "bob"), [
      { mention: "@Bob B", userID: "bob", me: false },
      { text: " and " },
      { mention: "@Alice", userID: "alice", me: true },
      { text: ": see " },
      { mention: "@everyone", userID: AT_ALL, me: true },
    ]);
    assert.equal(mentionSegments(elem, "bob", "bob").at(-1).me, false, "my own @everyone is not a mention of me");
    assert.deepEqual(mentionSegments({ text: "a@b", atUserList: ["b"] }, "x"), [{ text: "a@b" }]);
  });
});

describe("tombstones and revoking", () => {
  const original = { clientMsgID: "m1", seq: 3, sendID: "bob", contentType: ContentType.TEXT, textElem: { content: "oops" }, sendTime: 5 };
  const info = (revokerID, revokerNickname = revokerID) => ({ conversationID: "si_alice_bob", revokerID, revokerNickname, clientMsgID: "m1", seq: 3 });

  it("says who revoked it, and never the old text", () => {
    const mine = tombstoneOf(original, info("alice"));
    assert.equal(isRevoked(mine), true);
    assert.equal(isNotification(mine), false, "a tombstone is drawn as a message");
    assert.equal(messageText(mine), "");
    assert.equal(revokedText(mine, "alice"), "You revoked a message");
    assert.equal(revokedText(tombstoneOf(original, info("bob", "Bob B")), "alice"), "Bob B revoked a message");
    assert.equal(revokedText(tombstoneOf(original, info("bob", "")), "alice", (id) => `~${id}`), "~bob revoked a message");
    assert.ok(!JSON.stringify(mine).includes("oops"));
  });

  it("shows a tombstone and an @ message as the list's latest message", () => {
    const record = (latestMsg, type = 1) => conversation({ latestMsg, conversationType: type });
    assert.equal(preview(record(tombstoneOf({ ...original, sendID: "alice" }, info("alice"))), "alice"), "You revoked a message");
    assert.equal(preview(record(tombstoneOf(original, info("bob"))), "alice"), "bob revoked a message");
    const at = { sendID: "bob", contentType: ContentType.AT_TEXT, atTextElem: { text: "@Alice hi", atUserList: ["alice"] } };
    assert.equal(preview(record(at, 3), "alice"), "bob: @Alice hi");
  });

  it("offers Revoke on my messages, and for group owners and admins", () => {
    const msg = (sendID, fields = {}) => ({ clientMsgID: "x", seq: 1, sendID, contentType: ContentType.TEXT, textElem: { content: "t" }, ...fields });
    const me = "alice";
    assert.equal(canRevoke(msg(me), { myUserID: me }), true);
    assert.equal(canRevoke(msg("bob"), { myUserID: me }), false, "a single chat: only mine");
    assert.equal(canRevoke(msg(me, { seq: 0 }), { myUserID: me }), false, "not sent yet");
    assert.equal(canRevoke(msg("bob"), { myUserID: me, group: true, myRole: Role.MEMBER }), false);
    assert.equal(canRevoke(msg("bob"), { myUserID: me, group: true, myRole: Role.OWNER, senderRole: Role.ADMIN }), true);
    assert.equal(canRevoke(msg("bob"), { myUserID: me, group: true, myRole: Role.ADMIN, senderRole: Role.MEMBER }), true);
    assert.equal(canRevoke(msg("bob"), { myUserID: me, group: true, myRole: Role.ADMIN, senderRole: Role.OWNER }), false);
    const notice = msg("bob", { contentType: ContentType.MEMBER_INVITED, textElem: null, notificationElem: { detail: "{}" } });
    assert.equal(canRevoke(notice, { myUserID: me, group: true, myRole: Role.OWNER }), false);
    assert.equal(canRevoke(tombstoneOf(msg(me), info(me)), { myUserID: me }), false);
  });

  it("replaces the open chat's message on OnNewRecvMessageRevoked, and an older answer does not bring it back", async () => {
    const { sdk, model, controller } = await booted({
      conversations: [conversation({ maxSeq: 3, hasReadSeq: 3, latestMsg: original })],
      messages: { si_alice_bob: [original] },
    });
    controller.open("si_alice_bob");
    await settle();
    assert.equal(messageText(model.chat.messages.get("m1")), "oops");
    sdk.emit("OnNewRecvMessageRevoked", { ...info("bob"), revokeTime: 9 });
    assert.equal(isRevoked(model.chat.messages.get("m1")), true);
    model.historyAnswered(model.chat.key, { messageList: [original], isEnd: true });
    assert.equal(isRevoked(model.chat.messages.get("m1")), true, "tombstones replace one way");
  });

  it("revokes my message server first; a refusal leaves it and shows the error", async () => {
    const mine = { ...original, sendID: "alice" };
    const { sdk, model, controller } = await booted({
      conversations: [conversation({ maxSeq: 3, hasReadSeq: 3, latestMsg: mine })],
      messages: { si_alice_bob: [mine] },
    });
    controller.open("si_alice_bob");
    await settle();
    sdk.fail("revokeMessage", { errCode: 1403, errMsg: "too late to revoke" });
    assert.equal(await controller.revoke("m1"), false);
    assert.equal(isRevoked(model.chat.messages.get("m1")), false);
    assert.match(model.error.message, /too late/);
    sdk.succeed("revokeMessage");
    assert.equal(await controller.revoke("m1"), true);
    assert.deepEqual(called(sdk, "revokeMessage").at(-1)[1], { conversationID: "si_alice_bob", clientMsgID: "m1" });
    assert.equal(revokedText(model.chat.messages.get("m1"), "alice"), "You revoked a message");
    assert.equal(isRevoked(model.conversations.get("si_alice_bob").latestMsg), true);
    assert.equal(model.error, null);
  });
});

describe("the controller: server first, flags cleared only by the user", () => {
  it("changes nothing before the SDK confirmed, and nothing at all when it refuses", async () => {
    const { sdk, model, controller } = await booted({ conversations: [conversation({ maxSeq: 2, unreadCount: 2 })] });
    const before = model.conversations.get("si_alice_bob");
    for (const [method, act] of [
      ["setConversationRecvMessageOpt", () => controller.setMuted("si_alice_bob", true)],
      ["pinConversation", () => controller.setPinned("si_alice_bob", true)],
      ["markConversationAsUnread", () => controller.markUnread("si_alice_bob")],
      ["hideConversation", () => controller.hide("si_alice_bob")],
      ["markAllConversationMessageAsRead", () => controller.markAllRead()],
    ]) {
      sdk.fail(method, { errCode: 1503, errMsg: "server unavailable" });
      const pending = act();
      assert.equal(model.conversations.get("si_alice_bob"), before, `${method}: nothing shown before the answer`);
      assert.equal(await pending, false);
      assert.equal(model.conversations.get("si_alice_bob"), before, `${method}: refused, nothing changed`);
      assert.equal(model.total, 2);
      assert.match(model.error.message, /server unavailable/);
      sdk.succeed(method);
    }
    assert.equal(await controller.setPinned("si_alice_bob", true), true);
    assert.equal(model.conversations.get("si_alice_bob").isPinned, true);
    assert.equal(model.error, null, "a success takes the banner down");
  });

  it("marks all read in one call, muted conversations too", async () => {
    const { sdk, model, controller } = await booted({
      conversations: [
        conversation({ maxSeq: 2, unreadCount: 2 }),
        conversation({ conversationID: "si_alice_carol", userID: "carol", maxSeq: 1, unreadCount: 1, recvMsgOpt: 2 }),
        conversation({ conversationID: "si_alice_dan", userID: "dan", isMarkedUnread: true }),
      ],
    });
    await controller.markAllRead();
    assert.equal(called(sdk, "markAllConversationMessageAsRead").length, 1);
    assert.equal(called(sdk, "markConversationMessageAsRead").length, 0);
    assert.equal(model.total, 0);
    for (const record of model.conversations.values()) {
      assert.equal(record.unreadCount, 0);
      assert.equal(record.isMarkedUnread, false);
    }
  });

  it("clears the flag when the user opens the conversation", async () => {
    const { sdk, model, controller } = await booted({ conversations: [conversation({ isMarkedUnread: true })] });
    assert.equal(model.total, 1);
    controller.open("si_alice_bob");
    await settle();
    assert.equal(called(sdk, "markConversationMessageAsRead").length, 1);
    assert.equal(model.conversations.get("si_alice_bob").isMarkedUnread, false);
    assert.equal(model.total, 0);
  });

  it("keeps a flag that arrives while the chat is open, even as messages come, until the user acts", async () => {
    const { sdk, model, controller } = await booted({ conversations: [conversation({ maxSeq: 1, hasReadSeq: 1 })] });
    controller.open("si_alice_bob");
    await settle();
    const reads = () => called(sdk, "markConversationMessageAsRead").length;
    const opened = reads();
    sdk.push("si_alice_bob", { isMarkedUnread: true }); // another device marked it unread
    await settle();
    assert.equal(reads(), opened, "no mark-read because the flag arrived");
    sdk.push("si_alice_bob", { maxSeq: 2 }); // and a message came
    controller.autoMarkRead("visible");
    await settle();
    assert.equal(reads(), opened, "nor because a message came or the page showed");
    assert.equal(model.conversations.get("si_alice_bob").isMarkedUnread, true);
    controller.open("si_alice_bob"); // the user clicks it in the list
    await settle();
    assert.equal(reads(), opened + 1);
    assert.equal(model.conversations.get("si_alice_bob").isMarkedUnread, false);
  });

  it("still reads new messages of an open chat with no flag", async () => {
    const { sdk, controller } = await booted({ conversations: [conversation({ maxSeq: 1, hasReadSeq: 1 })] });
    controller.open("si_alice_bob");
    await settle();
    const opened = called(sdk, "markConversationMessageAsRead").length;
    sdk.push("si_alice_bob", { maxSeq: 2 });
    await settle();
    assert.equal(called(sdk, "markConversationMessageAsRead").length, opened + 1);
  });

  it("sending in a flagged chat clears the flag (acting in the chat)", async () => {
    const { sdk, model, controller } = await booted({ conversations: [conversation({ maxSeq: 1, hasReadSeq: 1 })] });
    controller.open("si_alice_bob");
    await settle();
    sdk.push("si_alice_bob", { isMarkedUnread: true });
    await controller.send("hello");
    await settle();
    assert.equal(model.conversations.get("si_alice_bob").isMarkedUnread, false);
  });

  it("closes the open conversation once it is marked unread, and leaves it open if refused", async () => {
    const { sdk, model, controller } = await booted({ conversations: [conversation({ maxSeq: 1, hasReadSeq: 1 })] });
    controller.open("si_alice_bob");
    await settle();
    sdk.fail("markConversationAsUnread");
    await controller.markUnread("si_alice_bob");
    assert.equal(model.chat?.id, "si_alice_bob");
    sdk.succeed("markConversationAsUnread");
    await controller.markUnread("si_alice_bob");
    assert.equal(model.chat, null);
    assert.equal(model.conversations.get("si_alice_bob").isMarkedUnread, true, "closing did not read it");
    assert.equal(model.total, 1);
  });

  it("hides a conversation: out of the list, the chat closed", async () => {
    const { model, controller } = await booted({ conversations: [conversation({ maxSeq: 3, unreadCount: 3 })] });
    controller.open("si_alice_bob");
    await settle();
    await controller.hide("si_alice_bob");
    assert.equal(model.chat, null);
    const order = new ConversationOrder();
    order.reset(model.conversations.values());
    assert.deepEqual(order.sorted, []);
    assert.equal(model.total, 0, "hiding reads it first");
  });
});

describe("drafts", () => {
  it("saves the input's text shortly after typing, once, and on switching away", async () => {
    const { sdk, model, controller, timers } = await booted({
      conversations: [conversation({}), conversation({ conversationID: "si_alice_carol", userID: "carol" })],
    });
    controller.open("si_alice_bob");
    await settle();
    controller.draftChanged("he");
    controller.draftChanged("hello");
    assert.equal(called(sdk, "setConversationDraft").length, 0, "debounced");
    timers.run();
    await settle();
    assert.deepEqual(called(sdk, "setConversationDraft").map((c) => c[1]), [{ conversationID: "si_alice_bob", draftText: "hello" }]);
    assert.equal(model.conversations.get("si_alice_bob").draftText, "hello");
    controller.draftChanged("hello there");
    controller.open("si_alice_carol"); // switching away saves at once
    await settle();
    assert.equal(model.conversations.get("si_alice_bob").draftText, "hello there");
    assert.ok(model.conversations.get("si_alice_bob").draftTextTime > 0);
  });

  it("clears the draft when the message is sent, and a pending save does not bring it back", async () => {
    const { sdk, model, controller, timers } = await booted({ conversations: [conversation({ draftText: "hi", draftTextTime: 5 })] });
    controller.open("si_alice_bob");
    await settle();
    controller.draftChanged("hi there");
    await controller.send("hi there");
    timers.run();
    await settle();
    assert.equal(model.conversations.get("si_alice_bob").draftText, "");
    assert.deepEqual(called(sdk, "setConversationDraft").map((c) => c[1].draftText), [""]);
  });

  it("clears a draft when the input is emptied", async () => {
    const { model, controller, timers } = await booted({ conversations: [conversation({ draftText: "x", draftTextTime: 5 })] });
    controller.open("si_alice_bob");
    await settle();
    controller.draftChanged("");
    timers.run();
    await settle();
    assert.equal(model.conversations.get("si_alice_bob").draftText, "");
  });
});

describe("sending with mentions", () => {
  it("sends an @ message when a recorded mention is still in the text", async () => {
    const { sdk, model, controller } = await booted(groupSeed());
    controller.open(GROUP);
    await settle();
    await controller.send("@Bob B look", [{ userID: "bob", name: "Bob B" }]);
    const [created] = called(sdk, "createTextAtMessage");
    assert.deepEqual(created[1], { text: "@Bob B look", atUserIDList: ["bob"], atUsersInfo: [{ atUserID: "bob", groupNickname: "Bob B" }] });
    const sent = called(sdk, "sendMessage").at(-1)[1];
    assert.equal(sent.groupID, "g1");
    assert.equal(sent.message.contentType, ContentType.AT_TEXT);
    const shown = [...model.chat.messages.values()].at(-1);
    assert.equal(shown.state, "sent");
    assert.equal(messageText(shown), "@Bob B look");
  });

  it("sends plain text when the mention was deleted from the text, and in single chats", async () => {
    const { sdk, controller } = await booted(groupSeed());
    controller.open(GROUP);
    await settle();
    await controller.send("never mind", [{ userID: "bob", name: "Bob B" }]);
    assert.equal(called(sdk, "createTextAtMessage").length, 0);
    assert.deepEqual(called(sdk, "createTextMessage").at(-1)[1], "never mind");
  });

  it("reads the members, so my role decides the revoke menu", async () => {
    const { model, controller } = await booted(groupSeed());
    controller.open(GROUP);
    await settle();
    await settle();
    assert.equal(model.myRole, Role.OWNER);
    assert.equal(model.roleOf("carol"), Role.ADMIN);
    assert.equal(model.roleOf("zed"), 0);
  });
});

describe("the fake IMSDK", () => {
  it("counts by the spec's contribution rule", () => {
    assert.equal(contribution(conversation({ unreadCount: 3, recvMsgOpt: 2, isMarkedUnread: true })), 0);
    assert.equal(contribution(conversation({ unreadCount: 3, isMarkedUnread: true })), 3);
    assert.equal(contribution(conversation({ isMarkedUnread: true })), 1);
  });
});
