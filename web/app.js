// Tidemark's page: login, conversation list with unread badges, chat view.
//
// Everything shown comes from window.IMSDK (web/imsdk.js): its answers and its events.
// The page never clears a badge on its own (DESIGN.md rule 4): marking read asks the SDK,
// the SDK asks the server, and the badge changes when the SDK reports the committed state.
// User text is only ever inserted as text (ui/dom.js has no HTML path).

import { $, setText } from "./ui/dom.js";
import { ConversationList, byLatest, sortedIndex } from "./ui/list.js";
import { MessageList, byPosition } from "./ui/chat.js";

const SINGLE = 1;
const GROUP = 3;
const LOGGED_IN = 3;
const LOGGING_IN = 2;
const HISTORY_PAGE = 30;
const USER_ID = /^[a-z0-9][a-z0-9.-]{0,31}$/;
const NOT_FOUND_CODES = new Set([1004, 1301]);
// The page's own note of who is logged in (the SDK keeps the session itself); used to
// tell my messages from others' when the SDK offers no getSelfUserInfo.
const ME_KEY = "tidemark.page.me";

const ui = {
  app: $("app"),
  boot: $("boot-screen"),
  bootText: $("boot-text"),
  login: $("login-screen"),
  loginForm: /** @type {HTMLFormElement} */ ($("login-form")),
  loginError: $("login-error"),
  loginSubmit: /** @type {HTMLButtonElement} */ ($("login-submit")),
  loginToggle: $("login-mode-toggle"),
  loginSwitchText: $("login-switch-text"),
  nicknameField: $("nickname-field"),
  main: $("main-screen"),
  total: $("total-unread"),
  syncStatus: $("sync-status"),
  currentUser: $("current-user"),
  logout: $("logout-button"),
  banner: document.querySelector('[data-testid="error-banner"]'),
  bannerText: $("error-text"),
  bannerDismiss: document.querySelector('[data-testid="error-dismiss"]'),
  list: $("conversation-list"),
  listEmpty: $("conversations-empty"),
  newChat: /** @type {HTMLFormElement} */ ($("new-chat-form")),
  newGroup: /** @type {HTMLFormElement} */ ($("new-group-form")),
  newGroupDetails: /** @type {HTMLDetailsElement} */ ($("new-group")),
  chatEmpty: $("chat-empty"),
  chat: $("chat"),
  chatTitle: $("chat-title"),
  chatSub: $("chat-sub"),
  chatUnread: $("chat-unread"),
  back: $("back-button"),
  markRead: /** @type {HTMLButtonElement} */ ($("mark-read-button")),
  scroller: $("message-scroller"),
  loadOlder: /** @type {HTMLButtonElement} */ ($("load-older")),
  messages: $("message-list"),
  composer: /** @type {HTMLFormElement} */ ($("composer")),
  input: /** @type {HTMLTextAreaElement} */ ($("message-input")),
  send: /** @type {HTMLButtonElement} */ ($("send-button")),
};

const state = {
  /** @type {{userID: string, nickname: string} | null} */
  me: null,
  /** @type {Map<string, object>} conversationID -> the SDK's conversation record */
  conversations: new Map(),
  /** @type {object[]} the same records, sorted byLatest (the list's order) */
  order: [],
  /** Bumped at every sign-out: answers to an earlier session's requests are dropped. */
  session: 0,
  /** @type {Map<string, number>} conversationID -> event tick when an event last set it */
  touched: new Map(),
  total: 0,
  /** Bumped by every conversation / total event, to spot answers overtaken by events. */
  tick: 0,
  totalTick: 0,
  connection: "connecting", // connecting | connected | offline
  /** A connection failed and none has succeeded since: pushes may have been missed. */
  connectionLost: false,
  syncing: false,
  syncFailed: false,
  /** The list was painted from the cache and the first sync has not finished yet. */
  fromCache: false,
  /** @type {Chat | null} */
  chat: null,
  /** conversationIDs with a mark-read in flight / wanted again after it */
  reading: new Set(),
  readAgain: new Set(),
};

/**
 * @typedef {object} Chat
 * @property {string} id conversationID
 * @property {number} type SINGLE or GROUP
 * @property {string} peer the other user's ID (single chats)
 * @property {string} groupID
 * @property {Map<string, object>} messages clientMsgID -> message (with `state`)
 * @property {number} minSeq smallest seq loaded (0: none yet)
 * @property {boolean} isEnd no older messages
 * @property {boolean} loadingOlder
 * @property {boolean} loadingLatest
 * @property {boolean} latestAgain a newer page is wanted once the one loading is back
 * @property {boolean} loaded the first page has arrived
 */

