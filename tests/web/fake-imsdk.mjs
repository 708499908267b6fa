// A stand-in for window.IMSDK with issue 11's methods, following /work/spec11.md: it keeps
// records and messages in memory, answers OpenIM's shape ({errCode, errMsg, data}), and,
// like the SDK, reports each change (OnConversationChanged, OnTotalUnreadMessageCountChanged
// when the number changed, OnNewRecvMessageRevoked) BEFORE the call resolves. The total
// uses the spec's contribution rule (muted 0, else unread, else 1 if marked unread).
//
// No Node imports: the page tests (tests/web/*.test.mjs) use it, and the screenshot script
// (tests/web/look.py) serves it to the real page in place of web/imsdk.js.

const AT_ALL = "AtAllTag";

/** The spec's contribution of one record to the total. */
export function contribution(record) {
  if (Number(record.recvMsgOpt) !== 0) return 0;
  if (record.unreadCount > 0) return record.unreadCount;
  return record.isMarkedUnread ? 1 : 0;
}

/** The SDK's list order: pinned first, then max(latestMsgSendTime, draftTextTime) desc. */
function order(a, b) {
  const pinned = Number(Boolean(b.isPinned)) - Number(Boolean(a.isPinned));
  if (pinned) return pinned;
  const at = (r) => Math.max(r.latestMsgSendTime || 0, r.draftTextTime || 0);
  return at(b) - at(a) || (a.conversationID < b.conversationID ? -1 : 1);
}

export function conversation(fields) {
  return {
    conversationID: "si_alice_bob", conversationType: 1, userID: "bob", groupID: "", showName: "bob",
    unreadCount: 0, hasReadSeq: 0, maxSeq: 0, peerHasReadSeq: 0, latestMsg: null, latestMsgSendTime: 0,
    version: 1, isNotInGroup: false, recvMsgOpt: 0, isPinned: false, groupAtType: 0, mentionCount: 0,
    isMarkedUnread: false, isHidden: false, draftText: "", draftTextTime: 0,
    ...fields,
  };
}

/**
 * @param {{me?: {userID: string, nickname: string}, conversations?: object[],
 *          messages?: Record<string, object[]>, members?: Record<string, object[]>,
 *          now?: () => number}} seed
 */
