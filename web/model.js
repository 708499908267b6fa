// The page's one model: what the views show, fed only by the SDK's events and answers.
//
// The SDK (window.IMSDK) keeps the versioned copy of the user's state and applies the
// version checks before it reports anything (DESIGN.md rules 4, 6, 10); this model holds
// the page's view of that copy and tells its subscribers when it changed. It keeps no
// versions of its own; two rules, both so that it never shows older state than the SDK
// has reported:
//
// - A conversation record replaces the one held only if its `version` (the SDK's stamp)
//   is not older, so a late or repeated report never shows older state. Versions compare
//   within one login: a new database (another epoch) refuses the session's token, and
//   signedOut() clears the model.
// - An answer (a list read, a total) never undoes what an event reported after the
//   question was asked. Events and answers reach the page over different message ports
//   (a Comlink callback, the worker's own port), whose relative order the browser does
//   not promise. So a question is stamped with ask() and its answer handed in with that
//   stamp: a conversation absent from the answer, or the total, that an event set since
//   then stays as the event left it.
//
// Nothing here touches the DOM or the SDK: web/controller.js asks the SDK and feeds the
// answers and events in; the views (web/ui/*.js) subscribe and render. Every method that
// changes something notifies each subscriber once, with a Change saying what changed;
// a report that changes nothing notifies no one.

import { ContentType, SessionType } from "./protocol.js";

/**
 * @typedef {object} Change what one update changed (absent keys: unchanged)
 * @property {{changed: object[], removed: string[], reset: boolean}} [conversations]
 *   records that were replaced or added, IDs that went; `reset`: the whole set was
 *   replaced (a sign-out): rebuild from `conversations` rather than patch
 * @property {true} [total]
 * @property {true} [status] connection or sync state
 * @property {true} [me]
 * @property {true} [screen] which screen shows, or the boot screen's text
 * @property {true} [login] the login form's message
 * @property {true} [chat] the open chat: which one, or its header fields, or its history state
 * @property {true} [messages] the open chat's messages
 * @property {true} [error] the error banner
 * @property {true} [members] the open group's member panel: shown or not, its members
 * @property {true} [receipts] the open group's "read by N of M" counts
 * @property {true} [readers] the open group's reader list
 * @property {true} [typing] who is typing, in any conversation
 * @property {true} [people] public profiles (avatars, names) known to the page
 * @property {true} [search] the message search: its query or its results
 * @property {true} [picker] the "New chat" picker's people search
 */

/**
 * @typedef {object} Chat the open conversation (read only outside this module)
 * @property {number} key this opening of it: answers for an earlier opening are dropped
 * @property {string} id conversationID
 * @property {number} type SessionType.SINGLE or SessionType.GROUP
 * @property {string} peer the other user's ID (single chats)
 * @property {string} groupID
 * @property {Map<string, object>} messages clientMsgID -> message, with `state`:
 *   "sending", "sent" or "failed"
 * @property {number} minSeq smallest seq loaded (0: none yet)
 * @property {boolean} isEnd no older messages
 * @property {boolean} loaded the newest page has been answered (or failed)
 * @property {boolean} loadingOlder an older page is on its way
 * @property {boolean} olderFailed the last older page failed (no automatic retry)
 * @property {boolean} panelOpen the member panel shows (groups)
 * @property {{list: object[], loaded: boolean, failed: boolean}} members the group's current
 *   members as getGroupMemberList answered (owner first), each {userID, nickname, roleLevel}
 * @property {Map<number, {hasReadCount: number, groupMemberCount: number}>} receipts seq ->
 *   "read by N of M" of my messages (groups), as getGroupMessageReceiptCounts answered
 * @property {{seq: number, loaded: boolean, failed: boolean, read: object[], unread: object[]} | null} readers
 *   the reader list shown for the message at `seq`, or none
 * @property {boolean} hasNewer the history shown stops before the newest message (opened
 *   at a search hit): newer pages load on scrolling down, new messages wait for them
 * @property {boolean} loadingNewer a newer page is on its way
 * @property {number} focusSeq the message to bring into view and highlight (0: none)
 */

/**
 * @typedef {object} Search the message search (searchLocalMessages)
 * @property {string} query what the box holds, trimmed ("" : no search)
 * @property {string[]} keywords the words searched for
 * @property {boolean} loading
 * @property {boolean} failed
 * @property {number} totalCount
 * @property {object[]} items SearchResultItem[]: conversations, each with its messageList
 */

/** OpenIM's roleLevel of a group member. */
export const Role = Object.freeze({ OWNER: 100, ADMIN: 60, MEMBER: 20 });

/** Content types that are chat messages (drawn as bubbles), not group notifications. */
const CHAT_TYPES = new Set([
  ContentType.TEXT, ContentType.AT_TEXT, ContentType.REVOKED, ContentType.PICTURE, ContentType.FILE,
]);
/** The content types of group notifications (membership changes are messages, rule 12). */
const NOTIFICATIONS = new Set(Object.values(ContentType).filter((code) => !CHAT_TYPES.has(code)));

