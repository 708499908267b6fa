// What the page asks the SDK, and the SDK's events: both fed into the model (model.js).
//
// The views call these methods for what the user does; nothing here touches the DOM.
// The page never clears a badge on its own (DESIGN.md rule 4): marking read asks the
// SDK, the SDK asks the server, and the badge changes when the SDK reports the committed
// state. The SDK's count and list queries wait for the first sync (rule 9).

import { Constants, ErrorCode, SdkEvent, SessionType } from "./protocol.js";
import { highestSeq, isNotification, readOnlyReason } from "./model.js";
import { asError } from "./sdk.js";
import { atMentions } from "./ui/mentions.js";

const LOGGED_IN = 3;
const LOGGING_IN = 2;
const HISTORY_PAGE = 30;
/** Opening at a search hit: this many newer messages load with it (the rest on scrolling down). */
const AROUND_NEWER = 10;
/** The search box asks this long after the last keystroke. */
const SEARCH_DEBOUNCE_MS = 300;
/** The "New chat" picker asks searchUsers this long after the last keystroke (30 per minute). */
const PEOPLE_DEBOUNCE_MS = 250;
/** What the server's upload limit is by default (MAX_UPLOAD_BYTES), if its refusal does not say. */
const DEFAULT_UPLOAD_LIMIT = 25 * 1024 * 1024;
/** The image types the server takes as images (kind=image); anything else goes as a file. */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const USER_ID = /^[a-z0-9][a-z0-9.-]{0,31}$/;
const USER_ID_RULE = "User IDs are 1–32 characters: a–z, 0–9, dot and dash.";
const NOT_FOUND_CODES = new Set([ErrorCode.NOT_FOUND, ErrorCode.CONVERSATION_NOT_FOUND]);
const SESSION_EXPIRED = "Your session has expired. Please log in again.";
// The page's own note of who is logged in (the SDK keeps the session itself); used to
// tell my messages from others' when the SDK offers no getSelfUserInfo.
const ME_KEY = "tidemark.page.me";
const GROUP_MAX_MEMBERS = 500;
/** While the user types, "typing" is said at most this often (the server shows it for 5 s). */
const TYPING_EVERY_MS = 2000;
/** How long the server shows a "typing" it is not told again (events.py TYPING_TTL_MS). */
const TYPING_TTL_MS = 5000;
/** Someone else's "typing" goes after this without news (rule 17), should no "stopped" come. */
const TYPING_SHOWN_MS = 6000;
/** Receipt events and new messages within this window are one question for the counts. */
const RECEIPTS_DEBOUNCE_MS = 250;
/** getGroupMessageReceiptCounts takes at most this many seqs at once (server: 100). */
const RECEIPT_BATCH = 100;
/** A draft is saved this long after the last keystroke (drafts are local: no server round trip). */
const DRAFT_DEBOUNCE_MS = 400;
/** Errors that mean "you are not (or no longer) in this group": the page already says so. */
const NOT_IN_GROUP_CODES = new Set([
  ErrorCode.NOT_GROUP_MEMBER, ErrorCode.GROUP_DISMISSED, ErrorCode.CONVERSATION_NOT_FOUND,
]);

/** A list answer as an array: OpenIM answers a bare array; the server's shape has `key`. */
function listOf(answer, ...keys) {
  if (Array.isArray(answer)) return answer;
  for (const key of keys) if (Array.isArray(answer?.[key])) return answer[key];
  return [];
}

/** User IDs typed into one field ("bob, carol dave"): lower-cased, unique, in order. */
function parseUserIDs(text) {
  return [...new Set(String(text).split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean))];
}

