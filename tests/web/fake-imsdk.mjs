// A stand-in for window.IMSDK with issue 11's and issue 12's methods (/work/spec11.md,
// /work/spec12.md: images and files with OnProgress, getFileURL, searchLocalMessages,
// users and profiles with OnSelfInfoUpdated, push subscriptions), following them: it keeps
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

/** The words of a message the server searches: text, @ text, a file's name (spec 12). */
function searchable(message) {
  if (message.contentType === 101) return message.textElem?.content ?? "";
  if (message.contentType === 106) return message.atTextElem?.text ?? "";
  if (message.contentType === 105) return message.fileElem?.fileName ?? "";
  return null;
}

/**
 * @param {{me?: {userID: string, nickname: string, faceURL?: string}, conversations?: object[],
 *          messages?: Record<string, object[]>, members?: Record<string, object[]>,
 *          users?: object[], now?: () => number, uploadLimit?: number}} seed
 */
export function createFakeIMSDK(seed = {}) {
  const me = { faceURL: "", ...(seed.me ?? { userID: "alice", nickname: "Alice" }) };
  /** userID -> PublicUser (the server's users, me among them) */
  const users = new Map([me, ...(seed.users ?? [])].map((u) => [u.userID, { faceURL: "", ex: "", ...u }]));
  const uploadLimit = seed.uploadLimit ?? 26214400;
  /** url -> the blob: URLs getFileURL gave for it, in order */
  const objectURLs = [];
  /** endpoint -> {endpoint, keys, previews} */
  const pushSubscriptions = new Map();
  let files = 0;
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
    // Pages by lastMinSeq as the SDK does: the `count` messages before it (0: the newest).
    getAdvancedHistoryMessageList: ({ conversationID, count = 30, lastMinSeq = 0 }) => {
      const all = [...(messages.get(conversationID) ?? [])].sort((a, b) => a.seq - b.seq);
      const before = lastMinSeq ? all.filter((m) => m.seq < lastMinSeq) : all;
      const page = before.slice(-count);
      return { messageList: page, isEnd: page.length === before.length, lastMinSeq: page[0]?.seq ?? 0 };
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
    sendMessage: async ({ recvID, groupID, message: draft }) => {
      const message = await uploaded(draft);
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
    // -- issue 12: images and files --------------------------------------------------
    createImageMessageByFile: ({ file, sourcePicture }) => ({
      clientMsgID: `local-${++clientIDs}`, sendID: me.userID, contentType: 102, textElem: null, atTextElem: null,
      notificationElem: null, fileElem: null, createTime: now(), file,
      pictureElem: {
        sourcePath: "",
        sourcePicture: { uuid: "", url: "", type: file?.type ?? "", size: file?.size ?? 0, width: 0, height: 0, ...sourcePicture },
        bigPicture: { uuid: "", url: "", type: "", size: 0, width: 0, height: 0 },
        snapshotPicture: { uuid: "", url: "", type: "", size: 0, width: 0, height: 0 },
      },
    }),
    createFileMessageByFile: ({ file, fileName }) => ({
      clientMsgID: `local-${++clientIDs}`, sendID: me.userID, contentType: 105, textElem: null, atTextElem: null,
      notificationElem: null, pictureElem: null, createTime: now(), file,
      fileElem: { filePath: "", uuid: "", sourceUrl: "", fileName: fileName ?? file?.name ?? "", fileSize: file?.size ?? 0, fileType: file?.type ?? "" },
    }),
    getFileURL: ({ url }) => {
      if (!url) throw { errCode: 1002, errMsg: "url is required" };
      const blob = `blob:fake/${objectURLs.length + 1}`;
      objectURLs.push({ url, blob });
      return blob;
    },
    uploadFile: ({ file, name }) => upload(file, name ?? file?.name, "image"),
    // -- issue 12: search ------------------------------------------------------------
    searchLocalMessages: ({ keywordList, conversationID, keywordListMatchType = 0, pageIndex = 1, count = 20 }) => {
      if (!Array.isArray(keywordList) || keywordList.length < 1 || keywordList.length > 5) {
        throw { errCode: 1002, errMsg: "keywordList: 1-5 keywords" };
      }
      const words = keywordList.map((w) => String(w).toLowerCase());
      const items = [];
      for (const [id, list] of messages) {
        if (conversationID && id !== conversationID) continue;
        const hits = list.filter((m) => {
          const text = searchable(m);
          if (text === null) return false;
          const low = text.toLowerCase();
          return keywordListMatchType === 1 ? words.every((w) => low.includes(w)) : words.some((w) => low.includes(w));
        }).sort((a, b) => b.seq - a.seq);
        if (!hits.length) continue;
        const record = records.get(id);
        items.push({
          conversationID: id, messageCount: hits.length, conversationType: record?.conversationType ?? 1,
          showName: record?.showName ?? id, faceURL: record?.faceURL ?? "",
          messageList: hits.slice((pageIndex - 1) * count, pageIndex * count),
        });
      }
      items.sort((a, b) => b.messageList[0].sendTime - a.messageList[0].sendTime);
      return { totalCount: items.reduce((n, item) => n + item.messageCount, 0), searchResultItems: items };
    },
    // -- issue 12: people ------------------------------------------------------------
    getSelfUserInfo: () => ({ ...users.get(me.userID), createTime: 1 }),
    setSelfInfo: ({ nickname, faceURL }) => {
      if (nickname !== undefined && (String(nickname).length < 1 || String(nickname).length > 64)) {
        throw { errCode: 1002, errMsg: "nickname: 1-64 characters" };
      }
      const next = { ...users.get(me.userID), ...(nickname !== undefined ? { nickname } : {}), ...(faceURL !== undefined ? { faceURL } : {}) };
      users.set(me.userID, next);
      Object.assign(me, next);
      emit("OnSelfInfoUpdated", { ...next });
      return null;
    },
    getUsersInfo: (userIDList) => userIDList.map((id) => users.get(id)).filter(Boolean),
    searchUsers: ({ keyword, count = 20 }) => {
      const key = String(keyword ?? "").toLowerCase();
      if (!key || key.length > 64) throw { errCode: 1002, errMsg: "keyword: 1-64 characters" };
      const found = [...users.values()].filter((u) => u.userID.startsWith(key) || u.nickname.toLowerCase().startsWith(key));
      found.sort((a, b) => Number(b.userID === key) - Number(a.userID === key) || a.userID.localeCompare(b.userID));
      return found.slice(0, count);
    },
    // -- issue 12: push --------------------------------------------------------------
    getPushPublicKey: () => "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    subscribePush: ({ endpoint, keys, previews }) => {
      if (!endpoint || !keys?.p256dh || !keys?.auth) throw { errCode: 1002, errMsg: "endpoint and keys are required" };
      pushSubscriptions.set(endpoint, { endpoint, keys, previews: Boolean(previews) });
      return { endpoint, previews: Boolean(previews) };
    },
    unsubscribePush: ({ endpoint }) => {
      pushSubscriptions.delete(endpoint);
      return {};
    },
    logout: () => {
      pushSubscriptions.clear(); // the server removes the token's subscriptions
      return null;
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

  /** PUT /api/files as the spec says: 1601 over the limit, 1602 empty, 1603 not an image. */
  function upload(file, fileName, kind) {
    const size = Number(file?.size) || 0;
    if (size > uploadLimit) throw { errCode: 1601, errMsg: `file too large: at most ${uploadLimit} bytes` };
    if (size === 0) throw { errCode: 1602, errMsg: "file is empty" };
    const type = String(file?.type ?? "");
    const image = ["image/png", "image/jpeg", "image/gif", "image/webp"].includes(type);
    if (kind === "image" && !image) throw { errCode: 1603, errMsg: "not an image" };
    const uuid = `${String(++files).padStart(4, "0")}${"0".repeat(60)}`;
    const width = Number(file?.width) || (image ? 640 : 0);
    const height = Number(file?.height) || (image ? 480 : 0);
    const scale = image ? Math.min(1, 320 / Math.max(width, height)) : 0;
    const thumbnail = image ? {
      uuid: `t${uuid.slice(1)}`, url: `/api/files/t${uuid.slice(1)}`, type: "image/jpeg", size: 1000,
      width: Math.round(width * scale), height: Math.round(height * scale),
    } : null;
    return { uuid, url: `/api/files/${uuid}`, fileName, type: image ? type : "application/octet-stream", size, width, height, thumbnail };
  }

  /** sendMessage's upload step for images and files, with OnProgress 0..100. */
  async function uploaded(message) {
    const type = message.contentType;
    if (type !== 102 && type !== 105) return message;
    const { file, ...rest } = message;
    for (const progress of [0, 50, 100]) {
      emit("OnProgress", { clientMsgID: message.clientMsgID, progress });
      await null;
    }
    const stored = upload(file, file?.name ?? message.fileElem?.fileName, type === 102 ? "image" : "file");
    if (type === 102) {
      const source = { uuid: stored.uuid, url: stored.url, type: stored.type, size: stored.size, width: stored.width, height: stored.height };
      return { ...rest, pictureElem: { sourcePath: "", sourcePicture: source, bigPicture: source, snapshotPicture: stored.thumbnail } };
    }
    return {
      ...rest,
      fileElem: { filePath: "", uuid: stored.uuid, sourceUrl: stored.url, fileName: message.fileElem?.fileName || stored.fileName, fileSize: stored.size, fileType: stored.type },
    };
  }

  const sdk = {
    ready: Promise.resolve({ errCode: 0, errMsg: "", data: { loginStatus: 3, userID: me.userID, restoreError: null } }),
    calls,
    records,
    messages,
    users,
    objectURLs,
    pushSubscriptions,
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
      return { errCode: 0, errMsg: "", data: await run(...args) };
    };
  }
  return sdk;
}