const conversationList = new ConversationList(ui.list, (id) => openConversation(id));
const messageList = new MessageList(ui.messages, (clientMsgID) => retrySend(clientMsgID));

// -- the SDK ----------------------------------------------------------------------------

/** @returns {any} */
function sdk() {
  return /** @type {any} */ (window).IMSDK;
}

/** Call an IMSDK method; resolves to its `data`, rejects with {errCode, errMsg}. */
async function call(method, ...args) {
  try {
    const answer = await sdk()[method](...args);
    return answer && typeof answer === "object" && "errCode" in answer ? answer.data : answer;
  } catch (error) {
    throw asError(error);
  }
}

/** Whatever was thrown, as {errCode, errMsg}. */
function asError(error) {
  if (error && typeof error === "object" && "errCode" in error) {
    return { errCode: error.errCode, errMsg: String(error.errMsg || error.message || "failed") };
  }
  return { errCode: -1, errMsg: String(error?.message ?? error ?? "failed") };
}

/** An event's payload: OpenIM passes {errCode, errMsg, data}; accept the bare value too. */
function payload(arg) {
  if (arg && typeof arg === "object" && "data" in arg && "errCode" in arg) return arg.data;
  return arg;
}

async function waitForSdk() {
  for (let i = 0; !sdk(); i++) {
    if (i > 200) throw { errCode: -1, errMsg: "imsdk.js did not load" };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function listen() {
  const on = (event, handler) => sdk().on(event, (arg) => handler(payload(arg)));
  on("OnConnecting", () => setConnection("connecting"));
  on("OnConnectSuccess", () => {
    state.syncFailed = false;
    state.connectionLost = false;
    setConnection("connected");
  });
  on("OnConnectFailed", () => {
    // Stays "offline" through the reconnect attempts, until one succeeds.
    state.connectionLost = true;
    setConnection("offline");
  });
  on("OnSyncServerStart", () => {
    state.syncing = true;
    renderStatus();
  });
  on("OnSyncServerFinish", () => {
    state.syncing = false;
    state.syncFailed = false;
    state.fromCache = false;
    renderStatus();
    // A snapshot may have dropped conversations (new epoch): events only name the ones
    // that exist, so take the whole list again.
    if (state.me) refreshAll({ drop: true, again: true });
  });
  on("OnSyncServerFailed", () => {
    state.syncing = false;
    state.syncFailed = true;
    renderStatus();
  });
  on("OnNewConversation", (list) => applyConversations(list));
  on("OnConversationChanged", (list) => applyConversations(list));
  on("OnTotalUnreadMessageCountChanged", (total) => {
    state.totalTick = ++state.tick;
    setTotal(Number(total) || 0);
  });
  on("OnRecvNewMessages", (messages) => receiveMessages(messages));
  on("OnRecvC2CReadReceipt", () => renderChat());
  on("OnUserTokenExpired", () => {
    sessionRefused = true;
    if (state.me) signedOut(SESSION_EXPIRED);
  });
}

/** Set once the SDK has answered the login status, i.e. the first sync has ended. */
let bootDone = false;
/** The server refused our token (OnUserTokenExpired), possibly while restoring. */
let sessionRefused = false;
const SESSION_EXPIRED = "Your session has expired. Please log in again.";

// -- boot -------------------------------------------------------------------------------

async function boot() {
  const slow = setTimeout(() => setText(ui.bootText, "Starting the client…"), 1500);
  try {
    await waitForSdk();
    listen();
    // The cached list can be painted while the SDK restores the session and syncs
    // (rule 9: marked as syncing until the sync has finished).
    paintCachedList();
    const readyAnswer = payload(await sdk().ready);
    let status = await call("getLoginStatus");
    while (status === LOGGING_IN) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await call("getLoginStatus");
    }
    clearTimeout(slow);
    if (status === LOGGED_IN) {
      await enter(await whoAmI(readyAnswer?.userID));
    } else {
      // No session, or the server refused the saved one (then say so).
      const failed = readyAnswer?.restoreError;
      const message = failed
        ? `Please log in again (${failed.errMsg}).`
        : sessionRefused ? SESSION_EXPIRED : "";
      if (state.me) signedOut(message); // a cached list was painted: take it down
      else showLogin(message);
    }
  } catch (error) {
    clearTimeout(slow);
    const { errMsg } = asError(error);
    setText(ui.bootText, "Tidemark could not start.");
    ui.app.dataset.view = "failed";
    showError(`Could not start: ${errMsg}`);
  }
}

/**
 * The cache's list before the first sync (imsdk.js's getCachedConversationList), painted
 * at once after a reload and marked as syncing until the SDK says the sync has finished.
 */
async function paintCachedList() {
  if (typeof sdk().getCachedConversationList !== "function") return;
  try {
    const cached = await call("getCachedConversationList");
    const list = cached?.conversationList;
    if (state.me || !cached?.userID || !Array.isArray(list) || list.length === 0) return;
    const known = storedMe();
    state.me = known?.userID === cached.userID ? known : { userID: cached.userID, nickname: cached.userID };
    // Until the SDK says the first sync has ended (event or ready), this is the cache.
    state.fromCache = Boolean(cached.syncing) && !bootDone;
    setConversations(new Map(list.map((record) => [record.conversationID, record])));
    setTotal(Number(cached.totalUnreadCount) || 0);
    showMain();
  } catch {
    // Nothing cached to show: the page waits for the sync.
  }
}

async function whoAmI(restoredUserID) {
  try {
    const self = await call("getSelfUserInfo");
    if (self?.userID) return { userID: self.userID, nickname: self.nickname || self.userID };
  } catch {
    // an SDK without getSelfUserInfo: fall back to what ready said, or the page's note
  }
  const known = storedMe();
  if (restoredUserID && known?.userID !== restoredUserID) {
    return { userID: restoredUserID, nickname: restoredUserID };
  }
  return known ?? { userID: restoredUserID || "", nickname: restoredUserID || "" };
}

function storedMe() {
  try {
    const me = JSON.parse(localStorage.getItem(ME_KEY) ?? "null");
    return me?.userID ? me : null;
  } catch {
    return null;
  }
}

/** Logged in (or restored): show the server's truth on the main screen. */
async function enter(me) {
  bootDone = true;
  sessionRefused = false;
  state.me = me;
  localStorage.setItem(ME_KEY, JSON.stringify(me));
  // Take the synced list before dropping the "syncing" mark of a cached paint, so the
  // page never says "up to date" over cached counts.
  await refreshAll({ drop: true });
  state.fromCache = false; // logged in: the first sync has ended (rule 9)
  showMain();
}

function showMain() {
  ui.boot.hidden = true;
  ui.login.hidden = true;
  ui.main.hidden = false;
  ui.app.dataset.view = "main";
  const me = state.me;
  if (me) setText(ui.currentUser, me.nickname && me.nickname !== me.userID ? `${me.nickname} (${me.userID})` : me.userID);
  renderList();
  renderStatus();
}

// -- login ------------------------------------------------------------------------------

let signUpMode = false;

function showLogin(message = "") {
  ui.boot.hidden = true;
  ui.main.hidden = true;
  ui.login.hidden = false;
  ui.app.dataset.view = "login";
  document.title = "Tidemark";
  setLoginError(message);
  ui.loginForm.elements.namedItem("userID").focus();
}

function setLoginMode(signUp) {
  signUpMode = signUp;
  ui.nicknameField.hidden = !signUp;
  setText(ui.loginSubmit, signUp ? "Create account" : "Log in");
  setText(ui.loginSwitchText, signUp ? "Have an account?" : "New here?");
  setText(ui.loginToggle, signUp ? "Log in instead" : "Create an account");
  ui.loginForm.elements.namedItem("password").autocomplete = signUp ? "new-password" : "current-password";
  setLoginError("");
}

function setLoginError(message) {
  setText(ui.loginError, message);
  ui.loginError.hidden = !message;
}

async function submitLogin(event) {
  event.preventDefault();
  const form = ui.loginForm.elements;
  const userID = form.namedItem("userID").value.trim().toLowerCase();
  const password = form.namedItem("password").value;
  const nickname = form.namedItem("nickname").value.trim() || userID;
  if (!USER_ID.test(userID)) {
    setLoginError("User IDs are 1–32 characters: a–z, 0–9, dot and dash.");
    return;
  }
  if (password.length < 8) {
    setLoginError("Passwords have at least 8 characters.");
    return;
  }
  setLoginError("");
  ui.loginSubmit.disabled = true;
  setText(ui.loginSubmit, signUpMode ? "Creating account…" : "Logging in…");
  try {
    if (signUpMode) await call("register", { userID, password, nickname });
    const answer = await call("login", { userID, password });
    form.namedItem("password").value = "";
    await enter({ userID: answer?.userID || userID, nickname: answer?.nickname || nickname });
  } catch (error) {
    setLoginError(asError(error).errMsg);
  } finally {
    ui.loginSubmit.disabled = false;
    setText(ui.loginSubmit, signUpMode ? "Create account" : "Log in");
  }
}

async function logout() {
  try {
    await call("logout");
  } catch (error) {
    showError(`Log out failed: ${asError(error).errMsg}`);
  }
  signedOut("");
}

function signedOut(message) {
  localStorage.removeItem(ME_KEY);
  state.me = null;
  state.session++;
  setConversations(new Map());
  state.touched.clear();
  state.fromCache = false;
  state.connection = "connecting";
  state.connectionLost = false;
  state.syncFailed = false;
  closeConversation();
  setTotal(0);
  renderList();
  showLogin(message);
}

// -- conversations and counts -----------------------------------------------------------

/** Conversation records from an event (absolute state: the higher version wins). */
function applyConversations(list) {
  if (!Array.isArray(list) || !state.me) return;
  const tick = ++state.tick;
  const changed = [];
  for (const record of list) {
    const known = state.conversations.get(record.conversationID);
    if (known && (Number(known.version) || 0) > (Number(record.version) || 0)) continue;
    changed.push(record);
    state.touched.set(record.conversationID, tick);
  }
  if (changed.length === 0) return;
  putConversations(changed);
  renderList();
  const open = state.chat && state.conversations.get(state.chat.id);
  if (open) onOpenConversationChanged(open);
}

/** Store records (each replacing the one with its ID) and keep the order sorted. */
function putConversations(records) {
  if (records.length > 64) {
    // Many at once (a slice of a snapshot): sort the batch, then merge it into the rest
    // in one pass, instead of placing each or sorting everything again.
    const batch = new Map(records.map((record) => [record.conversationID, record]));
    const replaced = new Set();
    for (const [id, record] of batch) {
      const known = state.conversations.get(id);
      if (known) replaced.add(known);
      state.conversations.set(id, record);
    }
    const kept = replaced.size ? state.order.filter((record) => !replaced.has(record)) : state.order;
    state.order = mergeSorted(kept, [...batch.values()].sort(byLatest));
    return;
  }
  const order = state.order;
  for (const record of records) {
    const known = state.conversations.get(record.conversationID);
    if (known) {
      let at = sortedIndex(order, known);
      if (order[at] !== known) at = order.indexOf(known); // never expected; stay correct
      if (at >= 0) order.splice(at, 1);
    }
    order.splice(sortedIndex(order, record), 0, record);
    state.conversations.set(record.conversationID, record);
  }
}

/** Two arrays sorted byLatest, merged into one. */
function mergeSorted(a, b) {
  const merged = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) merged[k++] = byLatest(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) merged[k++] = a[i++];
  while (j < b.length) merged[k++] = b[j++];
  return merged;
}