/** Whether `message` is a revoked message's tombstone (contentType 2101). */
export function isRevoked(message) {
  return Number(message?.contentType) === ContentType.REVOKED;
}

/** Whether `message` is a group notification (a system line) rather than a chat message. */
export function isNotification(message) {
  if (CHAT_TYPES.has(Number(message?.contentType))) return false;
  return NOTIFICATIONS.has(Number(message?.contentType))
    || Boolean(message?.notificationElem && !message?.textElem && !message?.atTextElem);
}

/** Whether `message` is an image (contentType 102) / a file (105). */
export function isPicture(message) {
  return Number(message?.contentType) === ContentType.PICTURE;
}

export function isFile(message) {
  return Number(message?.contentType) === ContentType.FILE;
}

/** The text of a chat message: a text message's content, an @ message's text ("" else). */
export function messageText(message) {
  if (Number(message?.contentType) === ContentType.AT_TEXT || message?.atTextElem) {
    return String(message?.atTextElem?.text ?? "");
  }
  return String(message?.textElem?.content ?? "");
}

/**
 * Whether the message menu offers "Revoke" on `message` (the server decides in the end):
 * my own sent messages; in a group, any chat message for the owner, and any but the
 * owner's for an admin. Never a notification, a tombstone, or a message not sent yet.
 * @param {{myUserID: string, myRole?: number, senderRole?: number, group?: boolean}} who
 *   myRole / senderRole: roleLevel in the group (0: not known)
 */
export function canRevoke(message, { myUserID, myRole = 0, senderRole = 0, group = false }) {
  if (!message?.seq || isNotification(message) || isRevoked(message)) return false;
  if (message.sendID === myUserID) return true;
  if (!group) return false;
  if (myRole === Role.OWNER) return true;
  return myRole === Role.ADMIN && senderRole !== Role.OWNER;
}

/**
 * The tombstone that replaces `message` after OnNewRecvMessageRevoked (`info`: OpenIM's
 * RevokedInfo): the same identity and seq, no text, the RevokedInfo as its detail.
 */
export function tombstoneOf(message, info) {
  const { conversationID: _c, ...detail } = info ?? {};
  return {
    ...message,
    contentType: ContentType.REVOKED,
    textElem: null,
    atTextElem: null,
    notificationElem: { detail: JSON.stringify(detail) },
  };
}

/**
 * Why the conversation of `record` is read-only, or "" if it is not: the user left or was
 * removed, or the group was dismissed (rule 11). The reason is the last notification the
 * user saw, which is the conversation's latest message: nothing after it reaches them.
 */
export function readOnlyReason(record) {
  if (!record?.isNotInGroup) return "";
  switch (Number(record.latestMsg?.contentType)) {
    case ContentType.GROUP_DISMISSED: return "This group was dismissed. Its history stays, read-only.";
    case ContentType.MEMBER_KICKED: return "You were removed from this group. Its history stays, read-only.";
    case ContentType.MEMBER_QUIT: return "You left this group. Its history stays, read-only.";
    default: return "You are no longer in this group. Its history stays, read-only.";
  }
}

/** The connection and sync state as one of the sync-status test id's states. */
export const Status = Object.freeze({
  SYNCING: "syncing",
  OFFLINE: "offline",
  CONNECTING: "connecting",
  UP_TO_DATE: "up-to-date",
});

/** The highest seq among `chat`'s messages (0: none sent yet). */
export function highestSeq(chat) {
  let highest = 0;
  for (const message of chat.messages.values()) highest = Math.max(highest, message.seq || 0);
  return highest;
}

/** Deep equality of JSON-like values: an equal record keeps the held object (rows untouched). */
function equal(x, y) {
  if (x === y) return true;
  if (!x || !y || typeof x !== "object" || typeof y !== "object") return false;
  const keys = Object.keys(y);
  if (keys.length !== Object.keys(x).length) return false;
  for (const key of keys) if (!equal(x[key], y[key])) return false;
  return true;
}

/** Whether `incoming` should replace `held`: not older by the SDK's version, and different. */
function replaces(held, incoming) {
  if (!held) return true;
  if ((Number(incoming.version) || 0) < (Number(held.version) || 0)) return false;
  return !equal(held, incoming);
}

function emptySearch() {
  return { query: "", keywords: [], loading: false, failed: false, totalCount: 0, items: [] };
}

function emptyStatus() {
  return {
    connection: "connecting", // connecting | connected | offline
    connectionLost: false, // a connection failed and none has succeeded since
    syncing: false,
    syncFailed: false,
    fromCache: false, // the list is the cache's, painted before the first sync ended
  };
}

