// The page's model (web/model.js): fed by the SDK's events and answers, it tells its
// subscribers once per change and never shows older state than it has shown.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Model, Status, highestSeq } from "../../web/model.js";
import { SessionType } from "../../web/protocol.js";

const ME = { userID: "alice", nickname: "Alice" };

function conversation(id, fields = {}) {
  return {
    conversationID: id,
    conversationType: SessionType.SINGLE,
    userID: id.replace(/^si_alice_|_alice$/g, ""),
    groupID: "",
    showName: id,
    unreadCount: 0,
    hasReadSeq: 0,
    maxSeq: 0,
    peerHasReadSeq: 0,
    latestMsg: null,
    latestMsgSendTime: 0,
    version: 1,
    ...fields,
  };
}

function message(seq, fields = {}) {
  return {
    clientMsgID: `c${seq}`,
    conversationID: "si_alice_bob",
    seq,
    sendID: "bob",
    textElem: { content: `m${seq}` },
    sendTime: 1000 + seq,
    ...fields,
  };
}

/** A model with alice logged in, and a log of the changes its subscriber got. */
function loggedIn() {
  const model = new Model();
  model.loggedIn(ME);
  const changes = [];
  model.subscribe((change) => changes.push(change));
  return { model, changes };
}

describe("conversations from events", () => {
  it("adds and replaces records, notifying once per event", () => {
    const { model, changes } = loggedIn();
    const a1 = conversation("si_alice_bob", { unreadCount: 1, maxSeq: 1, version: 2 });
    const b1 = conversation("si_alice_carol", { version: 3 });
    model.conversationsChanged([a1, b1]);
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0].conversations, { changed: [a1, b1], removed: [], reset: false });
    assert.equal(model.conversations.get("si_alice_bob"), a1);

    const a2 = { ...a1, unreadCount: 0, hasReadSeq: 1, version: 4 };
    model.conversationsChanged([a2]);
    assert.equal(changes.length, 2);
    assert.equal(model.conversations.get("si_alice_bob"), a2);
  });

  it("keeps the newer record when an older one comes late (the SDK's version decides)", () => {
    const { model, changes } = loggedIn();
    const read = conversation("si_alice_bob", { unreadCount: 0, hasReadSeq: 2, maxSeq: 2, version: 5 });
    const unread = conversation("si_alice_bob", { unreadCount: 2, hasReadSeq: 0, maxSeq: 2, version: 4 });
    model.conversationsChanged([read]);
    model.conversationsChanged([unread]);
    assert.equal(model.conversations.get("si_alice_bob"), read);
    assert.equal(changes.length, 1, "a stale event is no change");
  });

  it("ignores a repeated event: no change, no notification, the same object kept", () => {
    const { model, changes } = loggedIn();
    const record = conversation("si_alice_bob", { unreadCount: 1, version: 2 });
    model.conversationsChanged([record]);
    model.conversationsChanged([{ ...record, latestMsg: null }]);
    model.conversationsChanged([]);
    assert.equal(changes.length, 1);
    assert.equal(model.conversations.get("si_alice_bob"), record);
  });

  it("ignores conversation events while nobody is logged in", () => {
    const model = new Model();
    let notified = 0;
    model.subscribe(() => notified++);
    model.conversationsChanged([conversation("si_alice_bob")]);
    assert.equal(model.conversations.size, 0);
    assert.equal(notified, 0);
  });
});

describe("the total", () => {
  it("is the SDK's, from its event; an unchanged total notifies no one", () => {
    const { model, changes } = loggedIn();
    model.totalChanged(3);
    model.totalChanged(3);
    assert.equal(model.total, 3);
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0], { total: true });
  });

  it("is not the sum of the badges: muted conversations and such are the SDK's business", () => {
    const { model } = loggedIn();
    model.conversationsChanged([conversation("si_alice_bob", { unreadCount: 5 })]);
    model.totalChanged(0);
    assert.equal(model.total, 0);
  });

  it("from an answer yields to an event that came after the question", () => {
    const { model } = loggedIn();
    const asked = model.ask();
    model.totalChanged(4); // reported while the answer was on its way
    model.conversationsListed([], 2, asked);
    assert.equal(model.total, 4);

    const later = model.ask();
    model.conversationsListed([], 1, later);
    assert.equal(model.total, 1, "an answer asked after the event is newer");
  });
});

