// The controller (web/controller.js) against a fake window.IMSDK: the SDK's events and
// answers reach the model, and only they change what it holds.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Controller } from "../../web/controller.js";
import { Model, Status } from "../../web/model.js";
import { ErrorCode, SdkEvent } from "../../web/protocol.js";
import { connectSdk } from "../../web/sdk.js";

const ok = (data) => Promise.resolve({ errCode: 0, errMsg: "", data });

/** A stand-in for window.IMSDK: answers from `answers` (method -> function), events by emit(). */
function fakeSdk(answers = {}) {
  const handlers = new Map();
  const calls = [];
  const sdk = {
    ready: ok({ loginStatus: 3, userID: "alice", restoreError: null }),
    on(event, handler) {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(handler);
      return ok(null);
    },
    emit(event, data) {
      for (const handler of handlers.get(event) ?? []) handler({ event, errCode: 0, errMsg: "", data });
    },
    calls,
  };
  const defaults = {
    getLoginStatus: () => 3,
    getSelfUserInfo: () => ({ userID: "alice", nickname: "Alice" }),
    getAllConversationList: () => [],
    getTotalUnreadMsgCount: () => 0,
    markConversationMessageAsRead: () => null,
    getAdvancedHistoryMessageList: () => ({ messageList: [], isEnd: true }),
  };
  for (const [method, answer] of Object.entries({ ...defaults, ...answers })) {
    sdk[method] = async (arg) => {
      calls.push([method, arg]);
      const data = await answer(arg);
      return { errCode: 0, errMsg: "", data };
    };
  }
  return sdk;
}

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

async function booted(answers, { visible = true } = {}) {
  const sdk = fakeSdk(answers);
  const model = new Model();
  const controller = new Controller(model, connectSdk(() => sdk), {
    storage: memoryStorage(),
    visible: () => visible,
  });
  await controller.boot();
  return { sdk, model, controller };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const record = (fields) => ({
  conversationID: "si_alice_bob",
  conversationType: 1,
  userID: "bob",
  groupID: "",
  showName: "bob",
  unreadCount: 0,
  hasReadSeq: 0,
  maxSeq: 0,
  peerHasReadSeq: 0,
  latestMsg: null,
  latestMsgSendTime: 0,
  version: 1,
  ...fields,
});

describe("boot", () => {
  it("a restored session enters the main screen with the SDK's list and total", async () => {
    const { model } = await booted({
      getAllConversationList: () => [record({ unreadCount: 2, maxSeq: 2, version: 3 })],
      getTotalUnreadMsgCount: () => 2,
    });
    assert.equal(model.screen, "main");
    assert.deepEqual(model.me, { userID: "alice", nickname: "Alice" });
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 2);
    assert.equal(model.total, 2);
  });

  it("no session: the login form", async () => {
    const { model } = await booted({ getLoginStatus: () => 1 });
    assert.equal(model.screen, "login");
    assert.equal(model.me, null);
  });
});

describe("events and answers", () => {
  it("events reach the model", async () => {
    const { sdk, model } = await booted();
    sdk.emit(SdkEvent.OnConnectSuccess, null);
    assert.equal(model.status, Status.UP_TO_DATE);
    sdk.emit(SdkEvent.OnNewConversation, [record({ unreadCount: 1, maxSeq: 1, version: 2 })]);
    sdk.emit(SdkEvent.OnTotalUnreadMessageCountChanged, 1);
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 1);
    assert.equal(model.total, 1);
    sdk.emit(SdkEvent.OnConversationChanged, [record({ unreadCount: 5, maxSeq: 5, version: 1 })]);
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 1, "an older record is no news");
  });

  it("a list read that an event overtakes does not undo the event", async () => {
    let release;
    const { sdk, model, controller } = await booted();
    const stale = [record({ unreadCount: 1, maxSeq: 1, version: 2 })];
    sdk.getAllConversationList = () => new Promise((resolve) => { release = () => resolve(ok(stale)); });
    sdk.getTotalUnreadMsgCount = () => ok(1);
    const reading = controller.refresh();
    sdk.emit(SdkEvent.OnConversationChanged, [record({ unreadCount: 0, hasReadSeq: 1, maxSeq: 1, version: 3 })]);
    sdk.emit(SdkEvent.OnTotalUnreadMessageCountChanged, 0);
    release();
    await reading;
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 0);
    assert.equal(model.total, 0);
  });

  it("a token refused while logged in signs out with a message", async () => {
    const { sdk, model } = await booted();
    sdk.emit(SdkEvent.OnUserTokenExpired, { errCode: ErrorCode.TOKEN_EXPIRED, errMsg: "expired" });
    assert.equal(model.screen, "login");
    assert.match(model.loginMessage, /session has expired/);
  });
});