export class Model {
  /** @type {Set<(change: Change) => void>} */
  #subscribers = new Set();
  /** @type {Change[]} changes waiting for delivery (one may cause another) */
  #queue = [];
  #delivering = false;
  /** Ticks at every event that sets conversations or the total; ask() stamps a question with it. */
  #clock = 0;
  /** Bumped at every sign-out: answers to an earlier session's questions are dropped. */
  #session = 0;
  /** conversationID -> #clock when an event last set it */
  #eventSetAt = new Map();
  #totalEventSetAt = 0;
  #chatKeys = 0;

  /** @type {{userID: string, nickname: string} | null} */
  #me = null;
  #screen = "boot"; // boot | login | main | failed
  #bootText = "Loading…";
  #loginMessage = "";
  /** The server refused the token (OnUserTokenExpired), perhaps while restoring. */
  #sessionExpired = false;
  /** @type {Map<string, object>} conversationID -> the SDK's record */
  #conversations = new Map();
  #total = 0;
  #status = emptyStatus();
  /** @type {Chat | null} */
  #chat = null;
  /** @type {{message: string, source: string} | null} */
  #error = null;
  /** @type {Map<string, string[]>} conversationID -> IDs of the users typing there, in arrival order */
  #typing = new Map();
  /** @type {Map<string, {userID: string, nickname: string, faceURL: string}>} userID -> PublicUser */
  #people = new Map();
  /** @type {Search} */
  #search = emptySearch();
  /** @type {{keyword: string, loading: boolean, failed: boolean, users: object[]}} */
  #picker = { keyword: "", loading: false, failed: false, users: [] };

  // -- reading ------------------------------------------------------------------------