/** Replace the whole model. */
function setConversations(conversations) {
  state.conversations = conversations;
  state.order = [...conversations.values()].sort(byLatest);
}

/** Same record as far as anyone can see (the SDK bumps `version` on every change). */
function sameRecord(a, b) {
  return (
    a.version === b.version &&
    a.unreadCount === b.unreadCount &&
    a.hasReadSeq === b.hasReadSeq &&
    a.maxSeq === b.maxSeq &&
    a.latestMsgSendTime === b.latestMsgSendTime &&
    a.showName === b.showName &&
    a.peerHasReadSeq === b.peerHasReadSeq &&
    a.latestMsg?.clientMsgID === b.latestMsg?.clientMsgID
  );
}

/** The refresh in flight (one at a time) and whether another must follow it. */
let refreshing = null;
let refreshingSession = -1;
let refreshingDrop = false;
let refreshAgain = false;
let refreshDrop = false;

/**
 * Take the SDK's whole list and total, and keep what differs from the model. Only
 * needed where events cannot tell: after a sync (a snapshot may have dropped
 * conversations: `drop`), and to see a conversation no event has brought yet. A call
 * while one is in flight joins it, and one more read follows that one if the call asks
 * for what it may miss: `again` (a sync has finished since it started), a drop it does
 * not do, or another session's.
 */