/** A byte count for people: "512 B", "1.4 KiB", "25 MiB". */
export function humanSize(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** The words of a search box: up to 5 distinct words of at most 100 characters. */
export function searchKeywords(text) {
  const words = String(text).trim().split(/\s+/).filter(Boolean).map((w) => w.slice(0, 100));
  return [...new Set(words.map((w) => w.toLowerCase()))].slice(0, 5);
}

/** Why a file was not sent, in words (1601: too large, naming the limit; 1603: not an image). */
export function uploadErrorText(error, fileName) {
  const { errCode, errMsg } = asError(error);
  const name = fileName ? `“${fileName}”` : "The file";
  if (errCode === ErrorCode.FILE_TOO_LARGE) {
    const stated = String(errMsg).match(/(\d{4,})/);
    const limit = stated ? Number(stated[1]) : DEFAULT_UPLOAD_LIMIT;
    return `${name} is too large to send: the limit is ${humanSize(limit)}.`;
  }
  if (errCode === ErrorCode.FILE_TYPE_MISMATCH) {
    return `${name} is not an image Tidemark can show (PNG, JPEG, GIF or WebP), or its type is not what it claims.`;
  }
  if (errCode === ErrorCode.FILE_EMPTY) return `${name} is empty.`;
  return `${name} was not sent: ${errMsg}`;
}

/** Whether `file` goes as an image message (the server checks it again). */
export function isImageFile(file) {
  return IMAGE_TYPES.has(String(file?.type ?? "").toLowerCase());
}

/** The conversation ID the SDK gives a chat with `sourceID` (a user, or a group). */
export function conversationIDFor(type, myUserID, sourceID) {
  if (type === SessionType.GROUP) return `sg_${sourceID}`;
  return `si_${[myUserID, sourceID].sort().join("_")}`;
}

export class Controller {
  /** The list read in flight (one at a time), and whether another must follow it. */
  #refreshing = null;
  #refreshingSession = -1;
  #refreshAgain = false;
  /** conversationIDs with a mark-read in flight / wanted again after it */
  #reading = new Set();
  #readAgain = new Set();
  /** The chat (key) whose newest page is loading, and whether a newer one is wanted after. */
  #latest = { key: 0, again: false };
  /** The chat (key) whose member list is being read, whether to read again, and the
   *  conversation's maxSeq when last asked (a notification past it changes the list). */
  #members = { key: 0, again: false, askedAt: { key: 0, seq: 0 } };
  /** Receipt counts: the chat (key), seqs asked or answered, seqs wanted at the next ask. */
  #receipts = { key: 0, asked: new Set(), wanted: new Set(), timer: 0, readers: false };
  /** The conversation I last said I am typing in, and when (0: I said nothing or stopped). */
  #typingSent = { id: "", at: 0 };
  /** `${conversationID} ${userID}` -> the timer that takes their "typing" down */
  #typingTimers = new Map();
  /** The draft typed in the open chat and not saved yet (timer 0: nothing pending). */
  #draft = { id: "", text: "", timer: 0 };
  /** conversationID -> the draft asked for and not answered yet (the record does not say it yet) */
  #draftAsked = new Map();
  /** Conversation actions in flight, by `${method} ${conversationID}` (one at a time). */
  #acting = new Set();
  /** The search box's pending question (timer 0: none). */
  #searchTimer = 0;
  /** The picker's pending question. */
  #peopleTimer = 0;
  /** User IDs whose profiles were asked for (getUsersInfo), so each is asked once. */
  #peopleAsked = new Set();

  /**
   * @param {import("./model.js").Model} model
   * @param {ReturnType<import("./sdk.js").connectSdk>} sdk
   * @param {{storage: Storage, visible: () => boolean, now?: () => number,
   *          setTimer?: (run: () => void, ms: number) => any, clearTimer?: (timer: any) => void}} env
   */
  constructor(model, sdk, { storage, visible, now = Date.now, setTimer, clearTimer, onLogout }) {
    this.model = model;
    /** Run before the SDK logs out (the page's push subscription goes with the session). */
    this.onLogout = onLogout ?? (async () => {});
    this.sdk = sdk;
    this.storage = storage;
    this.visible = visible;
    this.now = now;
    this.setTimer = setTimer ?? ((run, ms) => setTimeout(run, ms));
    this.clearTimer = clearTimer ?? ((timer) => clearTimeout(timer));
    model.subscribe((change) => this.#onChange(change));
  }

  // -- boot -----------------------------------------------------------------------------

  async boot() {
    const { model, sdk } = this;
    const slow = setTimeout(() => model.bootProgress("Starting the client…"), 1500);
    try {
      await sdk.loaded();
      this.#listen();
      // The cached list can be painted while the SDK restores the session and syncs
      // (rule 9: marked as syncing until the sync has finished).
      this.#paintCachedList();
      const ready = await sdk.ready();
      let status = await sdk.call("getLoginStatus");
      while (status === LOGGING_IN) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = await sdk.call("getLoginStatus");
      }
      clearTimeout(slow);
      if (status === LOGGED_IN) {
        await this.#enter(await this.#whoAmI(ready?.userID));
      } else {
        // No session, or the server refused the saved one (then say so).
        const failed = ready?.restoreError;
        const message = failed
          ? `Please log in again (${failed.errMsg}).`
          : model.sessionExpired ? SESSION_EXPIRED : "";
        this.#signedOut(message); // takes down a cached list painted meanwhile
      }
    } catch (error) {
      clearTimeout(slow);
      model.bootFailed(`Could not start: ${asError(error).errMsg}`);
    }
  }

  #listen() {
    const { model, sdk } = this;
    sdk.on(SdkEvent.OnConnecting, () => model.connecting());
    sdk.on(SdkEvent.OnConnectSuccess, () => model.connected());
    sdk.on(SdkEvent.OnConnectFailed, () => model.connectFailed());
    sdk.on(SdkEvent.OnSyncServerStart, () => model.syncStarted());
    sdk.on(SdkEvent.OnSyncServerFinish, () => {
      model.syncFinished();
      // A snapshot may have dropped conversations (events only name the ones that
      // exist): read the whole list again.
      if (model.me) this.refresh({ again: true });
      // Receipt events missed while offline are not replayed: ask for the counts again.
      this.#wantReceipts({ all: true });
    });
    sdk.on(SdkEvent.OnSyncServerFailed, () => model.syncFailed());
    sdk.on(SdkEvent.OnNewConversation, (list) => model.conversationsChanged(list));
    sdk.on(SdkEvent.OnConversationChanged, (list) => model.conversationsChanged(list));
    sdk.on(SdkEvent.OnTotalUnreadMessageCountChanged, (total) => model.totalChanged(total));
    sdk.on(SdkEvent.OnRecvNewMessages, (messages) => model.messagesReceived(messages));
    sdk.on(SdkEvent.OnNewRecvMessageRevoked, (info) => {
      for (const one of Array.isArray(info) ? info : [info]) model.messageRevoked(one);
    });
    sdk.on(SdkEvent.OnRecvGroupReadReceipt, (data) => this.#groupReceipt(data));
    sdk.on(SdkEvent.OnProgress, (data) => {
      for (const one of Array.isArray(data) ? data : [data]) model.uploadProgress(one?.clientMsgID, one?.progress);
    });
    sdk.on(SdkEvent.OnSelfInfoUpdated, (user) => model.selfUpdated(user));
    sdk.on(SdkEvent.OnConversationUserInputStatusChanged, (data) => this.#typingEvent(data));
    // OnRecvC2CReadReceipt needs nothing: the peer's read position comes in the
    // conversation record (OnConversationChanged, announced before the receipt).
    sdk.on(SdkEvent.OnUserTokenExpired, () => {
      model.tokenExpired();
      if (model.me) this.#signedOut(SESSION_EXPIRED);
    });
  }

  /**
   * The cache's list before the first sync (imsdk.js's getCachedConversationList),
   * painted at once after a reload and marked as syncing until the sync has finished.
   */
  async #paintCachedList() {
    const { model, sdk } = this;
    if (!sdk.has("getCachedConversationList")) return;
    const asked = model.ask();
    try {
      const cached = await sdk.call("getCachedConversationList");
      const known = this.#storedMe();
      const userID = cached?.userID;
      const me = known?.userID === userID ? known : { userID, nickname: userID };
      model.cachedListRead(cached, me, asked);
    } catch {
      // Nothing cached to show: the page waits for the sync.
    }
  }

  async #whoAmI(restoredUserID) {
    try {
      const self = await this.sdk.call("getSelfUserInfo");
      if (self?.userID) {
        return { userID: self.userID, nickname: self.nickname || self.userID, ...(self.faceURL ? { faceURL: self.faceURL } : {}) };
      }
    } catch {
      // an SDK without getSelfUserInfo: fall back to what ready said, or the page's note
    }
    const known = this.#storedMe();
    if (restoredUserID && known?.userID !== restoredUserID) {
      return { userID: restoredUserID, nickname: restoredUserID };
    }
    return known ?? { userID: restoredUserID || "", nickname: restoredUserID || "" };
  }

  #storedMe() {
    try {
      const me = JSON.parse(this.storage.getItem(ME_KEY) ?? "null");
      return me?.userID ? me : null;
    } catch {
      return null;
    }
  }

  /** Logged in (or restored): show the server's truth on the main screen. */
  async #enter(me) {
    this.model.loggedIn(me);
    this.storage.setItem(ME_KEY, JSON.stringify(me));
    // Take the synced list before dropping the "syncing" mark of a cached paint, so the
    // page never says "up to date" over cached counts.
    await this.refresh();
    this.model.entered(); // logged in: the first sync has ended (rule 9)
  }

  #signedOut(message) {
    this.storage.removeItem(ME_KEY);
    this.model.signedOut(message);
  }

  // -- login and logout -----------------------------------------------------------------

  /** Log in, or (`signUp`) create the account first. Problems go to the login form. */
  async login({ signUp, userID, password, nickname }) {
    const { model, sdk } = this;
    userID = userID.trim().toLowerCase();
    nickname = nickname.trim() || userID;
    const problem = !USER_ID.test(userID) ? USER_ID_RULE
      : password.length < 8 ? "Passwords have at least 8 characters." : "";
    model.setLoginMessage(problem);
    if (problem) return;
    try {
      if (signUp) await sdk.call("register", { userID, password, nickname });
      const answer = await sdk.call("login", { userID, password });
      await this.#enter({ userID: answer?.userID || userID, nickname: answer?.nickname || nickname });
    } catch (error) {
      model.setLoginMessage(asError(error).errMsg);
    }
  }

  async logout() {
    try {
      await this.onLogout();
    } catch (error) {
      console.warn("Tidemark: push unsubscribe failed", asError(error).errMsg);
    }
    try {
      await this.sdk.call("logout");
    } catch (error) {
      this.model.showError(`Log out failed: ${asError(error).errMsg}`);
    }
    this.#signedOut("");
  }

  // -- the list -------------------------------------------------------------------------

  /**
   * Read the SDK's whole list and total into the model. Needed where events cannot tell:
   * after a sync (a snapshot may have dropped conversations), and to see a conversation
   * no event has brought yet. A call while one is in flight joins it, and one more read
   * follows if the call asks for what it may miss: `again` (a sync has finished since it
   * started), or another session's.
   */
  refresh({ again = false } = {}) {
    if (this.#refreshing) {
      this.#refreshAgain ||= again || this.#refreshingSession !== this.model.session;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#refreshAgain = false;
          this.#refreshingSession = this.model.session;
          await this.#refreshOnce();
        } while (this.#refreshAgain && this.model.me);
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async #refreshOnce() {
    const { model, sdk } = this;
    const asked = model.ask();
    try {
      const [list, total] = await Promise.all([
        sdk.call("getAllConversationList"),
        sdk.call("getTotalUnreadMsgCount"),
      ]);
      model.conversationsListed(list, total, asked);
    } catch (error) {
      if (model.session === asked.session) {
        model.showError(`Could not load conversations: ${asError(error).errMsg}`);
      }
    }
  }

  // -- the open chat --------------------------------------------------------------------

  /** Open a conversation of the list. */
  open(id) {
    if (!this.model.conversations.has(id)) return;
    this.#open(id);
  }

  close() {
    this.stopComposing();
    this.flushDraft();
    this.model.closeChat();
  }

  /** Open the single chat with `peer` (a new one if there is none yet); false if `peer` is no user ID. */
  startChat(peer) {
    const { model } = this;
    peer = peer.trim().toLowerCase();
    if (!USER_ID.test(peer)) {
      model.showError(USER_ID_RULE);
      return false;
    }
    if (peer === model.me?.userID) {
      model.showError("That is you: enter someone else's user ID.");
      return false;
    }
    this.#open(conversationIDFor(SessionType.SINGLE, model.me.userID, peer), peer);
    return true;
  }

  /** Create a group and open it; false if it was not created. */
  async createGroup(groupName, members) {
    const { model, sdk } = this;
    groupName = groupName.trim();
    const memberUserIDs = [
      ...new Set(members.split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean)),
    ].filter((id) => id !== model.me?.userID);
    const bad = memberUserIDs.filter((id) => !USER_ID.test(id));
    if (!groupName || memberUserIDs.length === 0 || bad.length) {
      model.showError(bad.length ? `Not a user ID: ${bad.join(", ")}` : "A group needs a name and at least one member.");
      return false;
    }
    try {
      // OpenIM's shape (the facade refuses groupInfo and a flat groupName together).
      const { conversationID } = await sdk.call("createGroup", {
        groupInfo: { groupName }, memberUserIDs, adminUserIDs: [],
      });
      if (!model.conversations.has(conversationID)) await this.refresh();
      this.open(conversationID);
      return true;
    } catch (error) {
      model.showError(`Could not create the group: ${asError(error).errMsg}`);
      return false;
    }
  }

  #open(id, peer = "", focusSeq = 0) {
    const { model } = this;
    const same = model.chat?.id === id;
    if (same && focusSeq && [...model.chat.messages.values()].some((m) => m.seq === focusSeq)) {
      model.focusOn(model.chat.key, focusSeq); // shown already: only brought into view
    } else if (!same || focusSeq) {
      this.stopComposing();
      this.flushDraft();
      model.openChat(id, { peer, focusSeq });
      if (focusSeq) this.#loadAround(focusSeq);
      else this.#loadLatest();
      if (model.chat.type === SessionType.GROUP) this.#loadMembers();
    }
    if (model.conversations.has(id)) this.autoMarkRead("open");
  }

  /**
   * Open a conversation at the message `seq` (a search hit): the history around it (the
   * page up to AROUND_NEWER newer messages: getAdvancedHistoryMessageList pages by
   * lastMinSeq, messages before it), the hit brought into view and highlighted.
   */
  openAt(id, seq) {
    if (!this.model.conversations.has(id) || !(Number(seq) > 0)) return;
    this.#open(id, "", Number(seq));
  }

  async #loadAround(seq) {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat) return;
    try {
      const page = await sdk.call("getAdvancedHistoryMessageList", {
        conversationID: chat.id,
        count: HISTORY_PAGE,
        lastMinSeq: seq + AROUND_NEWER + 1,
      });
      model.historyAnswered(chat.key, page, { around: true });
    } catch (error) {
      if (model.chat === chat) model.showError(`Could not load messages: ${asError(error).errMsg}`);
      model.historyFailed(chat.key);
    }
  }

  /** The page after the newest message shown (history opened at a search hit, scrolled down). */
  async loadNewer() {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || !chat.loaded || !chat.hasNewer || chat.loadingNewer) return;
    const from = highestSeq(chat);
    model.newerLoading(chat.key);
    try {
      const page = await sdk.call("getAdvancedHistoryMessageList", {
        conversationID: chat.id,
        count: HISTORY_PAGE,
        lastMinSeq: from + HISTORY_PAGE + 1,
      });
      const list = Array.isArray(page?.messageList) ? page.messageList.filter((m) => m.seq > from) : [];
      model.historyAnswered(chat.key, { ...page, messageList: list }, { newer: true });
    } catch (error) {
      if (model.chat === chat) model.showError(`Could not load newer messages: ${asError(error).errMsg}`);
      model.historyFailed(chat.key, { newer: true });
    }
  }

  /** The newest page of history (on open, and when the conversation moved past what we show). */
  async #loadLatest() {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat) return;
    if (this.#latest.key === chat.key) {
      this.#latest.again = true; // one more round once this one is back
      return;
    }
    this.#latest = { key: chat.key, again: false };
    try {
      const page = await sdk.call("getAdvancedHistoryMessageList", {
        conversationID: chat.id,
        count: HISTORY_PAGE,
        lastMinSeq: 0,
      });
      model.historyAnswered(chat.key, page);
    } catch (error) {
      const { errCode, errMsg } = asError(error);
      const nothingYet = NOT_FOUND_CODES.has(errCode) && !model.conversations.has(chat.id);
      if (!nothingYet && model.chat === chat) model.showError(`Could not load messages: ${errMsg}`);
      model.historyFailed(chat.key, { nothingYet });
    }
    const again = this.#latest.key === chat.key && this.#latest.again;
    if (this.#latest.key === chat.key) this.#latest = { key: 0, again: false };
    const record = model.openRecord;
    if (again && model.chat === chat && record && record.maxSeq > highestSeq(chat)) this.#loadLatest();
  }

  /** The page before the oldest message shown (scrolling up, or to fill the view). */
  async loadOlder() {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || !chat.loaded || chat.isEnd || chat.loadingOlder || chat.minSeq <= 1) return;
    model.olderLoading(chat.key);
    try {
      const page = await sdk.call("getAdvancedHistoryMessageList", {
        conversationID: chat.id,
        count: HISTORY_PAGE,
        lastMinSeq: chat.minSeq,
      });
      model.historyAnswered(chat.key, page, { older: true });
    } catch (error) {
      if (model.chat === chat) model.showError(`Could not load older messages: ${asError(error).errMsg}`);
      model.historyFailed(chat.key, { older: true });
    }
  }

  /** The open conversation's record changed (an event or a list read), or its messages. */
  #onChange(change) {
    const chat = this.model.chat;
    if (change.messages && chat?.type === SessionType.GROUP && chat.loaded) this.#messagesShown(chat);
    if (change.members && chat?.members.loaded) this.#loadPeople(chat.members.list.map((m) => m.userID));
    const record = this.model.openRecord;
    if (!record || !change.conversations?.changed.includes(record)) return;
    // Messages a sync brought in are not announced as new: fetch what we do not show
    // (not while older history shows: they come with the newer pages).
    if (chat.loaded && !chat.hasNewer && record.maxSeq > highestSeq(chat)) this.#loadLatest();
    if ((Number(record.unreadCount) || 0) > 0) this.autoMarkRead("new messages");
  }

  // -- marking read ---------------------------------------------------------------------

  /**
   * Read only what the reader can see: an open chat in a visible page. Opening always
   * asks (the SDK then asks the server, whatever the cache says); later triggers — the
   * page becoming visible, new messages — only when something is unread.
   */
  autoMarkRead(why) {
    const record = this.model.openRecord;
    if (!record || !this.visible()) return;
    if (why !== "open" && !(Number(record.unreadCount) > 0)) return;
    // A mark-unread flag goes only by the user's doing (opening, acting in the chat),
    // never because it arrived, or messages did, while the chat was open (rule 15).
    if (why !== "open" && record.isMarkedUnread) return;
    this.markRead(record.conversationID);
  }

  /** The open chat's "Mark as read". */
  markOpenRead() {
    if (this.model.chat) this.markRead(this.model.chat.id);
  }

  /**
   * Ask the SDK (which asks the server) to mark the conversation read. The badge changes
   * when the SDK reports the committed state; a failure leaves it and shows the error.
   */
  async markRead(id) {
    const { model, sdk } = this;
    if (this.#reading.has(id)) {
      this.#readAgain.add(id);
      return;
    }
    this.#reading.add(id);
    try {
      // The SDK reported the committed state (OnConversationChanged, the total) before
      // answering: the badge has already changed, no list to read again.
      await sdk.call("markConversationMessageAsRead", id);
      model.clearError("mark-read");
    } catch (error) {
      model.showError(`Could not mark as read: ${asError(error).errMsg}`, "mark-read");
    } finally {
      this.#reading.delete(id);
      if (this.#readAgain.delete(id)) {
        const record = model.openRecord;
        if (record?.conversationID === id && this.visible() && record.unreadCount > 0 && !record.isMarkedUnread) {
          this.markRead(id);
        }
      }
    }
  }

  // -- conversation settings (server first: the row changes when the SDK reports it) ----

  /** Mute (OpenIM's recvMsgOpt 2: receive, no notification) or unmute. */
  setMuted(id, muted) {
    const opt = muted ? Constants.RECV_MSG_OPTS.NOT_NOTIFY : Constants.RECV_MSG_OPTS.NORMAL;
    return this.#conversationAction(id, muted ? "Could not mute" : "Could not unmute",
      "setConversationRecvMessageOpt", { conversationID: id, opt });
  }

  setPinned(id, isPinned) {
    return this.#conversationAction(id, isPinned ? "Could not pin" : "Could not unpin",
      "pinConversation", { conversationID: id, isPinned: Boolean(isPinned) });
  }

  /** Mark as unread (a flag, rule 15); the open conversation closes, so it stays unread. */
  async markUnread(id) {
    const done = await this.#conversationAction(id, "Could not mark as unread", "markConversationAsUnread", id);
    if (done && this.model.chat?.id === id) this.close();
    return done;
  }

  /** Hide (OpenIM's "delete chat for me"): marked read, out of the list until a new message. */
  async hide(id) {
    const done = await this.#conversationAction(id, "Could not hide the conversation", "hideConversation", id);
    if (done && this.model.chat?.id === id) this.close();
    return done;
  }

  /** Every conversation read, in one server transaction (muted ones too). */
  markAllRead() {
    return this.#conversationAction("*", "Could not mark all as read", "markAllConversationMessageAsRead");
  }

  /**
   * Ask the SDK for a change to a conversation. Nothing is shown before the server has
   * committed it (rule 4): the SDK reports the new record and total before it answers.
   * A refusal goes to the error banner and leaves the view as it was. True once done.
   */
  async #conversationAction(id, what, method, ...args) {
    const { model, sdk } = this;
    const key = `${method} ${id}`;
    if (this.#acting.has(key)) return false; // the same change is on its way
    this.#acting.add(key);
    try {
      await sdk.call(method, ...args);
      model.clearError("conversation");
      return true;
    } catch (error) {
      model.showError(`${what}: ${asError(error).errMsg}`, "conversation");
      return false;
    } finally {
      this.#acting.delete(key);
    }
  }

  /** Revoke a message of the open chat; it becomes a tombstone when the SDK reports it. */
  async revoke(clientMsgID) {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || !clientMsgID) return false;
    const key = `revokeMessage ${clientMsgID}`;
    if (this.#acting.has(key)) return false;
    this.#acting.add(key);
    try {
      const answer = await sdk.call("revokeMessage", { conversationID: chat.id, clientMsgID });
      // OnNewRecvMessageRevoked has (or will have) replaced it; a tombstone answered is used too.
      const tombstone = answer?.message ?? answer;
      if (tombstone?.clientMsgID === clientMsgID) {
        model.messageRevoked({ conversationID: chat.id, clientMsgID, seq: tombstone.seq }, tombstone);
      }
      model.clearError("revoke");
      return true;
    } catch (error) {
      model.showError(`Could not revoke the message: ${asError(error).errMsg}`, "revoke");
      return false;
    } finally {
      this.#acting.delete(key);
    }
  }

  // -- drafts (local to this device: setConversationDraft, OnConversationChanged) -------

  /** The open chat's input now holds `text`: saved as its draft shortly. */
  draftChanged(text) {
    const chat = this.model.chat;
    if (!chat) return;
    if (this.#draft.id !== chat.id) this.flushDraft();
    this.clearTimer(this.#draft.timer);
    this.#draft = { id: chat.id, text: String(text), timer: this.setTimer(() => this.flushDraft(), DRAFT_DEBOUNCE_MS) };
  }

  /** Save the pending draft now (switching away, closing). */
  flushDraft() {
    const { id, text, timer } = this.#draft;
    if (!timer) return;
    this.clearTimer(timer);
    this.#draft = { id: "", text: "", timer: 0 };
    this.#saveDraft(id, text);
  }

  /** The draft `conversationID` should have ("" none); asked only if it is not that already. */
  async #saveDraft(conversationID, text) {
    const { model, sdk } = this;
    const record = model.conversations.get(conversationID);
    // A chat with no record yet (never sent to) has nowhere to keep a draft.
    if (!record || !sdk.has("setConversationDraft")) return;
    const draftText = text.trim() ? text : "";
    if ((this.#draftAsked.get(conversationID) ?? record.draftText ?? "") === draftText) return;
    this.#draftAsked.set(conversationID, draftText);
    try {
      await sdk.call("setConversationDraft", { conversationID, draftText });
      model.clearError("draft");
    } catch (error) {
      model.showError(`Could not save the draft: ${asError(error).errMsg}`, "draft");
    } finally {
      // Answered: the record says it now (the SDK reports it before answering).
      if (this.#draftAsked.get(conversationID) === draftText) this.#draftAsked.delete(conversationID);
    }
  }

  // -- groups: the member panel -----------------------------------------------------------

  /** Open or close (or, without `open`, toggle) the open group's member panel. */
  toggleMembers(open) {
    const chat = this.model.chat;
    if (!chat || chat.type !== SessionType.GROUP) return;
    const next = open ?? !chat.panelOpen;
    if (next) this.model.readersClosed(chat.key);
    this.model.setPanelOpen(chat.key, next);
    if (next) this.#loadMembers();
  }

  /**
   * Read the open group's members (getGroupMemberList), one question at a time: a call
   * while one is in flight asks once more after it, so the last answer is the newest.
   */
  async #loadMembers() {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || chat.type !== SessionType.GROUP || !chat.groupID) return;
    if (readOnlyReason(model.openRecord)) return; // not a member: there is no list to read
    if (this.#members.key === chat.key) {
      this.#members.again = true;
      return;
    }
    this.#members = { key: chat.key, again: false, askedAt: { key: chat.key, seq: Number(model.openRecord?.maxSeq) || highestSeq(chat) } };
    try {
      const answer = await sdk.call("getGroupMemberList", {
        groupID: chat.groupID, filter: 0, offset: 0, count: GROUP_MAX_MEMBERS,
      });
      model.membersAnswered(chat.key, listOf(answer, "members", "list", "memberList"));
    } catch (error) {
      const { errCode, errMsg } = asError(error);
      if (!NOT_IN_GROUP_CODES.has(errCode) && model.chat === chat && chat.panelOpen) {
        model.showError(`Could not load the members: ${errMsg}`, "members");
      }
      model.membersFailed(chat.key);
    }
    const again = this.#members.key === chat.key && this.#members.again;
    if (this.#members.key === chat.key) this.#members = { ...this.#members, key: 0, again: false };
    if (again && model.chat === chat) this.#loadMembers();
  }

  /** Add the users named in `text` (owner, admins). True once the server has added them. */
  async inviteMembers(text) {
    const userIDList = parseUserIDs(text);
    const bad = userIDList.filter((id) => !USER_ID.test(id));
    if (userIDList.length === 0 || bad.length) {
      this.model.showError(bad.length ? `Not a user ID: ${bad.join(", ")}` : "Enter the user ID of someone to add.");
      return false;
    }
    return this.#groupAction("Could not add", "inviteUserToGroup", (groupID) => ({ groupID, reason: "", userIDList }));
  }

  kickMember(userID) {
    return this.#groupAction("Could not remove", "kickGroupMember", (groupID) => ({ groupID, reason: "", userIDList: [userID] }));
  }

  quitGroup() {
    return this.#groupAction("Could not leave", "quitGroup", (groupID) => groupID);
  }

  dismissGroup() {
    return this.#groupAction("Could not dismiss the group", "dismissGroup", (groupID) => groupID);
  }

  transferOwner(newOwnerUserID) {
    return this.#groupAction("Could not transfer the group", "transferGroupOwner", (groupID) => ({ groupID, newOwnerUserID }));
  }

  setMemberRole(userID, roleLevel) {
    return this.#groupAction("Could not change the role", "setGroupMemberRoleLevel", (groupID) => ({ groupID, userID, roleLevel }));
  }

  /** Rename the open group (owner, admins); the name changes when the record does. */
  renameGroup(name) {
    const groupName = String(name).trim();
    if (!groupName || groupName.length > 64) {
      this.model.showError("A group name has 1–64 characters.");
      return Promise.resolve(false);
    }
    if (groupName === this.model.openRecord?.showName) return Promise.resolve(true);
    return this.#groupAction("Could not rename the group", "setGroupInfo", (groupID) => ({ groupID, groupName }));
  }

  /**
   * Ask the SDK for a change to the open group. Nothing is shown before the server has
   * committed it: the list is read again after the answer, and the notification message
   * and the conversation's record come as events. A refusal goes to the error banner.
   */
  async #groupAction(what, method, argFor) {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || chat.type !== SessionType.GROUP || !chat.groupID) return false;
    try {
      await sdk.call(method, argFor(chat.groupID));
      model.clearError("group");
      if (model.chat === chat) this.#loadMembers();
      return true;
    } catch (error) {
      model.showError(`${what}: ${asError(error).errMsg}`, "group");
      return false;
    }
  }

  // -- groups: "read by N of M" -----------------------------------------------------------

  /** The open group's messages changed: count what is new of mine, re-read the members
   *  after a notification they have not seen. */
  #messagesShown(chat) {
    const me = this.model.me?.userID;
    const receipts = this.#receiptsFor(chat);
    const seqs = [];
    let notice = false;
    for (const message of chat.messages.values()) {
      if (!message.seq) continue;
      if (isNotification(message)) {
        const asked = this.#members.askedAt;
        if (asked.key === chat.key && message.seq > asked.seq) notice = true;
      } else if (message.sendID === me && !receipts.asked.has(message.seq)) {
        seqs.push(message.seq);
      }
    }
    if (notice) this.#loadMembers();
    if (seqs.length) this.#wantReceipts({ seqs });
  }

  /** The receipt bookkeeping of `chat` (started over for each opening). */
  #receiptsFor(chat) {
    if (this.#receipts.key !== chat.key) {
      this.clearTimer(this.#receipts.timer);
      this.#receipts = { key: chat.key, asked: new Set(), wanted: new Set(), timer: 0, readers: false };
    }
    return this.#receipts;
  }

  /** OnRecvGroupReadReceipt: members read up to new positions in a conversation. */
  #groupReceipt(data) {
    const chat = this.model.chat;
    const me = this.model.me?.userID;
    for (const receipt of Array.isArray(data) ? data : [data]) {
      if (!chat || receipt?.conversationID !== chat.id || chat.type !== SessionType.GROUP) continue;
      const upTo = Math.max(0, ...listOf(receipt.readers, "readers")
        .filter((r) => r.userID !== me).map((r) => Number(r.hasReadSeq) || 0));
      if (!upTo) continue;
      // Only my messages at or below the new positions that are not read by all yet.
      const seqs = [];
      for (const message of chat.messages.values()) {
        if (message.sendID !== me || !message.seq || message.seq > upTo || isNotification(message)) continue;
        const held = chat.receipts.get(message.seq);
        if (!held || held.hasReadCount < held.groupMemberCount) seqs.push(message.seq);
      }
      const readers = Boolean(chat.readers && chat.readers.seq <= upTo);
      if (seqs.length || readers) this.#wantReceipts({ seqs, readers });
    }
  }

  /** Note seqs to count (`all`: every message of mine shown); asked together shortly. */
  #wantReceipts({ seqs = [], all = false, readers = false }) {
    const { model } = this;
    const chat = model.chat;
    if (!chat || chat.type !== SessionType.GROUP || !model.me) return;
    const state = this.#receiptsFor(chat);
    if (all) {
      for (const message of chat.messages.values()) {
        if (message.seq && message.sendID === model.me.userID && !isNotification(message)) state.wanted.add(message.seq);
      }
      state.readers ||= Boolean(chat.readers);
    }
    for (const seq of seqs) state.wanted.add(seq);
    state.readers ||= readers;
    if ((state.wanted.size === 0 && !state.readers) || state.timer) return;
    state.timer = this.setTimer(() => {
      state.timer = 0;
      this.#askReceipts(chat);
    }, RECEIPTS_DEBOUNCE_MS);
  }

  /** getGroupMessageReceiptCounts for what is wanted (and the reader list, if it shows). */
  async #askReceipts(chat) {
    const { model, sdk } = this;
    const state = this.#receipts;
    if (model.chat !== chat || state.key !== chat.key) return;
    const seqs = [...state.wanted].sort((a, b) => a - b);
    state.wanted.clear();
    const readers = state.readers;
    state.readers = false;
    for (const seq of seqs) state.asked.add(seq);
    if (readers && chat.readers) this.#loadReaders(chat, chat.readers.seq);
    if (!sdk.has("getGroupMessageReceiptCounts")) return;
    for (let i = 0; i < seqs.length; i += RECEIPT_BATCH) {
      const batch = seqs.slice(i, i + RECEIPT_BATCH);
      try {
        const answer = await sdk.call("getGroupMessageReceiptCounts", { conversationID: chat.id, seqs: batch });
        model.receiptsAnswered(chat.key, listOf(answer, "receipts", "list"));
      } catch (error) {
        // Derived data: a count that failed is asked again at the next receipt or sync.
        for (const seq of batch) state.asked.delete(seq);
        console.warn("Tidemark: receipt counts failed", asError(error).errMsg);
      }
    }
  }

  /** Show who has read my message at `seq` (and who has not yet). */
  openReaders(seq) {
    const chat = this.model.chat;
    if (!chat || chat.type !== SessionType.GROUP || !seq) return;
    this.model.setPanelOpen(chat.key, false);
    this.model.readersOpened(chat.key, seq);
    this.#loadReaders(chat, seq);
  }

  closeReaders() {
    const chat = this.model.chat;
    if (chat) this.model.readersClosed(chat.key);
  }

  async #loadReaders(chat, seq) {
    const { model, sdk } = this;
    const message = [...chat.messages.values()].find((m) => m.seq === seq);
    const ask = (filter) => sdk.call("getGroupMessageReaderList", {
      conversationID: chat.id, clientMsgID: message?.clientMsgID ?? "", seq, filter, offset: 0, count: GROUP_MAX_MEMBERS,
    });
    try {
      const [read, unread] = await Promise.all([ask(0), ask(1)]);
      model.readersAnswered(chat.key, seq, listOf(read, "members", "list"), listOf(unread, "members", "list"));
    } catch (error) {
      if (model.chat === chat) model.showError(`Could not load who has read it: ${asError(error).errMsg}`);
      model.readersFailed(chat.key, seq);
    }
  }

  // -- typing (rule 17: ephemeral, never state) ------------------------------------------

  /** The user is typing in the open chat: say so, at most every TYPING_EVERY_MS. */
  composing() {
    const { model } = this;
    const chat = model.chat;
    const record = model.openRecord;
    if (!chat || !record || readOnlyReason(record) || !this.sdk.has("changeInputStates")) return;
    const now = this.now();
    if (this.#typingSent.id === chat.id && now - this.#typingSent.at < TYPING_EVERY_MS) return;
    if (this.#typingSent.id && this.#typingSent.id !== chat.id) this.stopComposing();
    this.#typingSent = { id: chat.id, at: now };
    this.#sayTyping(chat.id, true);
  }

  /** The user sent, cleared the field, left it or the chat: no longer typing. */
  stopComposing() {
    const { id, at } = this.#typingSent;
    if (!id) return;
    this.#typingSent = { id: "", at: 0 };
    if (this.now() - at < TYPING_TTL_MS) this.#sayTyping(id, false); // else it has gone by itself
  }

  async #sayTyping(conversationID, focus) {
    try {
      await this.sdk.call("changeInputStates", { conversationID, focus });
    } catch (error) {
      // Ephemeral: a lost indicator expires on its own; nothing to report.
      console.debug("Tidemark: changeInputStates failed", asError(error).errMsg);
    }
  }

  /** OnConversationUserInputStatusChanged: someone started or stopped typing. */
  #typingEvent(data) {
    for (const event of Array.isArray(data) ? data : [data]) {
      const { conversationID, userID } = event ?? {};
      if (!conversationID || !userID) continue;
      const focus = Boolean(event.focus);
      const key = `${conversationID} ${userID}`;
      this.clearTimer(this.#typingTimers.get(key));
      this.#typingTimers.delete(key);
      this.model.typingChanged(conversationID, userID, focus);
      if (!focus) continue;
      // Should the "stopped" never come, it still goes (rule 17).
      this.#typingTimers.set(key, this.setTimer(() => {
        this.#typingTimers.delete(key);
        this.model.typingChanged(conversationID, userID, false);
      }, TYPING_SHOWN_MS));
    }
  }

  // -- sending --------------------------------------------------------------------------

  /**
   * Send `text` in the open chat; false if the message could not even be created.
   * `mentions`: the people chosen in the @ picker ({userID, name}); those still named in
   * the text make it an @ message (createTextAtMessage, groups only).
   */
  async send(text, mentions = []) {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || !text) return true;
    const at = chat.type === SessionType.GROUP ? atMentions(text, mentions) : { atUserIDList: [], atUsersInfo: [] };
    let message;
    try {
      message = at.atUserIDList.length
        ? await sdk.call("createTextAtMessage", { text, ...at })
        : await sdk.call("createTextMessage", text);
    } catch (error) {
      model.showError(`Could not create the message: ${asError(error).errMsg}`);
      return false;
    }
    // The draft goes with the send (a pending save must not bring it back).
    if (this.#draft.id === chat.id) {
      this.clearTimer(this.#draft.timer);
      this.#draft = { id: "", text: "", timer: 0 };
    }
    this.#saveDraft(chat.id, "");
    model.messageCreated(chat.key, message);
    await this.#deliver(chat, message);
    // Writing in the chat is reading it: a mark-unread flag goes (rule 15).
    const record = model.openRecord;
    if (model.chat === chat && record?.isMarkedUnread) this.markRead(chat.id);
    return true;
  }

  /**
   * Send files in the open chat (the attach button, a paste, a drop): images (PNG, JPEG,
   * GIF, WebP) as image messages, anything else as file messages, one message each. The
   * pending message shows the upload's progress (OnProgress); a refusal says why.
   * @param {File[]} files
   */
  async sendFiles(files) {
    const { model, sdk } = this;
    const chat = model.chat;
    if (!chat || readOnlyReason(model.openRecord)) return;
    for (const file of files) {
      if (!file) continue;
      let message;
      try {
        message = isImageFile(file)
          ? await sdk.call("createImageMessageByFile", { file })
          : await sdk.call("createFileMessageByFile", { file, fileName: file.name });
      } catch (error) {
        model.showError(uploadErrorText(error, file.name), "upload");
        continue;
      }
      if (model.chat !== chat) return;
      model.messageCreated(chat.key, message, { localFile: file });
      await this.#deliver(chat, message, file.name);
    }
  }

  /** Send a failed message again; the same clientMsgID makes the server keep one copy. */
  async retry(clientMsgID) {
    const chat = this.model.chat;
    const fileName = chat?.messages.get(clientMsgID)?.localFile?.name ?? "";
    const message = chat && this.model.messageRetried(chat.key, clientMsgID);
    if (message) await this.#deliver(chat, message, fileName);
  }

  async #deliver(chat, message, fileName = "") {
    const { model, sdk } = this;
    const target = chat.type === SessionType.GROUP
      ? { recvID: "", groupID: chat.groupID }
      : { recvID: chat.peer, groupID: "" };
    try {
      const sent = await sdk.call("sendMessage", { ...target, message });
      model.messageSent(chat.key, sent);
      if (fileName) model.clearError("upload");
      if (!model.conversations.has(chat.id)) await this.refresh();
      // Writing while older history shows (a search hit): the newest messages come back.
      if (model.chat === chat && chat.hasNewer) this.#loadLatest();
    } catch (error) {
      model.messageFailed(chat.key, message.clientMsgID);
      if (fileName) model.showError(uploadErrorText(error, fileName), "upload");
      else model.showError(`Message not sent: ${asError(error).errMsg}`);
    }
  }

  /** An object URL (blob:) of a file the server keeps (IMSDK.getFileURL, fetched with the token). */
  fileURL(url) {
    return this.sdk.call("getFileURL", { url });
  }

  // -- search ---------------------------------------------------------------------------

  /** The search box now holds `text`: asked shortly after the last keystroke ("" clears). */
  searchChanged(text) {
    this.clearTimer(this.#searchTimer);
    this.#searchTimer = 0;
    const query = String(text).trim();
    if (!query) {
      this.model.searchAsked("", []);
      return;
    }
    this.#searchTimer = this.setTimer(() => {
      this.#searchTimer = 0;
      this.search(query);
    }, SEARCH_DEBOUNCE_MS);
  }

  /** Search every conversation's whole history on the server (searchLocalMessages). */
  async search(query) {
    const { model, sdk } = this;
    const keywords = searchKeywords(query);
    if (keywords.length === 0) {
      model.searchAsked("", []);
      return;
    }
    model.searchAsked(query, keywords);
    try {
      // All the words (match type 1): a second word narrows the results.
      const answer = await sdk.call("searchLocalMessages", {
        keywordList: keywords, keywordListMatchType: 1, pageIndex: 1, count: 50,
      });
      model.searchAnswered(query, answer);
      model.clearError("search");
    } catch (error) {
      model.searchAnswered(query, null, { failed: true });
      model.showError(`Search failed: ${asError(error).errMsg}`, "search");
    }
  }

  // -- people ---------------------------------------------------------------------------

  /** The picker's field now holds `text`: searchUsers shortly after the last keystroke. */
  pickerChanged(text) {
    this.clearTimer(this.#peopleTimer);
    this.#peopleTimer = 0;
    const keyword = String(text).trim().toLowerCase().slice(0, 64);
    this.model.pickerAsked(keyword);
    if (!keyword) return;
    this.#peopleTimer = this.setTimer(() => {
      this.#peopleTimer = 0;
      this.#searchPeople(keyword);
    }, PEOPLE_DEBOUNCE_MS);
  }

  async #searchPeople(keyword) {
    const { model, sdk } = this;
    try {
      const users = await sdk.call("searchUsers", { keyword, count: 20 });
      model.pickerAnswered(keyword, listOf(users, "users"));
      model.clearError("people");
    } catch (error) {
      model.pickerAnswered(keyword, [], { failed: true });
      model.showError(`Could not search people: ${asError(error).errMsg}`, "people");
    }
  }

  /** The public profiles of `userIDs` (avatars in the member panel), each asked once. */
  async #loadPeople(userIDs) {
    const { model, sdk } = this;
    const wanted = [...new Set(userIDs)].filter((id) => id && !this.#peopleAsked.has(id) && !model.people.has(id));
    if (wanted.length === 0 || !sdk.has("getUsersInfo")) return;
    for (const id of wanted) this.#peopleAsked.add(id);
    for (let i = 0; i < wanted.length; i += 100) {
      const batch = wanted.slice(i, i + 100);
      try {
        model.peopleKnown(listOf(await sdk.call("getUsersInfo", batch), "users"));
      } catch (error) {
        for (const id of batch) this.#peopleAsked.delete(id); // asked again next time
        console.warn("Tidemark: getUsersInfo failed", asError(error).errMsg);
      }
    }
  }

  /**
   * Save my profile: the avatar (`file`, uploaded first) and the nickname, in one
   * setSelfInfo. The page shows them when OnSelfInfoUpdated reports them (every device
   * gets it). True once saved.
   * @param {{nickname?: string, file?: File | null, removeAvatar?: boolean}} changes
   */
  async saveProfile({ nickname, file = null, removeAvatar = false }) {
    const { model, sdk } = this;
    const me = model.me;
    if (!me) return false;
    const info = {};
    const name = String(nickname ?? "").trim();
    if (nickname !== undefined && name !== (me.nickname ?? "")) {
      if (!name || name.length > 64) {
        model.showError("A display name has 1–64 characters.", "profile");
        return false;
      }
      info.nickname = name;
    }
    try {
      if (file) {
        if (!isImageFile(file)) {
          model.showError(`“${file.name}” is not a PNG, JPEG, GIF or WebP image.`, "profile");
          return false;
        }
        const uploaded = await sdk.call("uploadFile", { file, name: file.name });
        info.faceURL = uploaded?.url ?? "";
      } else if (removeAvatar) {
        info.faceURL = "";
      }
    } catch (error) {
      model.showError(uploadErrorText(error, file?.name), "profile");
      return false;
    }
    if (Object.keys(info).length === 0) return true;
    try {
      await sdk.call("setSelfInfo", info);
      // OnSelfInfoUpdated has come (or comes); the server's answer settles it either way.
      try {
        model.selfUpdated(await sdk.call("getSelfUserInfo"));
      } catch {
        // the event brings it
      }
      model.clearError("profile");
      return true;
    } catch (error) {
      model.showError(`Could not save the profile: ${asError(error).errMsg}`, "profile");
      return false;
    }
  }
}