  get me() { return this.#me; }
  /** @returns {ReadonlyMap<string, {userID: string, nickname: string, faceURL: string}>} */
  get people() { return this.#people; }
  /** @returns {Search} */
  get search() { return this.#search; }
  get picker() { return this.#picker; }
  get screen() { return this.#screen; }
  get bootText() { return this.#bootText; }
  get loginMessage() { return this.#loginMessage; }
  get sessionExpired() { return this.#sessionExpired; }
  /** @returns {ReadonlyMap<string, object>} */
  get conversations() { return this.#conversations; }
  get total() { return this.#total; }
  /** @returns {Chat | null} */
  get chat() { return this.#chat; }
  get error() { return this.#error; }
  /** The user IDs typing in conversation `id` (not me), in the order they started. */
  typingIn(id) { return this.#typing.get(id) ?? []; }
  get session() { return this.#session; }
  /** The list shown is the cache's and the first sync has not ended (rule 9). */
  get fromCache() { return this.#status.fromCache; }

  /** One of Status: what the sync-status indicator says. */
  get status() {
    const s = this.#status;
    if (s.syncing || s.fromCache) return Status.SYNCING;
    if (s.syncFailed || s.connection === "offline" || s.connectionLost) return Status.OFFLINE;
    if (s.connection === "connecting") return Status.CONNECTING;
    return Status.UP_TO_DATE;
  }

  /** The open conversation's record, if the SDK has one. */
  get openRecord() {
    return this.#chat ? this.#conversations.get(this.#chat.id) ?? null : null;
  }

  /**
   * Call `subscriber(change)` after every change, until the returned function is called.
   * @param {(change: Change) => void} subscriber
   */
  subscribe(subscriber) {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Stamp a question to the SDK; hand the stamp in with its answer. */
  ask() {
    return { session: this.#session, clock: this.#clock };
  }

  // -- the session and the screens ----------------------------------------------------

  bootProgress(text) {
    this.#update((change) => {
      if (this.#bootText === text) return;
      this.#bootText = text;
      change.screen = true;
    });
  }

  /** The SDK could not start: the boot screen says so, the banner says why. */
  bootFailed(message) {
    this.#update((change) => {
      this.#screen = "failed";
      this.#bootText = "Tidemark could not start.";
      this.#error = { message, source: "" };
      change.screen = true;
      change.error = true;
    });
  }

  /**
   * getCachedConversationList's answer: the cache painted before the first sync, shown
   * as syncing while the answer says so. Only while booting, and only if it has a user
   * and conversations; `me` is who the page believes that user is.
   */
  cachedListRead(cached, me, asked) {
    const list = cached?.conversationList;
    if (this.#me || this.#screen !== "boot" || asked.session !== this.#session) return;
    if (!cached?.userID || !Array.isArray(list) || list.length === 0) return;
    this.#update((change) => {
      this.#me = me;
      this.#status.fromCache = Boolean(cached.syncing);
      this.#screen = "main";
      this.#takeList(list, asked, change);
      this.#takeTotal(Number(cached.totalUnreadCount) || 0, asked, change);
      Object.assign(change, { me: true, status: true, screen: true });
    });
  }

  /** Logged in, or the session restored: `me` is the user. Entering follows entered(). */
  loggedIn(me) {
    this.#update((change) => {
      this.#me = me;
      this.#sessionExpired = false;
      change.me = true;
    });
  }

  /** The SDK's list has been read after the login: show the main screen, no longer the cache's. */
  entered() {
    this.#update((change) => {
      this.#status.fromCache = false;
      this.#screen = "main";
      change.status = true;
      change.screen = true;
    });
  }

  /** Logged out (or refused): nothing of the session stays; the login form shows `message`. */
  signedOut(message = "") {
    this.#update((change) => {
      this.#session++;
      this.#me = null;
      this.#conversations = new Map();
      this.#eventSetAt.clear();
      this.#total = 0;
      this.#status = emptyStatus();
      this.#chat = null;
      this.#typing = new Map();
      this.#people = new Map();
      this.#search = emptySearch();
      this.#picker = { keyword: "", loading: false, failed: false, users: [] };
      this.#screen = "login";
      this.#loginMessage = message;
      Object.assign(change, {
        me: true, total: true, status: true, chat: true, messages: true, screen: true, login: true,
        members: true, receipts: true, readers: true, typing: true, people: true, search: true, picker: true,
        conversations: { changed: [], removed: [], reset: true },
      });
    });
  }

  /** The login screen, with `message` (none: no message). */
  showLogin(message = "") {
    this.#update((change) => {
      this.#screen = "login";
      this.#loginMessage = message;
      change.screen = true;
      change.login = true;
    });
  }

  setLoginMessage(message) {
    this.#update((change) => {
      if (this.#loginMessage === message) return;
      this.#loginMessage = message;
      change.login = true;
    });
  }

  // -- SDK events: connection and sync ------------------------------------------------

  connecting() {
    this.#setStatus({ connection: "connecting" });
  }

  connected() {
    this.#setStatus({ connection: "connected", connectionLost: false, syncFailed: false });
  }

  /** It stays offline through the reconnect attempts, until one succeeds. */
  connectFailed() {
    this.#setStatus({ connection: "offline", connectionLost: true });
  }

  syncStarted() {
    this.#setStatus({ syncing: true });
  }

  syncFinished() {
    this.#setStatus({ syncing: false, syncFailed: false, fromCache: false });
  }

  syncFailed() {
    this.#setStatus({ syncing: false, syncFailed: true });
  }

  /** OnUserTokenExpired: remembered, so that a boot that ends logged out can say why. */
  tokenExpired() {
    this.#sessionExpired = true;
  }

  // -- SDK events and answers: conversations and the total ----------------------------

  /** OnNewConversation / OnConversationChanged: records, each with the SDK's version. */
  conversationsChanged(records) {
    if (!Array.isArray(records) || !this.#me) return;
    const now = ++this.#clock;
    this.#update((change) => {
      const changed = [];
      for (const record of records) {
        const id = record.conversationID;
        this.#eventSetAt.set(id, now);
        if (!replaces(this.#conversations.get(id), record)) continue;
        this.#conversations.set(id, record);
        changed.push(record);
      }
      if (changed.length === 0) return;
      change.conversations = { changed, removed: [], reset: false };
      this.#followOpenRecord(change);
    });
  }

  /** OnTotalUnreadMessageCountChanged: the SDK's total. */
  totalChanged(total) {
    this.#totalEventSetAt = ++this.#clock;
    this.#update((change) => {
      this.#takeTotal(Number(total) || 0, null, change);
    });
  }

  /**
   * The answers of getAllConversationList and getTotalUnreadMsgCount, asked at `asked`:
   * the SDK's whole list (a conversation missing from it is gone) and its total.
   */
  conversationsListed(list, total, asked) {
    if (!this.#me || asked.session !== this.#session || !Array.isArray(list)) return;
    this.#update((change) => {
      this.#takeList(list, asked, change);
      this.#takeTotal(Number(total) || 0, asked, change);
    });
  }

  // -- the open chat ------------------------------------------------------------------

  /**
   * Open conversation `id` (the same one: nothing changes). Without a record yet (a new
   * single chat) `peer` says with whom.
   */
  openChat(id, { peer = "", focusSeq = 0 } = {}) {
    if (this.#chat?.id === id && !focusSeq) return;
    const record = this.#conversations.get(id);
    this.#update((change) => {
      this.#chat = {
        key: ++this.#chatKeys,
        id,
        type: record?.conversationType ?? SessionType.SINGLE,
        peer: record?.userID || peer,
        groupID: record?.groupID || "",
        messages: new Map(),
        minSeq: 0,
        isEnd: false,
        loaded: false,
        loadingOlder: false,
        olderFailed: false,
        panelOpen: false,
        members: { list: [], loaded: false, failed: false },
        receipts: new Map(),
        readers: null,
        hasNewer: false,
        loadingNewer: false,
        focusSeq: Number(focusSeq) || 0,
      };
      Object.assign(change, { chat: true, messages: true, members: true, receipts: true, readers: true });
    });
  }