function refreshAll({ drop = false, again = false } = {}) {
  refreshDrop ||= drop;
  if (refreshing) {
    refreshAgain ||= again || refreshingSession !== state.session || (drop && !refreshingDrop);
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        refreshAgain = false;
        const dropNow = refreshDrop;
        refreshDrop = false;
        refreshingSession = state.session;
        refreshingDrop = dropNow;
        await refreshOnce(dropNow);
      } while (refreshAgain && state.me);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * One full read, merged into the model. Records an event brought in while the answer
 * was on its way are newer than the answer and stay; records equal to the model's keep
 * the model's object, so their rows are not touched.
 */
async function refreshOnce(drop) {
  const started = state.tick;
  const session = state.session;
  try {
    const [list, total] = await Promise.all([
      call("getAllConversationList"),
      call("getTotalUnreadMsgCount"),
    ]);
    if (!state.me || state.session !== session) return;
    let changed = false;
    const fresh = new Map();
    for (const answered of list) {
      const id = answered.conversationID;
      const known = state.conversations.get(id);
      if (!known) {
        changed = true;
        fresh.set(id, answered);
      } else if ((state.touched.get(id) ?? 0) > started
        && (Number(known.version) || 0) > (Number(answered.version) || 0)) {
        fresh.set(id, known); // an event overtook the answer
      } else if (sameRecord(known, answered)) {
        fresh.set(id, known);
      } else {
        changed = true;
        fresh.set(id, answered);
      }
    }
    for (const [id, record] of state.conversations) {
      if (fresh.has(id)) continue;
      if (!drop || (state.touched.get(id) ?? 0) > started) fresh.set(id, record);
      else changed = true; // gone from the SDK's list
    }
    if (changed) setConversations(fresh);
    if (state.totalTick <= started) setTotal(Number(total) || 0);
    if (changed) renderList();
    const open = state.chat && state.conversations.get(state.chat.id);
    if (open) onOpenConversationChanged(open);
  } catch (error) {
    if (state.session === session) showError(`Could not load conversations: ${asError(error).errMsg}`);
  }
}

function setTotal(total) {
  state.total = total;
  setText(ui.total, String(total));
  ui.total.classList.toggle("count--zero", total === 0);
  document.title = total > 0 ? `(${total}) Tidemark` : "Tidemark";
}

function renderList() {
  conversationList.render(state.order, {
    openID: state.chat?.id ?? null,
    myUserID: state.me?.userID ?? "",
    syncing: state.fromCache,
  });
  ui.listEmpty.hidden = state.order.length > 0;
  renderChatHeader();
}

function setConnection(connection) {
  state.connection = connection;
  renderStatus();
}

function renderStatus() {
  let key;
  let text;
  if (state.syncing || state.fromCache) [key, text] = ["syncing", "syncing"];
  else if (state.syncFailed || state.connection === "offline" || state.connectionLost) {
    [key, text] = ["offline", "offline — not up to date"];
  } else if (state.connection === "connecting") [key, text] = ["connecting", "connecting"];
  else [key, text] = ["up-to-date", "up to date"];
  ui.syncStatus.dataset.state = key;
  ui.total.classList.toggle("count--stale", key === "syncing" && state.fromCache);
  setText(ui.syncStatus, text);
}

// -- the open chat ----------------------------------------------------------------------

function conversationIDFor(type, sourceID) {
  if (type === GROUP) return `sg_${sourceID}`;
  return `si_${[state.me.userID, sourceID].sort().join("_")}`;
}

/** Open a conversation from the list (or a new single chat: `draft` with the peer). */
function openConversation(id, draft = null) {
  const record = state.conversations.get(id);
  if (!record && !draft) return;
  if (state.chat?.id !== id) {
    state.chat = {
      id,
      type: record?.conversationType ?? SINGLE,
      peer: record?.userID || draft?.peer || "",
      groupID: record?.groupID || "",
      messages: new Map(),
      minSeq: 0,
      isEnd: false,
      loadingOlder: false,
      loadingLatest: false,
      latestAgain: false,
      loaded: false,
    };
    messageList.clear();
    ui.input.value = "";
    loadLatest(state.chat, { scroll: "bottom" });
  }
  ui.main.dataset.screen = "chat";
  ui.chatEmpty.hidden = true;
  ui.chat.hidden = false;
  renderList();
  renderChat();
  if (!window.matchMedia("(pointer: coarse)").matches) ui.input.focus({ preventScroll: true });
  if (record) autoMarkRead("open");
}

function closeConversation() {
  state.chat = null;
  messageList.clear();
  ui.main.dataset.screen = "list";
  ui.chat.hidden = true;
  ui.chatEmpty.hidden = false;
  renderList();
}

function renderChatHeader() {
  const chat = state.chat;
  if (!chat) return;
  const record = state.conversations.get(chat.id);
  const name = record?.showName || chat.peer || chat.groupID || chat.id;
  setText(ui.chatTitle, name);
  setText(ui.chatSub, chat.type === GROUP ? "Group" : `@${record?.userID || chat.peer}`);
  const unread = Number(record?.unreadCount) || 0;
  setText(ui.chatUnread, `${unread} unread`);
  ui.chatUnread.hidden = unread === 0;
  ui.markRead.disabled = !record;
}

function renderChat() {
  const chat = state.chat;
  if (!chat) return;
  renderChatHeader();
  const record = state.conversations.get(chat.id);
  const messages = [...chat.messages.values()].sort(byPosition);
  const atBottom = nearBottom();
  messageList.render(messages, {
    myUserID: state.me?.userID ?? "",
    group: chat.type === GROUP,
    peerHasReadSeq: Number(record?.peerHasReadSeq) || 0,
  });
  ui.loadOlder.hidden = !chat.loaded || chat.isEnd || chat.minSeq <= 1;
  ui.messages.dataset.loaded = String(chat.loaded);
  if (atBottom) scrollToBottom();
}

function nearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

/** Merge messages into the open chat; a sent copy replaces the sending one. */
function mergeMessages(chat, messages, messageState = "sent") {
  for (const message of messages) {
    const known = chat.messages.get(message.clientMsgID);
    if (known?.seq && !message.seq) continue;
    chat.messages.set(message.clientMsgID, { ...message, state: message.seq ? "sent" : messageState });
  }
}

/** The newest page of history (on open, and when the conversation moved past what we show). */
async function loadLatest(chat, { scroll = "keep" } = {}) {
  if (chat.loadingLatest) {
    chat.latestAgain = true; // one more round once this one is back
    return;
  }
  chat.loadingLatest = true;
  try {
    const page = await call("getAdvancedHistoryMessageList", {
      conversationID: chat.id,
      count: HISTORY_PAGE,
      lastMinSeq: 0,
    });
    if (state.chat !== chat) return;
    const list = page?.messageList ?? [];
    const shown = highestSeq(chat);
    if (!chat.loaded || (list.length && shown && list[0].seq > shown + 1)) {
      // First page, or more arrived than one page holds: start over from this page,
      // so the history shown never has a hole (unsent messages stay).
      for (const [id, message] of chat.messages) if (message.seq) chat.messages.delete(id);
      chat.minSeq = list.length ? list[0].seq : 0;
      chat.isEnd = Boolean(page?.isEnd) || list.length === 0;
    }
    mergeMessages(chat, list);
  } catch (error) {
    if (state.chat !== chat) return;
    const { errCode, errMsg } = asError(error);
    if (NOT_FOUND_CODES.has(errCode) && !state.conversations.has(chat.id)) {
      chat.isEnd = true; // a new chat: nothing to load yet
    } else {
      showError(`Could not load messages: ${errMsg}`);
    }
  } finally {
    chat.loadingLatest = false;
  }
  if (state.chat !== chat) return;
  chat.loaded = true;
  const wasAtBottom = nearBottom();
  renderChat();
  if (scroll === "bottom" || wasAtBottom) scrollToBottom();
  if (chat.latestAgain) {
    chat.latestAgain = false;
    const record = state.conversations.get(chat.id);
    if (record && record.maxSeq > highestSeq(chat)) loadLatest(chat);
  }
  fillViewport(chat);
}

function highestSeq(chat) {
  let highest = 0;
  for (const message of chat.messages.values()) highest = Math.max(highest, message.seq || 0);
  return highest;
}

/** Load older pages until the list can scroll (so scrolling up can load more). */
function fillViewport(chat) {
  if (state.chat === chat && !chat.isEnd && ui.scroller.scrollHeight <= ui.scroller.clientHeight) {
    loadOlder();
  }
}

async function loadOlder() {
  const chat = state.chat;
  if (!chat || !chat.loaded || chat.isEnd || chat.loadingOlder || chat.minSeq <= 1) return;
  chat.loadingOlder = true;
  ui.loadOlder.disabled = true;
  setText(ui.loadOlder, "Loading…");
  try {
    const page = await call("getAdvancedHistoryMessageList", {
      conversationID: chat.id,
      count: HISTORY_PAGE,
      lastMinSeq: chat.minSeq,
    });
    if (state.chat !== chat) return;
    const list = page?.messageList ?? [];
    const before = ui.scroller.scrollHeight;
    const top = ui.scroller.scrollTop;
    mergeMessages(chat, list);
    chat.minSeq = list.length ? Math.min(chat.minSeq, list[0].seq) : chat.minSeq;
    chat.isEnd = Boolean(page?.isEnd) || list.length === 0;
    renderChat();
    // Keep the message the reader was looking at where it was.
    ui.scroller.scrollTop = top + (ui.scroller.scrollHeight - before);
  } catch (error) {
    showError(`Could not load older messages: ${asError(error).errMsg}`);
  } finally {
    chat.loadingOlder = false;
    ui.loadOlder.disabled = false;
    setText(ui.loadOlder, "Load older messages");
  }
  fillViewport(chat);
}

/** The SDK reported a new state of the open conversation. */
function onOpenConversationChanged(record) {
  const chat = state.chat;
  if (!chat) return;
  chat.type = record.conversationType;
  chat.peer = record.userID || chat.peer;
  chat.groupID = record.groupID || chat.groupID;
  // Messages a sync brought in are not announced as new: fetch what we do not show.
  if (chat.loaded && record.maxSeq > highestSeq(chat)) loadLatest(chat);
  renderChat();
  if ((Number(record.unreadCount) || 0) > 0) autoMarkRead("new messages");
}

function receiveMessages(messages) {
  const chat = state.chat;
  if (!chat || !Array.isArray(messages)) return;
  const mine = messages.filter((m) => m.conversationID === chat.id);
  if (mine.length === 0) return;
  mergeMessages(chat, mine);
  renderChat();
}

// -- marking read -----------------------------------------------------------------------

/**
 * Read only what the reader can see: an open chat in a visible page. Opening always asks
 * (the SDK then asks the server, whatever the cache says); later triggers — the page
 * becoming visible, new messages — only when something is unread.
 */
function autoMarkRead(why) {
  if (!state.chat || document.visibilityState !== "visible") return;
  const record = state.conversations.get(state.chat.id);
  if (!record) return;
  if (why !== "open" && !(Number(record.unreadCount) > 0)) return;
  markRead(state.chat.id);
}

/**
 * Ask the SDK (which asks the server) to mark the conversation read. The badge changes
 * when the SDK reports the committed state; a failure leaves it and shows the error.
 */
async function markRead(id) {
  if (state.reading.has(id)) {
    state.readAgain.add(id);
    return;
  }
  state.reading.add(id);
  try {
    // The SDK reported the committed state (OnConversationChanged, the total) before
    // answering: the badge has already changed, no list to read again.
    await call("markConversationMessageAsRead", id);
    clearError("mark-read");
  } catch (error) {
    showError(`Could not mark as read: ${asError(error).errMsg}`, "mark-read");
  } finally {
    state.reading.delete(id);
    if (state.readAgain.delete(id)) {
      const record = state.conversations.get(id);
      if (state.chat?.id === id && document.visibilityState === "visible" && record?.unreadCount > 0) {
        markRead(id);
      }
    }
  }
}

// -- sending ----------------------------------------------------------------------------

async function submitMessage(event) {
  event.preventDefault();
  const chat = state.chat;
  const text = ui.input.value.trim();
  if (!chat || !text) return;
  ui.input.value = "";
  autosize();
  let message;
  try {
    message = await call("createTextMessage", text);
  } catch (error) {
    ui.input.value = text;
    showError(`Could not create the message: ${asError(error).errMsg}`);
    return;
  }
  chat.messages.set(message.clientMsgID, { ...message, state: "sending" });
  renderChat();
  scrollToBottom();
  await deliver(chat, message);
}

async function deliver(chat, message) {
  const target = chat.type === GROUP ? { recvID: "", groupID: chat.groupID } : { recvID: chat.peer, groupID: "" };
  try {
    const sent = await call("sendMessage", { ...target, message });
    mergeMessages(chat, [sent]);
    if (!state.conversations.has(chat.id)) await refreshAll();
  } catch (error) {
    const known = chat.messages.get(message.clientMsgID);
    if (known && !known.seq) chat.messages.set(message.clientMsgID, { ...known, state: "failed" });
    showError(`Message not sent: ${asError(error).errMsg}`);
  }
  if (state.chat === chat) {
    renderChat();
    scrollToBottom();
  }
}

/** Send a failed message again; the same clientMsgID makes the server keep one copy. */
async function retrySend(clientMsgID) {
  const chat = state.chat;
  const known = chat?.messages.get(clientMsgID);
  if (!chat || !known || known.state !== "failed") return;
  const { state: _state, ...message } = known;
  chat.messages.set(clientMsgID, { ...known, state: "sending" });
  renderChat();
  await deliver(chat, message);
}

function autosize() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`;
}

// -- starting chats ---------------------------------------------------------------------

async function submitNewChat(event) {
  event.preventDefault();
  const field = ui.newChat.elements.namedItem("userID");
  const peer = field.value.trim().toLowerCase();
  if (!USER_ID.test(peer)) {
    showError("User IDs are 1–32 characters: a–z, 0–9, dot and dash.");
    return;
  }
  if (peer === state.me?.userID) {
    showError("That is you: enter someone else's user ID.");
    return;
  }
  field.value = "";
  const id = conversationIDFor(SINGLE, peer);
  openConversation(id, state.conversations.has(id) ? null : { peer });
}

async function submitNewGroup(event) {
  event.preventDefault();
  const form = ui.newGroup.elements;
  const groupName = form.namedItem("groupName").value.trim();
  const memberUserIDs = [
    ...new Set(form.namedItem("members").value.split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean)),
  ].filter((id) => id !== state.me?.userID);
  const bad = memberUserIDs.filter((id) => !USER_ID.test(id));
  if (!groupName || memberUserIDs.length === 0 || bad.length) {
    showError(bad.length ? `Not a user ID: ${bad.join(", ")}` : "A group needs a name and at least one member.");
    return;
  }
  const button = ui.newGroup.querySelector("button");
  button.disabled = true;
  try {
    const { conversationID } = await call("createGroup", { groupName, memberUserIDs });
    ui.newGroup.reset();
    ui.newGroupDetails.open = false;
    if (!state.conversations.has(conversationID)) await refreshAll();
    openConversation(conversationID);
  } catch (error) {
    showError(`Could not create the group: ${asError(error).errMsg}`);
  } finally {
    button.disabled = false;
  }
}

// -- errors -----------------------------------------------------------------------------

let errorSource = "";

function showError(message, source = "") {
  errorSource = source;
  setText(ui.bannerText, message);
  ui.banner.hidden = false;
}

/** Hide the banner if it still shows an error from `source` (which has now succeeded). */
function clearError(source) {
  if (!ui.banner.hidden && errorSource === source) ui.banner.hidden = true;
}

// -- wiring -----------------------------------------------------------------------------

ui.loginForm.addEventListener("submit", submitLogin);
ui.loginToggle.addEventListener("click", () => setLoginMode(!signUpMode));
ui.logout.addEventListener("click", logout);
ui.bannerDismiss.addEventListener("click", () => {
  ui.banner.hidden = true;
});
ui.newChat.addEventListener("submit", submitNewChat);
ui.newGroup.addEventListener("submit", submitNewGroup);
ui.back.addEventListener("click", closeConversation);
ui.markRead.addEventListener("click", () => state.chat && markRead(state.chat.id));
ui.loadOlder.addEventListener("click", loadOlder);
ui.scroller.addEventListener("scroll", () => {
  if (ui.scroller.scrollTop < 60) loadOlder();
}, { passive: true });
ui.composer.addEventListener("submit", submitMessage);
ui.input.addEventListener("input", autosize);
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.chat && document.activeElement !== ui.input) closeConversation();
});
document.addEventListener("visibilitychange", () => autoMarkRead("visible"));

boot();
