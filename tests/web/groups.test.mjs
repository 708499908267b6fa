// Groups on the page: the model's member list, receipts, reader list and typing
// (web/model.js), the notification wording (web/ui/notice.js), and the controller asking
// the SDK for them (web/controller.js) against a fake window.IMSDK.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Controller } from "../../web/controller.js";
import { Model, Role, isNotification, readOnlyReason } from "../../web/model.js";
import { ContentType, ErrorCode, SdkEvent, SessionType } from "../../web/protocol.js";
import { connectSdk } from "../../web/sdk.js";
import { joinNames, noticeText } from "../../web/ui/notice.js";

const ME = { userID: "alice", nickname: "Alice" };
const GROUP = "sg_g1";

function groupRecord(fields = {}) {
  return {
    conversationID: GROUP,
    conversationType: SessionType.GROUP,
    userID: "",
    groupID: "g1",
    showName: "Trip",
    unreadCount: 0,
    hasReadSeq: 0,
    maxSeq: 0,
    peerHasReadSeq: 0,
    latestMsg: null,
    latestMsgSendTime: 0,
    version: 1,
    isNotInGroup: false,
    ...fields,
  };
}

function text(seq, sendID, fields = {}) {
  return {
    clientMsgID: `c${seq}`, conversationID: GROUP, seq, sendID, groupID: "g1",
    sessionType: SessionType.GROUP, contentType: ContentType.TEXT,
    textElem: { content: `m${seq}` }, sendTime: 1000 + seq, ...fields,
  };
}

function notice(seq, contentType, detail, sendID = "ann") {
  return {
    clientMsgID: `n${seq}`, conversationID: GROUP, seq, sendID, groupID: "g1",
    sessionType: SessionType.GROUP, contentType, textElem: null,
    notificationElem: { detail: JSON.stringify({ opUser: { userID: sendID, nickname: sendID }, ...detail }) },
    sendTime: 1000 + seq,
  };
}

const who = (userID) => ({ userID, nickname: userID });

function loggedIn() {
  const model = new Model();
  model.loggedIn(ME);
  const changes = [];
  model.subscribe((change) => changes.push(change));
  return { model, changes };
}

describe("notification lines", () => {
  it("say what happened, in words, naming me as you", () => {
    assert.equal(noticeText(notice(1, ContentType.MEMBER_INVITED, { invitedUserList: [who("dave")] }, "carol")), "carol added dave");
    assert.equal(noticeText(notice(2, ContentType.MEMBER_KICKED, { kickedUserList: [who("bob")] })), "ann removed bob");
    assert.equal(noticeText(notice(3, ContentType.MEMBER_QUIT, { quitUser: who("bob") }, "bob")), "bob left");
    assert.equal(noticeText(notice(4, ContentType.GROUP_NAME_UPDATED, { group: { groupID: "g1", groupName: "Hike" } })), "ann renamed the group to “Hike”");
    assert.equal(noticeText(notice(5, ContentType.MEMBER_SET_TO_ADMIN, { member: who("cat") })), "ann made cat an admin");
    assert.equal(noticeText(notice(6, ContentType.MEMBER_SET_TO_ORDINARY, { member: who("cat") })), "ann made cat a member");
    assert.equal(noticeText(notice(7, ContentType.GROUP_OWNER_TRANSFERRED, { newGroupOwner: who("ben") })), "ann made ben the owner");
    assert.equal(noticeText(notice(8, ContentType.GROUP_DISMISSED, {})), "ann dismissed the group");
    assert.equal(noticeText(notice(9, ContentType.MEMBER_KICKED, { kickedUserList: [who("alice")] }), "alice"), "ann removed you");
    assert.equal(noticeText(notice(10, ContentType.MEMBER_QUIT, { quitUser: who("alice") }, "alice"), "alice"), "You left");
    assert.equal(
      noticeText(notice(11, ContentType.MEMBER_INVITED, { invitedUserList: [who("b"), who("c"), who("d")] })),
      "ann added b, c and d",
    );
    assert.equal(joinNames(["a", "b"]), "a and b");
  });

  it("keep markup as text and survive an unreadable detail", () => {
    const evil = notice(1, ContentType.GROUP_NAME_UPDATED, { group: { groupName: "<img src=x onerror=alert(1)>" } });
    assert.equal(noticeText(evil), "ann renamed the group to “<img src=x onerror=alert(1)>”");
    const broken = { ...notice(2, ContentType.MEMBER_QUIT, {}), notificationElem: { detail: "{not json" } };
    assert.equal(noticeText(broken), "ann left");
    assert.ok(isNotification(broken));
    assert.ok(!isNotification(text(3, "bob")));
  });

  it("tell why a group is read-only from the last thing its member saw", () => {
    assert.equal(readOnlyReason(groupRecord()), "");
    assert.match(readOnlyReason(groupRecord({ isNotInGroup: true, latestMsg: notice(3, ContentType.MEMBER_KICKED, {}) })), /removed/);
    assert.match(readOnlyReason(groupRecord({ isNotInGroup: true, latestMsg: notice(3, ContentType.MEMBER_QUIT, {}) })), /You left/);
    assert.match(readOnlyReason(groupRecord({ isNotInGroup: true, latestMsg: notice(3, ContentType.GROUP_DISMISSED, {}) })), /dismissed/);
  });
});