export function createFakeIMSDK(seed = {}) {
  const me = seed.me ?? { userID: "alice", nickname: "Alice" };
  const now = seed.now ?? (() => Date.now());
  const records = new Map((seed.conversations ?? []).map((r) => [r.conversationID, conversation(r)]));
  const messages = new Map(Object.entries(seed.messages ?? {}).map(([id, list]) => [id, [...list]]));
  const members = seed.members ?? {};
  const handlers = new Map();
  const calls = [];
  /** method -> {errCode, errMsg}: the next calls of it are refused */
  const failing = new Map();
  let version = Math.max(1, ...[...records.values()].map((r) => r.version));
  let clientIDs = 0;

  const total = () => [...records.values()].reduce((sum, r) => sum + contribution(r), 0);
  const emit = (event, data) => {
    for (const handler of handlers.get(event) ?? []) handler({ event, errCode: 0, errMsg: "", data });
  };
  /** Replace records (the SDK's commit), then say so: the records, then the total if it moved. */
  const commit = (changes) => {
    const before = total();
    const changed = [];
    for (const [id, fields] of changes) {
      const held = records.get(id);
      const next = { ...held, ...fields, version: ++version };
      next.unreadCount = Math.max(0, next.maxSeq - next.hasReadSeq);
      records.set(id, next);
      changed.push(next);
    }
    if (changed.length) emit("OnConversationChanged", changed);
    if (total() !== before) emit("OnTotalUnreadMessageCountChanged", total());
  };
  const need = (id) => {
    const record = records.get(id);
    if (!record) throw { errCode: 1301, errMsg: "conversation not found" };
    return record;
  };
  const read = (record) => ({ hasReadSeq: record.maxSeq, groupAtType: 0, mentionCount: 0, isMarkedUnread: false });

  const methods = {
    getLoginStatus: () => 3,
    getSelfUserInfo: () => me,
    getAllConversationList: () => [...records.values()].filter((r) => !r.isHidden).sort(order),
    getTotalUnreadMsgCount: () => total(),
    getOneConversation: ({ sourceID, sessionType }) => [...records.values()]
      .find((r) => (sessionType === 3 ? r.groupID : r.userID) === sourceID) ?? null,
    getAtAllTag: () => AT_ALL,
    markConversationMessageAsRead: (id) => {
      const record = need(id);
      const moves = record.hasReadSeq < record.maxSeq || record.isMarkedUnread || record.groupAtType;
      if (moves) commit([[id, read(record)]]);
      return null;
    },
    markAllConversationMessageAsRead: () => {
      commit([...records.values()]
        .filter((r) => r.hasReadSeq < r.maxSeq || r.isMarkedUnread || r.groupAtType)
        .map((r) => [r.conversationID, read(r)]));
      return null;
    },
    setConversationRecvMessageOpt: ({ conversationID, opt }) => {
      if (opt !== 0 && opt !== 2) throw { errCode: 1002, errMsg: `recvMsgOpt ${opt} is not supported` };
      if (need(conversationID).recvMsgOpt !== opt) commit([[conversationID, { recvMsgOpt: opt }]]);
      return null;
    },
    pinConversation: ({ conversationID, isPinned }) => {
      if (need(conversationID).isPinned !== isPinned) commit([[conversationID, { isPinned }]]);
      return null;
    },
    resetConversationGroupAtType: (id) => {
      if (need(id).groupAtType) commit([[id, { groupAtType: 0, mentionCount: 0 }]]);
      return null;
    },
    markConversationAsUnread: (id) => {
      const record = need(id);
      if (record.isNotInGroup) throw { errCode: 1302, errMsg: "not a group member" };
      if (!record.isMarkedUnread || record.isHidden) commit([[id, { isMarkedUnread: true, isHidden: false }]]);
      return null;
    },
    hideConversation: (id) => {
      commit([[id, { ...read(need(id)), isHidden: true }]]);
      return null;
    },
    setConversationDraft: ({ conversationID, draftText }) => {
      need(conversationID);
      commit([[conversationID, { draftText, draftTextTime: draftText ? now() : 0 }]]);
      return null;
    },
    getAdvancedHistoryMessageList: ({ conversationID }) => {
      const list = messages.get(conversationID) ?? [];
      return { messageList: [...list].sort((a, b) => a.seq - b.seq), isEnd: true, lastMinSeq: 0 };
    },
    getGroupMemberList: ({ groupID }) => members[groupID] ?? [],
    getGroupMessageReceiptCounts: () => [],
    changeInputStates: () => null,
    createTextMessage: (text) => ({
      clientMsgID: `local-${++clientIDs}`, sendID: me.userID, contentType: 101,
      textElem: { content: text }, atTextElem: null, notificationElem: null, createTime: now(),
    }),
    createTextAtMessage: ({ text, atUserIDList, atUsersInfo = [], message }) => {
      if (message) throw { errCode: 1002, errMsg: "quoting is not supported" };
      if (!Array.isArray(atUserIDList) || atUserIDList.length === 0) throw { errCode: 1002, errMsg: "atUserIDList is empty" };
      return {
        clientMsgID: `local-${++clientIDs}`, sendID: me.userID, contentType: 106, textElem: null,
        atTextElem: { text, atUserList: atUserIDList, atUsersInfo }, notificationElem: null, createTime: now(),
      };
    },
    sendMessage: ({ recvID, groupID, message }) => {
      const id = groupID ? `sg_${groupID}` : `si_${[me.userID, recvID].sort().join("_")}`;
      const record = records.get(id) ?? conversation({
        conversationID: id, conversationType: groupID ? 3 : 1, userID: recvID || "", groupID: groupID || "",
        showName: recvID || groupID, version: 0,
      });
      records.set(id, record);
      const seq = record.maxSeq + 1;
      const sent = { ...message, conversationID: id, seq, serverMsgID: `s${seq}`, recvID: recvID || "", groupID: groupID || "",
        sessionType: groupID ? 3 : 1, sendTime: now() };
      messages.set(id, [...(messages.get(id) ?? []), sent]);
      commit([[id, { maxSeq: seq, hasReadSeq: seq, latestMsg: sent, latestMsgSendTime: sent.sendTime, isHidden: false }]]);
      return sent;
    },
    revokeMessage: ({ conversationID, clientMsgID }) => {
      const record = need(conversationID);
      const list = messages.get(conversationID) ?? [];
      const at = list.findIndex((m) => m.clientMsgID === clientMsgID);
      if (at < 0) throw { errCode: 1401, errMsg: "message not found" };
      const original = list[at];
      if (original.contentType === 2101) return null;
      const info = {
        revokerID: me.userID, revokerRole: record.conversationType === 3 ? 20 : 0, revokerNickname: me.nickname,
        clientMsgID, revokeTime: now(), sourceMessageSendTime: original.sendTime, sourceMessageSendID: original.sendID,
        sourceMessageSenderNickname: original.sendID, sessionType: original.sessionType, seq: original.seq, ex: "",
      };
      const tombstone = { ...original, contentType: 2101, textElem: null, atTextElem: null,
        notificationElem: { detail: JSON.stringify(info) } };
      list[at] = tombstone;
      if (record.latestMsg?.clientMsgID === clientMsgID) commit([[conversationID, { latestMsg: tombstone }]]);
      emit("OnNewRecvMessageRevoked", { ...info, conversationID });
      return null;
    },
  };

  const sdk = {
    ready: Promise.resolve({ errCode: 0, errMsg: "", data: { loginStatus: 3, userID: me.userID, restoreError: null } }),
    calls,
    records,
    messages,
    total,
    emit,
    /** Refuse the next calls of `method` with {errCode, errMsg} (until succeed(method)). */
    fail(method, error = { errCode: 1500, errMsg: "internal error" }) { failing.set(method, error); },
    succeed(method) { failing.delete(method); },
    /** Another device or the server changed a record: report it as the SDK would. */
    push(id, fields) { commit([[id, fields]]); },
    on(event, handler) {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(handler);
      return Promise.resolve({ errCode: 0, errMsg: "", data: null });
    },
    off(event, handler) {
      handlers.set(event, (handlers.get(event) ?? []).filter((h) => h !== handler));
      return Promise.resolve({ errCode: 0, errMsg: "", data: null });
    },
  };
  for (const [name, run] of Object.entries(methods)) {
    sdk[name] = async (...args) => {
      calls.push([name, ...args]);
      await null; // an answer is never synchronous
      if (failing.has(name)) throw failing.get(name);
      return { errCode: 0, errMsg: "", data: run(...args) };
    };
  }
  return sdk;
}