describe("the whole list from an answer", () => {
  it("replaces what changed, keeps equal records' objects, and drops what the SDK no longer has", () => {
    const { model, changes } = loggedIn();
    const kept = conversation("si_alice_bob", { version: 2 });
    const gone = conversation("si_alice_dave", { version: 3 });
    model.conversationsChanged([kept, gone]);
    changes.length = 0;

    const added = conversation("si_alice_carol", { version: 4 });
    model.conversationsListed([{ ...kept }, added], 0, model.ask());
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0].conversations, { changed: [added], removed: ["si_alice_dave"], reset: false });
    assert.equal(model.conversations.get("si_alice_bob"), kept);
    assert.deepEqual([...model.conversations.keys()].sort(), ["si_alice_bob", "si_alice_carol"]);
  });

  it("never undoes an event that came after the question", () => {
    const { model } = loggedIn();
    const old = conversation("si_alice_bob", { unreadCount: 1, version: 2 });
    model.conversationsChanged([old]);
    const asked = model.ask();
    const read = { ...old, unreadCount: 0, hasReadSeq: 1, version: 3 };
    const created = conversation("sg_g1", { conversationType: SessionType.GROUP, groupID: "g1", version: 4 });
    model.conversationsChanged([read, created]);
    model.conversationsListed([old], 1, asked); // answered before the event, delivered after
    assert.equal(model.conversations.get("si_alice_bob"), read);
    assert.ok(model.conversations.has("sg_g1"), "a conversation reported since stays");
  });

  it("drops answers to an earlier session's questions", () => {
    const { model } = loggedIn();
    const asked = model.ask();
    model.signedOut();
    model.loggedIn(ME);
    model.conversationsListed([conversation("si_alice_bob")], 7, asked);
    assert.equal(model.conversations.size, 0);
    assert.equal(model.total, 0);
  });
});

describe("boot and the cached list", () => {
  it("paints the cache marked as syncing until the first sync has finished", () => {
    const model = new Model();
    const changes = [];
    model.subscribe((change) => changes.push(change));
    const cached = {
      userID: "alice",
      syncing: true,
      totalUnreadCount: 2,
      conversationList: [conversation("si_alice_bob", { unreadCount: 2 })],
    };
    model.cachedListRead(cached, ME, model.ask());
    assert.equal(changes.length, 1);
    assert.equal(model.screen, "main");
    assert.equal(model.total, 2);
    assert.equal(model.status, Status.SYNCING);
    assert.ok(model.fromCache);

    model.connected();
    assert.equal(model.status, Status.SYNCING, "connected, but still the cache's counts");
    model.syncFinished();
    assert.equal(model.status, Status.UP_TO_DATE);
  });

  it("does not paint the cache once the boot has decided (the login screen, or logged in)", () => {
    const model = new Model();
    const cached = { userID: "alice", syncing: true, totalUnreadCount: 1, conversationList: [conversation("si_alice_bob")] };
    model.showLogin("");
    model.cachedListRead(cached, ME, model.ask());
    assert.equal(model.conversations.size, 0);
    assert.equal(model.screen, "login");

    const other = new Model();
    other.loggedIn(ME);
    other.cachedListRead(cached, ME, other.ask());
    assert.equal(other.conversations.size, 0);
    assert.equal(other.fromCache, false);
  });

  it("a failed boot shows the failure screen and the error", () => {
    const model = new Model();
    model.bootFailed("Could not start: no worker");
    assert.equal(model.screen, "failed");
    assert.equal(model.bootText, "Tidemark could not start.");
    assert.equal(model.error.message, "Could not start: no worker");
  });
});