describe("the model: members, receipts, readers, typing", () => {
  it("holds the member list, owner first, and knows my role", () => {
    const { model, changes } = loggedIn();
    model.conversationsChanged([groupRecord()]);
    model.openChat(GROUP);
    const key = model.chat.key;
    changes.length = 0;
    model.membersAnswered(key, [
      { userID: "bob", nickname: "Bob", roleLevel: 20 },
      { userID: "alice", nickname: "Alice", roleLevel: 60 },
      { userID: "ann", nickname: "Ann", roleLevel: 100 },
    ]);
    assert.deepEqual(model.chat.members.list.map((m) => m.userID), ["ann", "alice", "bob"]);
    assert.equal(model.myRole, Role.ADMIN);
    assert.equal(changes.length, 1);
    assert.ok(changes[0].members);
    model.membersAnswered(key, [...model.chat.members.list].reverse());
    assert.equal(changes.length, 1, "the same members are no change");
    model.membersAnswered(key + 1, []);
    assert.equal(model.chat.members.list.length, 3, "an answer for another opening is dropped");
  });

  it("never lowers a receipt count: a late answer cannot undo a newer one", () => {
    const { model } = loggedIn();
    model.conversationsChanged([groupRecord()]);
    model.openChat(GROUP);
    const key = model.chat.key;
    model.receiptsAnswered(key, [{ seq: 3, hasReadCount: 2, groupMemberCount: 3 }]);
    model.receiptsAnswered(key, [{ seq: 3, hasReadCount: 1, groupMemberCount: 3 }, { seq: 4, hasReadCount: 0, groupMemberCount: 3 }]);
    assert.deepEqual(model.chat.receipts.get(3), { hasReadCount: 2, groupMemberCount: 3 });
    assert.deepEqual(model.chat.receipts.get(4), { hasReadCount: 0, groupMemberCount: 3 });
  });

  it("holds a reader list for one message; its answer lifts the count it shows", () => {
    const { model } = loggedIn();
    model.conversationsChanged([groupRecord()]);
    model.openChat(GROUP);
    const key = model.chat.key;
    model.receiptsAnswered(key, [{ seq: 3, hasReadCount: 0, groupMemberCount: 2 }]);
    model.readersOpened(key, 3);
    assert.equal(model.chat.readers.loaded, false);
    model.readersAnswered(key, 4, [who("bob")], [who("carol")]);
    assert.equal(model.chat.readers.loaded, false, "an answer for another message is dropped");
    model.readersAnswered(key, 3, [who("bob")], [who("carol")]);
    assert.deepEqual(model.chat.readers.read, [{ userID: "bob", nickname: "bob" }]);
    assert.deepEqual(model.chat.receipts.get(3), { hasReadCount: 1, groupMemberCount: 2 });
    model.readersClosed(key);
    assert.equal(model.chat.readers, null);
  });

  it("knows who types where, never me; a message from them ends it", () => {
    const { model, changes } = loggedIn();
    model.typingChanged(GROUP, "bob", true);
    model.typingChanged(GROUP, "carol", true);
    model.typingChanged(GROUP, "alice", true);
    model.typingChanged(GROUP, "bob", true);
    assert.deepEqual(model.typingIn(GROUP), ["bob", "carol"]);
    assert.equal(changes.length, 2);
    model.messagesReceived([text(5, "carol")]);
    assert.deepEqual(model.typingIn(GROUP), ["bob"]);
    model.typingChanged(GROUP, "bob", false);
    assert.deepEqual(model.typingIn(GROUP), []);
    model.typingChanged(GROUP, "bob", true);
    model.signedOut();
    assert.deepEqual(model.typingIn(GROUP), []);
  });
});