  closeChat() {
    if (!this.#chat) return;
    this.#update((change) => {
      this.#chat = null;
      Object.assign(change, { chat: true, messages: true, members: true, receipts: true, readers: true });
    });
  }

  /**
   * getAdvancedHistoryMessageList's answer for opening `key`: the newest page, or
   * (`older`) the page before minSeq. A newest page that does not join what is shown
   * (more arrived than a page holds) starts the history over from it, so the history
   * shown never has a hole; messages still sending stay.
   */
  historyAnswered(key, page, { older = false, around = false, newer = false } = {}) {
    this.#updateChat(key, (chat, change) => {
      const list = Array.isArray(page?.messageList) ? page.messageList : [];
      const isEnd = Boolean(page?.isEnd) || list.length === 0;
      const maxSeq = Number(this.#conversations.get(chat.id)?.maxSeq) || 0;
      if (around) {
        // The page up to a little after a search hit: the history shown starts over from it.
        for (const [id, message] of chat.messages) if (message.seq) chat.messages.delete(id);
        chat.minSeq = list.length ? list[0].seq : 0;
        chat.isEnd = isEnd;
        chat.loaded = true;
        merge(chat, list, "sent");
        chat.hasNewer = highestSeq(chat) < maxSeq;
        change.chat = true;
        change.messages = true;
        return;
      }
      if (newer) {
        merge(chat, list, "sent");
        chat.loadingNewer = false;
        chat.hasNewer = list.length > 0 && highestSeq(chat) < maxSeq;
        change.chat = true;
        change.messages = true;
        return;
      }
      if (older) {
        chat.minSeq = list.length ? Math.min(chat.minSeq, list[0].seq) : chat.minSeq;
        chat.isEnd = isEnd;
        chat.loadingOlder = false;
        chat.olderFailed = false;
      } else {
        const shown = highestSeq(chat);
        if (!chat.loaded || (list.length && shown && list[0].seq > shown + 1)) {
          for (const [id, message] of chat.messages) if (message.seq) chat.messages.delete(id);
          chat.minSeq = list.length ? list[0].seq : 0;
          chat.isEnd = isEnd;
        }
        chat.loaded = true;
        chat.hasNewer = false;
      }
      merge(chat, list, "sent");
      change.chat = true;
      change.messages = true;
    });
  }

  /**
   * The history could not be read. `nothingYet`: the SDK has no such conversation (a new
   * chat): there is nothing to load, which is no error.
   */
  historyFailed(key, { older = false, nothingYet = false, newer = false } = {}) {
    this.#updateChat(key, (chat, change) => {
      if (newer) {
        chat.loadingNewer = false;
      } else if (older) {
        chat.loadingOlder = false;
        chat.olderFailed = true;
      } else {
        chat.loaded = true;
        if (nothingYet) chat.isEnd = true;
      }
      change.chat = true;
    });
  }

  newerLoading(key) {
    this.#updateChat(key, (chat, change) => {
      chat.loadingNewer = true;
      change.chat = true;
    });
  }

  /** Bring the message at `seq` (shown already) into view and highlight it. */
  focusOn(key, seq) {
    this.#updateChat(key, (chat, change) => {
      chat.focusSeq = Number(seq) || 0;
      change.chat = true;
      change.messages = true;
    });
  }

  /** The highlighted search hit was shown (or the user moved on): no longer brought into view. */
  focusDone(key) {
    this.#updateChat(key, (chat, change) => {
      if (!chat.focusSeq) return;
      chat.focusSeq = 0;
      change.chat = true;
    });
  }

  olderLoading(key) {
    this.#updateChat(key, (chat, change) => {
      chat.loadingOlder = true;
      change.chat = true;
    });
  }

  /**
   * createTextMessage's (createImageMessageByFile's, …) answer: the message, sending.
   * `localFile`: the File being uploaded, for the pending message's preview.
   */
  messageCreated(key, message, { localFile = null } = {}) {
    this.#updateChat(key, (chat, change) => {
      chat.messages.set(message.clientMsgID, { ...message, state: "sending", ...(localFile ? { localFile, progress: 0 } : {}) });
      change.messages = true;
    });
  }

  /** OnProgress: an upload of the open chat's pending message is `progress` % done. */
  uploadProgress(clientMsgID, progress) {
    const chat = this.#chat;
    const known = chat?.messages.get(clientMsgID);
    if (!chat || !known || known.seq || known.state !== "sending") return;
    const percent = Math.max(0, Math.min(100, Math.round(Number(progress) || 0)));
    if (known.progress === percent) return;
    this.#updateChat(chat.key, (open, change) => {
      open.messages.set(clientMsgID, { ...known, progress: percent });
      change.messages = true;
    });
  }

  /** sendMessage's answer: the sent message (with seq) replaces the sending one. */
  messageSent(key, message) {
    this.#updateChat(key, (chat, change) => {
      merge(chat, [message], "sent");
      change.messages = true;
    });
  }

  /** sendMessage failed: the message, if still unsent, is marked failed (it can be retried). */
  messageFailed(key, clientMsgID) {
    this.#updateChat(key, (chat, change) => {
      const known = chat.messages.get(clientMsgID);
      if (!known || known.seq) return;
      chat.messages.set(clientMsgID, { ...known, state: "failed" });
      change.messages = true;
    });
  }

  /**
   * A failed message is being sent again (the same clientMsgID: the server keeps one
   * copy). Returns the message to send, without `state`, or null if it is not failed.
   */
  messageRetried(key, clientMsgID) {
    let retried = null;
    this.#updateChat(key, (chat, change) => {
      const known = chat.messages.get(clientMsgID);
      if (!known || known.state !== "failed") return;
      chat.messages.set(clientMsgID, { ...known, state: "sending", ...(known.localFile ? { progress: 0 } : {}) });
      const { state: _state, localFile: _file, progress: _progress, ...message } = known;
      retried = message;
      change.messages = true;
    });
    return retried;
  }

  /**
   * OnRecvNewMessages: those of the open chat join it (unless it shows older history,
   * opened at a search hit: they come with the newer pages then).
   */
  messagesReceived(messages) {
    const chat = this.#chat;
    if (!Array.isArray(messages)) return;
    // Whoever sent a message has stopped typing it.
    for (const message of messages) {
      if (this.#typing.get(message.conversationID)?.includes(message.sendID)) {
        this.typingChanged(message.conversationID, message.sendID, false);
      }
    }
    if (!chat) return;
    const mine = messages.filter((m) => m.conversationID === chat.id);
    if (mine.length === 0 || chat.hasNewer) return;
    this.#updateChat(chat.key, (open, change) => {
      merge(open, mine, "sent");
      change.messages = true;
    });
  }

  /**
   * OnNewRecvMessageRevoked (RevokedInfo plus conversationID), or revokeMessage's answer
   * (`tombstone`): the message of the open chat becomes its tombstone. A message not
   * shown is left to the history, which the SDK already answers with the tombstone.
   */
  messageRevoked(info, tombstone = null) {
    const chat = this.#chat;
    if (!chat || !info || (info.conversationID && info.conversationID !== chat.id)) return;
    this.#updateChat(chat.key, (open, change) => {
      let known = open.messages.get(info.clientMsgID);
      if (!known && info.seq) known = [...open.messages.values()].find((m) => m.seq === Number(info.seq));
      if (!known || isRevoked(known)) return;
      const replaced = isRevoked(tombstone) ? { ...tombstone, state: "sent" } : { ...tombstoneOf(known, info), state: "sent" };
      open.messages.set(known.clientMsgID, replaced);
      change.messages = true;
    });
  }

  // -- the open group: members, receipts, readers -------------------------------------

  /** Show or hide the member panel of the open chat (a group). */
  setPanelOpen(key, open) {
    this.#updateChat(key, (chat, change) => {
      if (chat.panelOpen === open) return;
      chat.panelOpen = open;
      change.members = true;
    });
  }

  /**
   * getGroupMemberList's answer for opening `key`: the group's current members. Answers
   * are asked one at a time (the controller), so the latest answer is the latest truth.
   */
  membersAnswered(key, list) {
    this.#updateChat(key, (chat, change) => {
      const members = (Array.isArray(list) ? list : []).map((m) => ({
        userID: String(m.userID),
        nickname: String(m.nickname || m.userID),
        roleLevel: Number(m.roleLevel) || Role.MEMBER,
      }));
      members.sort((a, b) => b.roleLevel - a.roleLevel || a.userID.localeCompare(b.userID));
      const held = chat.members;
      if (held.loaded && !held.failed && equal(held.list, members)) return;
      chat.members = { list: members, loaded: true, failed: false };
      change.members = true;
    });
  }

  /** The member list could not be read; what was shown stays, marked as failed. */
  membersFailed(key) {
    this.#updateChat(key, (chat, change) => {
      if (chat.members.failed) return;
      chat.members = { ...chat.members, loaded: true, failed: true };
      change.members = true;
    });
  }

  /** My role in the open group (0: not known, or not a member). */
  get myRole() {
    return this.roleOf(this.#me?.userID);
  }

  /** The role of `userID` in the open group (0: not known, or not a current member). */
  roleOf(userID) {
    const member = this.#chat?.members.list.find((m) => m.userID === userID);
    return member?.roleLevel ?? 0;
  }

  /**
   * getGroupMessageReceiptCounts's answer for opening `key`: [{seq, hasReadCount,
   * groupMemberCount}]. Read positions only move forward (rule 3) and the members a
   * message counts are fixed at its seq, so a count never goes down: an answer that
   * overtook a newer one cannot lower what is shown.
   */
  receiptsAnswered(key, receipts) {
    this.#updateChat(key, (chat, change) => {
      for (const receipt of Array.isArray(receipts) ? receipts : []) {
        const seq = Number(receipt.seq);
        const total = Number(receipt.groupMemberCount) || 0;
        const held = chat.receipts.get(seq);
        const read = Math.max(Number(receipt.hasReadCount) || 0, held && held.groupMemberCount === total ? held.hasReadCount : 0);
        if (held && held.hasReadCount === read && held.groupMemberCount === total) continue;
        chat.receipts.set(seq, { hasReadCount: Math.min(read, total), groupMemberCount: total });
        change.receipts = true;
      }
    });
  }

  /** The reader list for my message at `seq` is asked for. */
  readersOpened(key, seq) {
    this.#updateChat(key, (chat, change) => {
      chat.readers = { seq, loaded: false, failed: false, read: [], unread: [] };
      change.readers = true;
    });
  }

  /** getGroupMessageReaderList's answers (filter 0: read, 1: not yet) for the list at `seq`. */
  readersAnswered(key, seq, read, unread) {
    this.#updateChat(key, (chat, change) => {
      if (chat.readers?.seq !== seq) return;
      const people = (list) => (Array.isArray(list) ? list : [])
        .map((m) => ({ userID: String(m.userID), nickname: String(m.nickname || m.userID) }));
      chat.readers = { seq, loaded: true, failed: false, read: people(read), unread: people(unread) };
      // The list is newer than the count: the count follows it (never down, see above).
      const total = chat.readers.read.length + chat.readers.unread.length;
      const held = chat.receipts.get(seq);
      if (!held || (held.groupMemberCount === total && held.hasReadCount < chat.readers.read.length)) {
        chat.receipts.set(seq, { hasReadCount: chat.readers.read.length, groupMemberCount: total });
        change.receipts = true;
      }
      change.readers = true;
    });
  }

  readersFailed(key, seq) {
    this.#updateChat(key, (chat, change) => {
      if (chat.readers?.seq !== seq) return;
      chat.readers = { ...chat.readers, loaded: true, failed: true };
      change.readers = true;
    });
  }

  readersClosed(key) {
    this.#updateChat(key, (chat, change) => {
      if (!chat.readers) return;
      chat.readers = null;
      change.readers = true;
    });
  }

  // -- people: my profile, others' public profiles, the "New chat" picker -------------

  /** getSelfUserInfo's answer or OnSelfInfoUpdated: my nickname and avatar. */
  selfUpdated(user) {
    if (!this.#me || !user || (user.userID && user.userID !== this.#me.userID)) return;
    const next = {
      ...this.#me,
      nickname: String(user.nickname ?? this.#me.nickname ?? "") || this.#me.userID,
      faceURL: String(user.faceURL ?? this.#me.faceURL ?? ""),
    };
    if (equal(next, this.#me)) return;
    this.#update((change) => {
      this.#me = next;
      this.#people.set(next.userID, { userID: next.userID, nickname: next.nickname, faceURL: next.faceURL });
      change.me = true;
      change.people = true;
    });
  }

  /** getUsersInfo's (or searchUsers') answer: public profiles, for avatars and names. */
  peopleKnown(users) {
    if (!this.#me || !Array.isArray(users)) return;
    this.#update((change) => {
      for (const user of users) {
        if (!user?.userID) continue;
        const next = { userID: String(user.userID), nickname: String(user.nickname || user.userID), faceURL: String(user.faceURL || "") };
        if (equal(this.#people.get(next.userID), next)) continue;
        this.#people.set(next.userID, next);
        change.people = true;
      }
    });
  }

  /** The picker asks searchUsers for `keyword` ("": the picker is empty or closed). */
  pickerAsked(keyword) {
    this.#update((change) => {
      this.#picker = { keyword, loading: Boolean(keyword), failed: false, users: keyword ? this.#picker.users : [] };
      change.picker = true;
    });
  }

  /** searchUsers' answer for `keyword`: taken only if the picker still asks for it. */
  pickerAnswered(keyword, users, { failed = false } = {}) {
    if (this.#picker.keyword !== keyword) return;
    const me = this.#me?.userID;
    this.#update((change) => {
      const list = (Array.isArray(users) ? users : []).filter((u) => u?.userID && u.userID !== me);
      this.#picker = { keyword, loading: false, failed, users: failed ? this.#picker.users : list };
      change.picker = true;
    });
    if (!failed) this.peopleKnown(users);
  }

  // -- the message search -------------------------------------------------------------

  /** A search for `query` (its `keywords`) is asked ("": the search is cleared). */
  searchAsked(query, keywords) {
    this.#update((change) => {
      this.#search = query
        ? { ...this.#search, query, keywords, loading: true, failed: false }
        : emptySearch();
      change.search = true;
    });
  }

  /** searchLocalMessages' answer for `query`: taken only if the box still holds it. */
  searchAnswered(query, answer, { failed = false } = {}) {
    if (this.#search.query !== query) return;
    this.#update((change) => {
      const items = Array.isArray(answer?.searchResultItems) ? answer.searchResultItems : [];
      this.#search = failed
        ? { ...this.#search, loading: false, failed: true }
        : { ...this.#search, loading: false, failed: false, totalCount: Number(answer?.totalCount) || 0, items };
      change.search = true;
    });
  }

  // -- typing (rule 17: never stored; the controller expires what is not renewed) -----

  /** OnConversationUserInputStatusChanged: `userID` is (focus) or is no longer typing in `id`. */
  typingChanged(id, userID, focus) {
    if (!id || !userID || userID === this.#me?.userID || !this.#me) return;
    this.#update((change) => {
      const held = this.#typing.get(id) ?? [];
      const has = held.includes(userID);
      if (Boolean(focus) === has) return;
      const next = focus ? [...held, userID] : held.filter((u) => u !== userID);
      if (next.length) this.#typing.set(id, next);
      else this.#typing.delete(id);
      change.typing = true;
    });
  }

  // -- the error banner ---------------------------------------------------------------

  /** Show `message`; `source` names what failed, so that its success can clear it. */
  showError(message, source = "") {
    this.#update((change) => {
      this.#error = { message, source };
      change.error = true;
    });
  }

  /** Hide the banner if it still shows an error from `source` (which has now succeeded). */
  clearError(source) {
    if (this.#error?.source !== source) return;
    this.dismissError();
  }

  dismissError() {
    if (!this.#error) return;
    this.#update((change) => {
      this.#error = null;
      change.error = true;
    });
  }

  // -- internals ----------------------------------------------------------------------

  /** Run `mutate(change)`; if it recorded a change, count it and tell the subscribers. */
  #update(mutate) {
    /** @type {Change} */
    const change = {};
    mutate(change);
    if (Object.keys(change).length === 0) return;
    this.#queue.push(change);
    if (this.#delivering) return; // a subscriber changed the model: delivered after this one
    this.#delivering = true;
    try {
      while (this.#queue.length) {
        const next = this.#queue.shift();
        for (const subscriber of [...this.#subscribers]) {
          try {
            subscriber(next);
          } catch (error) {
            // One failing view must not keep the change from the others; still uncaught.
            setTimeout(() => { throw error; });
          }
        }
      }
    } finally {
      this.#delivering = false;
    }
  }

  #updateChat(key, mutate) {
    const chat = this.#chat;
    if (!chat || chat.key !== key) return; // an answer for a chat no longer open
    this.#update((change) => mutate(chat, change));
  }

  #setStatus(fields) {
    this.#update((change) => {
      const s = this.#status;
      if (Object.entries(fields).every(([k, v]) => s[k] === v)) return;
      Object.assign(s, fields);
      change.status = true;
    });
  }

  /** A whole list from the SDK, asked at `asked`, merged into the held records. */
  #takeList(list, asked, change) {
    const changed = [];
    const removed = [];
    const fresh = new Map();
    for (const record of list) {
      const id = record.conversationID;
      const held = this.#conversations.get(id);
      if (replaces(held, record)) {
        fresh.set(id, record);
        changed.push(record);
      } else {
        fresh.set(id, held);
      }
    }
    for (const [id, record] of this.#conversations) {
      if (fresh.has(id)) continue;
      if ((this.#eventSetAt.get(id) ?? 0) > asked.clock) fresh.set(id, record); // reported since
      else removed.push(id);
    }
    for (const id of removed) this.#eventSetAt.delete(id);
    this.#conversations = fresh;
    if (changed.length || removed.length) {
      change.conversations = { changed, removed, reset: false };
      this.#followOpenRecord(change);
    }
  }

  /** The SDK's total; from an answer (`asked`) unless an event has set it since. */
  #takeTotal(total, asked, change) {
    if (asked && this.#totalEventSetAt > asked.clock) return;
    if (this.#total === total) return;
    this.#total = total;
    change.total = true;
  }

  /** The open chat's header fields follow its record; the chat changes with its record. */
  #followOpenRecord(change) {
    const chat = this.#chat;
    if (!chat || !change.conversations) return;
    if (change.conversations.removed.includes(chat.id)) change.chat = true;
    const record = this.#conversations.get(chat.id);
    if (!record || !change.conversations.changed.includes(record)) return;
    chat.type = record.conversationType ?? chat.type;
    chat.peer = record.userID || chat.peer;
    chat.groupID = record.groupID || chat.groupID;
    change.chat = true;
  }
}

/**
 * Merge messages into `chat`; a sent copy (with seq) is never replaced by an unsent one,
 * and a tombstone never by the message it replaced (an answer asked before the revoke).
 */
function merge(chat, messages, state) {
  for (const message of messages) {
    const known = chat.messages.get(message.clientMsgID);
    if (known?.seq && !message.seq) continue;
    if (isRevoked(known) && !isRevoked(message)) continue;
    chat.messages.set(message.clientMsgID, { ...message, state: message.seq ? "sent" : state });
  }
}