describe("marking read", () => {
  it("opening a visible chat asks the SDK; the badge changes only by the SDK's report", async () => {
    const { sdk, model, controller } = await booted({
      getAllConversationList: () => [record({ unreadCount: 2, maxSeq: 2, version: 3 })],
      getTotalUnreadMsgCount: () => 2,
    });
    controller.open("si_alice_bob");
    await settle();
    assert.ok(sdk.calls.some(([method, arg]) => method === "markConversationMessageAsRead" && arg === "si_alice_bob"));
    assert.equal(model.conversations.get("si_alice_bob").unreadCount, 2, "not cleared by the page");
  });

  it("a hidden page does not mark read; a failure leaves the badge and shows the error", async () => {
    const hidden = await booted({
      getAllConversationList: () => [record({ unreadCount: 2, maxSeq: 2, version: 3 })],
    }, { visible: false });
    hidden.controller.open("si_alice_bob");
    await settle();
    assert.ok(!hidden.sdk.calls.some(([method]) => method === "markConversationMessageAsRead"));

    const failing = await booted({
      getAllConversationList: () => [record({ unreadCount: 2, maxSeq: 2, version: 3 })],
    });
    failing.sdk.markConversationMessageAsRead = () => Promise.reject({ errCode: ErrorCode.UNAVAILABLE, errMsg: "database lost" });
    failing.controller.open("si_alice_bob");
    await settle();
    assert.equal(failing.model.conversations.get("si_alice_bob").unreadCount, 2);
    assert.match(failing.model.error.message, /Could not mark as read: database lost/);
  });
});

describe("history", () => {
  it("a new chat the SDK does not know has nothing to load, and no error", async () => {
    const { sdk, model, controller } = await booted();
    sdk.getAdvancedHistoryMessageList = () => Promise.reject({ errCode: ErrorCode.CONVERSATION_NOT_FOUND, errMsg: "no such conversation" });
    assert.ok(controller.startChat("Zoe"));
    await settle();
    assert.equal(model.chat.id, "si_alice_zoe");
    assert.ok(model.chat.loaded && model.chat.isEnd);
    assert.equal(model.error, null);
  });
});

describe("sending", () => {
  it("a failed send is marked failed, and a retry sends the same message", async () => {
    const sent = [];
    let fail = true;
    const { sdk, model, controller } = await booted({
      getAllConversationList: () => [record({ version: 3 })],
      createTextMessage: (text) => ({ clientMsgID: "x1", conversationID: "si_alice_bob", sendID: "alice", textElem: { content: text } }),
    });
    sdk.sendMessage = async (arg) => { // rejects as the facade does: {errCode, errMsg}
      sent.push([arg.recvID, arg.message.clientMsgID]);
      if (fail) throw { errCode: ErrorCode.NETWORK_ERROR, errMsg: "offline" };
      return ok({ ...arg.message, seq: 1, serverMsgID: "s1" });
    };
    controller.open("si_alice_bob");
    await controller.send("hello");
    assert.equal(model.chat.messages.get("x1").state, "failed");
    assert.match(model.error.message, /Message not sent: offline/);
    fail = false;
    await controller.retry("x1");
    assert.equal(model.chat.messages.get("x1").state, "sent");
    assert.deepEqual(sent, [["bob", "x1"], ["bob", "x1"]]);
  });
});