// -- the controller against a fake SDK ----------------------------------------------------

function fakeSdk(answers) {
  const handlers = new Map();
  const calls = [];
  const sdk = {
    ready: Promise.resolve({ errCode: 0, errMsg: "", data: { loginStatus: 3, userID: "alice" } }),
    on(event, handler) {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(handler);
    },
    emit(event, data) {
      for (const handler of handlers.get(event) ?? []) handler({ event, errCode: 0, errMsg: "", data });
    },
    calls,
  };
  for (const [method, answer] of Object.entries(answers)) {
    sdk[method] = async (arg) => {
      calls.push([method, arg]);
      return { errCode: 0, errMsg: "", data: await answer(arg) };
    };
  }
  return sdk;
}

/** Timers under the test's control: run() fires those due by `now`. */
function clock() {
  let now = 10_000;
  const timers = new Map();
  let ids = 0;
  return {
    now: () => now,
    setTimer: (run, ms) => { timers.set(++ids, { at: now + ms, run }); return ids; },
    clearTimer: (id) => timers.delete(id),
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= now) {
          timers.delete(id);
          timer.run();
        }
      }
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

async function groupChat(overrides = {}, history = [text(1, "bob"), text(2, "alice"), text(3, "alice")]) {
  const members = [
    { userID: "alice", nickname: "Alice", roleLevel: 100 },
    { userID: "bob", nickname: "Bob", roleLevel: 20 },
    { userID: "carol", nickname: "Carol", roleLevel: 20 },
  ];
  const sdk = fakeSdk({
    getLoginStatus: () => 3,
    getSelfUserInfo: () => ME,
    getAllConversationList: () => [groupRecord({ maxSeq: 3, hasReadSeq: 3, version: 2 })],
    getTotalUnreadMsgCount: () => 0,
    markConversationMessageAsRead: () => null,
    getAdvancedHistoryMessageList: () => ({ messageList: history, isEnd: true }),
    getGroupMemberList: () => members,
    getGroupMessageReceiptCounts: ({ seqs }) => seqs.map((seq) => ({ seq, hasReadCount: 0, groupMemberCount: 2 })),
    getGroupMessageReaderList: ({ filter }) => (filter === 0 ? [members[1]] : [members[2]]),
    changeInputStates: () => null,
    kickGroupMember: () => null,
    ...overrides,
  });
  const time = clock();
  const model = new Model();
  const storage = new Map();
  const controller = new Controller(model, connectSdk(() => sdk), {
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) },
    visible: () => true,
    ...time,
  });
  await controller.boot();
  controller.open(GROUP);
  await settle();
  return { sdk, model, controller, time };
}

const calls = (sdk, method) => sdk.calls.filter(([name]) => name === method).map(([, arg]) => arg);

