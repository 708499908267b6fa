// window.IMSDK: the page's side of the Tidemark SDK (DESIGN.md section 4), OpenIM-shaped.
//
// Load it as <script type="module" src="/imsdk.js">. window.IMSDK exists as soon as this
// module has run; the SDK itself (Pyodide + the Python SDK in a Web Worker, worker.js)
// boots in the background and every method waits for it.
//
// PUBLIC SURFACE
// Every method returns a Promise resolving to {errCode: 0, errMsg: "", data} or rejecting
// with {errCode, errMsg} (errCode != 0; codes in README.md, plus the SDK's 10xxx).
//   register({userID, password, nickname})          data: {userID, nickname}
//   login({userID, password})                       data: {userID, nickname}, after the first sync
//   logout()                                        data: null
//   getLoginStatus()                                data: 1 logged out, 2 logging in, 3 logged in
//   createGroup({groupName, memberUserIDs})         data: {groupID, conversationID}
//   createTextMessage(text)                         data: a message to give sendMessage
//   sendMessage({recvID | groupID, message})        data: the sent message (seq, serverMsgID, ...)
//   getAllConversationList()                        data: conversations, newest activity first
//   getConversationListSplit({offset, count})       data: a slice of that list
//   getOneConversation({sourceID, sessionType})     data: one conversation (1 single, 3 group)
//   getTotalUnreadMsgCount()                        data: a number
//   markConversationMessageAsRead(conversationID)   data: null, once the server confirmed
//   getAdvancedHistoryMessageList({conversationID, count, lastMinSeq})
//                                                   data: {messageList (oldest first), isEnd, lastMinSeq}
//   on(event, handler) / off(event, handler)        handler({event, errCode, errMsg, data});
//                                                   errCode/errMsg are set for OnConnectFailed,
//                                                   OnSyncServerFailed and OnUserTokenExpired
// Count and list queries wait for the first sync after a login or reload (rule 9).
// Events: OnConnecting OnConnectSuccess OnConnectFailed OnUserTokenExpired
//   OnSyncServerStart OnSyncServerFinish OnSyncServerFailed OnNewConversation
//   OnConversationChanged OnTotalUnreadMessageCountChanged OnRecvNewMessages
//   OnRecvC2CReadReceipt (also as IMSDK.CbEvents.<name>).
//
// TIDEMARK EXTENSIONS
//   IMSDK.ready    a Promise: resolves to {errCode: 0, errMsg: "", data: {loginStatus,
//                  userID, restoreError}} once the SDK has booted and the saved session,
//                  if any, is restored: after a reload the SDK logs back in by itself and
//                  `ready` comes after that first sync (loginStatus 3), or with
//                  loginStatus 1 when there was no session or its token was refused.
//                  restoreError is {errCode, errMsg} if restoring failed, else null.
//                  Rejects {errCode: 10005, errMsg} if the SDK could not boot.
//                  Call login() only after `ready` (a restore in progress is a login).
//   getCachedConversationList()
//                  data: {userID, syncing, totalUnreadCount, conversationList}: what the
//                  IndexedDB cache holds right now, WITHOUT waiting for the first sync.
//                  For painting at once after a reload while `ready` is pending; show it
//                  marked as syncing while `syncing` is true (rule 9). Empty when logged out.
//   getSelfUserInfo()
//                  data: {userID, nickname} of the logged-in user (OpenIM's name; only
//                  these two fields). Rejects 10001 when not logged in.
//
// The session (token) lives in IndexedDB, written by the SDK in the worker (workers have
// no localStorage); layout in idb-store.js.

const WORKER_FAILED = 10005; // the SDK could not boot: assets missing, Pyodide failed