describe("the sync status", () => {
  it("follows the connection and sync events", () => {
    const { model, changes } = loggedIn();
    assert.equal(model.status, Status.CONNECTING);
    model.connected();
    assert.equal(model.status, Status.UP_TO_DATE);
    model.connectFailed();
    assert.equal(model.status, Status.OFFLINE);
    model.connecting();
    assert.equal(model.status, Status.OFFLINE, "offline until a connection succeeds again");
    model.connected();
    model.syncStarted();
    assert.equal(model.status, Status.SYNCING);
    model.syncFailed();
    assert.equal(model.status, Status.OFFLINE);
    model.syncStarted();
    model.syncFinished();
    assert.equal(model.status, Status.UP_TO_DATE);
    const count = changes.length;
    model.connected(); // nothing new
    assert.equal(changes.length, count);
  });

  it("starts over at sign-out", () => {
    const { model, changes } = loggedIn();
    model.conversationsChanged([conversation("si_alice_bob", { unreadCount: 1 })]);
    model.totalChanged(1);
    model.connected();
    model.openChat("si_alice_bob");
    changes.length = 0;
    model.signedOut("Your session has expired.");
    assert.equal(changes.length, 1);
    assert.equal(changes[0].conversations.reset, true);
    assert.equal(model.me, null);
    assert.equal(model.conversations.size, 0);
    assert.equal(model.total, 0);
    assert.equal(model.chat, null);
    assert.equal(model.status, Status.CONNECTING);
    assert.equal(model.screen, "login");
    assert.equal(model.loginMessage, "Your session has expired.");
  });
});