describe("the controller: groups", () => {
  it("reads the members on opening a group, and the counts of my messages, once, together", async () => {
    const { sdk, model, time } = await groupChat();
    assert.equal(calls(sdk, "getGroupMemberList").length, 1);
    assert.equal(model.chat.members.list.length, 3);
    assert.equal(calls(sdk, "getGroupMessageReceiptCounts").length, 0, "debounced");
    time.advance(300);
    await settle();
    assert.deepEqual(calls(sdk, "getGroupMessageReceiptCounts"), [{ conversationID: GROUP, seqs: [2, 3] }]);
    assert.deepEqual(model.chat.receipts.get(3), { hasReadCount: 0, groupMemberCount: 2 });
  });

  it("asks again on receipt events, coalesced, only for my messages below the new positions", async () => {
    let read = 0;
    const { sdk, model, time } = await groupChat({
      getGroupMessageReceiptCounts: ({ seqs }) => seqs.map((seq) => ({ seq, hasReadCount: Math.min(read, 2), groupMemberCount: 2 })),
    });
    time.advance(300);
    await settle();
    read = 1;
    sdk.emit(SdkEvent.OnRecvGroupReadReceipt, { conversationID: GROUP, readers: [{ userID: "bob", hasReadSeq: 2 }] });
    read = 2;
    sdk.emit(SdkEvent.OnRecvGroupReadReceipt, { conversationID: GROUP, readers: [{ userID: "carol", hasReadSeq: 2 }] });
    sdk.emit(SdkEvent.OnRecvGroupReadReceipt, { conversationID: "sg_other", readers: [{ userID: "carol", hasReadSeq: 9 }] });
    time.advance(300);
    await settle();
    const asked = calls(sdk, "getGroupMessageReceiptCounts");
    assert.equal(asked.length, 2, "two events, one question");
    assert.deepEqual(asked[1].seqs, [2]);
    assert.deepEqual(model.chat.receipts.get(2), { hasReadCount: 2, groupMemberCount: 2 });
    sdk.emit(SdkEvent.OnRecvGroupReadReceipt, { conversationID: GROUP, readers: [{ userID: "bob", hasReadSeq: 2 }] });
    time.advance(300);
    await settle();
    assert.equal(calls(sdk, "getGroupMessageReceiptCounts").length, 2, "read by all: nothing left to ask");
  });

  it("opens the reader list from the SDK's two answers", async () => {
    const { sdk, model, controller } = await groupChat();
    controller.openReaders(3);
    await settle();
    assert.deepEqual(calls(sdk, "getGroupMessageReaderList").map((a) => [a.seq, a.filter]), [[3, 0], [3, 1]]);
    assert.deepEqual(model.chat.readers.read.map((m) => m.userID), ["bob"]);
    assert.deepEqual(model.chat.readers.unread.map((m) => m.userID), ["carol"]);
  });

  it("a refused change shows its error and changes nothing; an accepted one re-reads the list", async () => {
    const refusal = { errCode: ErrorCode.GROUP_PERMISSION_DENIED, errMsg: "only the owner or an admin may do this" };
    const { sdk, model, controller } = await groupChat({ kickGroupMember: () => Promise.reject(refusal) });
    sdk.kickGroupMember = () => Promise.reject(refusal);
    assert.equal(await controller.kickMember("bob"), false);
    assert.match(model.error.message, /Could not remove: only the owner or an admin/);
    assert.equal(model.chat.members.list.length, 3);
    assert.equal(calls(sdk, "getGroupMemberList").length, 1);
    sdk.kickGroupMember = async () => ({ errCode: 0, errMsg: "", data: null });
    assert.equal(await controller.kickMember("bob"), true);
    await settle();
    assert.equal(calls(sdk, "getGroupMemberList").length, 2);
  });

  it("re-reads the members when a notification they have not seen arrives", async () => {
    const { sdk } = await groupChat();
    sdk.emit(SdkEvent.OnRecvNewMessages, [notice(4, ContentType.MEMBER_KICKED, { kickedUserList: [who("bob")] })]);
    await settle();
    assert.equal(calls(sdk, "getGroupMemberList").length, 2);
  });

  it("says typing at most every 2 s, and stopped on send", async () => {
    const { sdk, controller, time } = await groupChat();
    controller.composing();
    time.advance(500);
    controller.composing();
    time.advance(1600);
    controller.composing();
    controller.stopComposing();
    controller.stopComposing();
    assert.deepEqual(calls(sdk, "changeInputStates").map((a) => a.focus), [true, true, false]);
    assert.equal(calls(sdk, "changeInputStates")[0].conversationID, GROUP);
  });

  it("shows others typing until they stop, or until it expires on its own", async () => {
    const { sdk, model, time } = await groupChat();
    const typing = (userID, focus) => sdk.emit(SdkEvent.OnConversationUserInputStatusChanged, { conversationID: GROUP, userID, focus });
    typing("bob", true);
    typing("carol", true);
    assert.deepEqual(model.typingIn(GROUP), ["bob", "carol"]);
    typing("bob", false);
    assert.deepEqual(model.typingIn(GROUP), ["carol"]);
    time.advance(4000);
    typing("carol", true); // renewed
    time.advance(4000);
    assert.deepEqual(model.typingIn(GROUP), ["carol"]);
    time.advance(2500);
    assert.deepEqual(model.typingIn(GROUP), []);
  });

  it("a read-only group says nothing of typing and reads no member list", async () => {
    const left = groupRecord({ maxSeq: 4, hasReadSeq: 4, version: 3, isNotInGroup: true, latestMsg: notice(4, ContentType.MEMBER_KICKED, { kickedUserList: [who("alice")] }) });
    const { sdk, controller } = await groupChat({ getAllConversationList: () => [left] });
    controller.composing();
    controller.toggleMembers(true);
    await settle();
    assert.equal(calls(sdk, "changeInputStates").length, 0);
    assert.equal(calls(sdk, "getGroupMemberList").length, 0);
  });
});