const EVENTS = [
  "OnConnecting",
  "OnConnectSuccess",
  "OnConnectFailed",
  "OnUserTokenExpired",
  "OnSyncServerStart",
  "OnSyncServerFinish",
  "OnSyncServerFailed",
  "OnNewConversation",
  "OnConversationChanged",
  "OnTotalUnreadMessageCountChanged",
  "OnRecvNewMessages",
  "OnRecvC2CReadReceipt",
];
const FAILURE_EVENTS = new Set(["OnConnectFailed", "OnSyncServerFailed", "OnUserTokenExpired"]);

const METHODS = [
  "register",
  "login",
  "logout",
  "getLoginStatus",
  "createGroup",
  "createTextMessage",
  "sendMessage",
  "getAllConversationList",
  "getConversationListSplit",
  "getOneConversation",
  "getTotalUnreadMsgCount",
  "markConversationMessageAsRead",
  "getAdvancedHistoryMessageList",
  "getCachedConversationList",
  "getSelfUserInfo",
];

const handlers = new Map(EVENTS.map((event) => [event, new Set()]));

function dispatch(event, data) {
  let errCode = 0;
  let errMsg = "";
  if (FAILURE_EVENTS.has(event) && typeof data?.errCode === "number") {
    ({ errCode, errMsg } = data);
  }
  for (const handler of [...(handlers.get(event) ?? [])]) {
    try {
      handler({ event, errCode, errMsg, data });
    } catch (error) {
      console.error(`IMSDK ${event} handler failed`, error); // one bad handler must not stop the rest
    }
  }
}

function bootFailure(error) {
  return { errCode: WORKER_FAILED, errMsg: `Tidemark SDK failed to start: ${error?.message ?? error}` };
}

/** Wait for the worker's "up" message (sent after Comlink.expose: earlier calls would be
 *  lost) or its load error. */
function workerUp(worker) {
  return new Promise((resolve, reject) => {
    const onMessage = (event) => {
      if (event.data?.tidemarkWorker !== "up") return;
      worker.removeEventListener("message", onMessage);
      resolve();
    };
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", (event) => reject(new Error(event.message || "worker.js failed to load")), { once: true });
  });
}

async function startWorker() {
  const response = await fetch("/build.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`/build.json: HTTP ${response.status}`);
  const { buildId } = await response.json();
  // Start the worker first: Pyodide's boot is the long pole, Comlink loads meanwhile.
  const worker = new Worker(`/worker.js?build=${encodeURIComponent(buildId)}`, { type: "module" });
  const [Comlink] = await Promise.all([
    import(`/assets/${encodeURIComponent(buildId)}/vendor/comlink.mjs`),
    workerUp(worker),
  ]);
  const remote = Comlink.wrap(worker);
  await remote.setListener(Comlink.proxy(dispatch));
  return remote;
}

const remote = startWorker();

async function invoke(method, arg) {
  let answer;
  try {
    answer = await (await remote).call(method, arg);
  } catch (error) {
    throw bootFailure(error);
  }
  if (answer.errCode !== 0) throw { errCode: answer.errCode, errMsg: answer.errMsg };
  return answer;
}

const IMSDK = {
  CbEvents: Object.fromEntries(EVENTS.map((event) => [event, event])),
  ready: remote
    .then((worker) => worker.ready())
    .catch((error) => {
      throw bootFailure(error);
    }),
  on(event, handler) {
    if (!handlers.has(event) || typeof handler !== "function") {
      return Promise.reject({ errCode: 1002, errMsg: `on(${event}): unknown event or no handler` });
    }
    handlers.get(event).add(handler);
    return Promise.resolve({ errCode: 0, errMsg: "", data: null });
  },
  off(event, handler) {
    handlers.get(event)?.delete(handler);
    return Promise.resolve({ errCode: 0, errMsg: "", data: null });
  },
};
for (const method of METHODS) IMSDK[method] = (arg) => invoke(method, arg);
IMSDK.ready.catch(() => {}); // a page that never awaits `ready` must not log an unhandled rejection

window.IMSDK = IMSDK;