describe("the open chat", () => {
  function opened() {
    const { model, changes } = loggedIn();
    model.conversationsChanged([conversation("si_alice_bob", { maxSeq: 40, version: 2 })]);
    model.openChat("si_alice_bob");
    changes.length = 0;
    return { model, changes, key: model.chat.key };
  }

  it("opens with the record's fields; opening it again changes nothing", () => {
    const { model, changes } = opened();
    assert.equal(model.chat.peer, "bob");
    assert.equal(model.chat.type, SessionType.SINGLE);
    model.openChat("si_alice_bob");
    assert.equal(changes.length, 0);
  });

  it("a new chat without a record knows its peer until the record comes", () => {
    const { model } = loggedIn();
    model.openChat("si_alice_zoe", { peer: "zoe" });
    assert.equal(model.chat.peer, "zoe");
    assert.equal(model.openRecord, null);
    const record = conversation("si_alice_zoe", { userID: "zoe", showName: "Zoe", version: 3 });
    model.conversationsChanged([record]);
    assert.equal(model.openRecord, record);
  });

  it("the newest page, then older pages before it", () => {
    const { model, changes, key } = opened();
    model.historyAnswered(key, { messageList: [message(39), message(40)], isEnd: false });
    assert.equal(changes.length, 1);
    assert.ok(model.chat.loaded);
    assert.equal(model.chat.minSeq, 39);
    model.olderLoading(key);
    assert.ok(model.chat.loadingOlder);
    model.historyAnswered(key, { messageList: [message(37), message(38)], isEnd: true }, { older: true });
    assert.equal(model.chat.minSeq, 37);
    assert.ok(model.chat.isEnd);
    assert.ok(!model.chat.loadingOlder);
    assert.deepEqual([...model.chat.messages.values()].map((m) => m.seq).sort((a, b) => a - b), [37, 38, 39, 40]);
    assert.equal(highestSeq(model.chat), 40);
  });

  it("a newest page that does not join what is shown starts the history over (no hole)", () => {
    const { model, key } = opened();
    model.historyAnswered(key, { messageList: [message(9), message(10)], isEnd: false });
    model.messageCreated(key, { clientMsgID: "mine", conversationID: "si_alice_bob", sendID: "alice", textElem: { content: "hi" } });
    model.historyAnswered(key, { messageList: [message(39), message(40)], isEnd: false });
    assert.deepEqual([...model.chat.messages.keys()].sort(), ["c39", "c40", "mine"]);
    assert.equal(model.chat.minSeq, 39);
  });

  it("drops an answer for a chat no longer open (even the same conversation opened again)", () => {
    const { model, key } = opened();
    model.closeChat();
    model.openChat("si_alice_bob");
    model.historyAnswered(key, { messageList: [message(40)], isEnd: true });
    assert.equal(model.chat.messages.size, 0);
    assert.ok(!model.chat.loaded);
  });

  it("a new chat with nothing to load is loaded and at its end", () => {
    const { model } = loggedIn();
    model.openChat("si_alice_zoe", { peer: "zoe" });
    model.historyFailed(model.chat.key, { nothingYet: true });
    assert.ok(model.chat.loaded);
    assert.ok(model.chat.isEnd);
  });

  it("sending, sent, failed and retried", () => {
    const { model, changes, key } = opened();
    const draft = { clientMsgID: "x1", conversationID: "si_alice_bob", sendID: "alice", textElem: { content: "hi" } };
    model.messageCreated(key, draft);
    assert.equal(model.chat.messages.get("x1").state, "sending");
    model.messageFailed(key, "x1");
    assert.equal(model.chat.messages.get("x1").state, "failed");
    const again = model.messageRetried(key, "x1");
    assert.deepEqual(again, draft, "the message as created, to send again");
    assert.equal(model.chat.messages.get("x1").state, "sending");
    assert.equal(model.messageRetried(key, "x1"), null, "only a failed message is retried");
    model.messageSent(key, { ...draft, seq: 41, serverMsgID: "s41" });
    assert.equal(model.chat.messages.get("x1").state, "sent");
    model.messageFailed(key, "x1");
    assert.equal(model.chat.messages.get("x1").state, "sent", "a sent message never turns failed");
    assert.equal(changes.length, 4);
  });

  it("new messages join the open chat only if they are its own, and a sent copy is not replaced by an unsent one", () => {
    const { model, changes } = opened();
    model.messagesReceived([message(41), message(1, { conversationID: "si_alice_carol" })]);
    assert.deepEqual([...model.chat.messages.keys()], ["c41"]);
    model.messagesReceived([message(1, { conversationID: "si_alice_carol" })]);
    assert.equal(changes.length, 1);
    model.messagesReceived([{ ...message(41), seq: 0 }]);
    assert.equal(model.chat.messages.get("c41").seq, 41);
  });

  it("the header follows the open conversation's record", () => {
    const { model, changes } = opened();
    model.conversationsChanged([conversation("si_alice_bob", { showName: "Bob", unreadCount: 1, maxSeq: 41, version: 3 })]);
    assert.equal(changes.length, 1);
    assert.ok(changes[0].chat, "the open chat is said to change with its record");
    model.conversationsChanged([conversation("si_alice_carol", { version: 4 })]);
    assert.ok(!changes[1].chat);
    model.conversationsListed([conversation("si_alice_carol", { version: 4 })], 0, model.ask());
    assert.ok(changes[2].chat, "the open conversation went from the SDK's list");
    assert.equal(model.openRecord, null);
  });
});

describe("subscribers and the error banner", () => {
  it("every subscriber hears each change once, in order, even when one changes the model", () => {
    const { model } = loggedIn();
    const heard = [];
    model.subscribe((change) => {
      heard.push(["first", Object.keys(change).join()]);
      if (change.total) model.showError("total changed");
    });
    model.subscribe((change) => heard.push(["second", Object.keys(change).join()]));
    model.totalChanged(1);
    assert.deepEqual(heard, [
      ["first", "total"],
      ["second", "total"],
      ["first", "error"],
      ["second", "error"],
    ]);
  });

  it("an unsubscribed subscriber hears nothing more", () => {
    const model = new Model();
    let heard = 0;
    const stop = model.subscribe(() => heard++);
    model.showError("one");
    stop();
    model.showError("two");
    assert.equal(heard, 1);
  });

  it("an error is cleared by its own source's success only", () => {
    const model = new Model();
    model.showError("Could not mark as read: offline", "mark-read");
    model.clearError("something else");
    assert.ok(model.error);
    model.clearError("mark-read");
    assert.equal(model.error, null);
    model.showError("Message not sent");
    model.clearError("mark-read");
    assert.ok(model.error);
    model.dismissError();
    assert.equal(model.error, null);
  });
});
