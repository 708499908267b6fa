// window.IMSDK: the page's side of the Tidemark SDK (DESIGN.md section 4), OpenIM-shaped.
//
// Load it as <script type="module" src="/imsdk.js">. window.IMSDK exists as soon as this
// module has run; the SDK itself (Pyodide + the Python SDK in a Web Worker, worker.js)
// boots in the background and every method waits for it.
//
// PUBLIC SURFACE
// Every method returns a Promise resolving to {errCode: 0, errMsg: "", data} or rejecting
// with {errCode, errMsg} (errCode != 0; every code is in protocol.js's ErrorCode).
//   register({userID, password, nickname})          data: {userID, nickname}
//   login({userID, password})                       data: {userID, nickname}, after the first sync
//                                                   (see "login before boot" below)
//   logout()                                        data: null
//   getLoginStatus()                                data: 1 logged out, 2 logging in, 3 logged in
//   createTextMessage(text)                         data: a message to give sendMessage
//   sendMessage({recvID | groupID, message})        data: the sent message (seq, serverMsgID, ...)
//   getAllConversationList()                        data: conversations: hidden ones left out,
//                                                   pinned first, then newest activity first
//                                                   (the later of latestMsgSendTime and
//                                                   draftTextTime), then by conversationID
//   getConversationListSplit({offset, count})       data: a slice of that list
//   getOneConversation({sourceID, sessionType})     data: one conversation (1 single, 3 group),
//                                                   a hidden one too
//   getTotalUnreadMsgCount()                        data: a number: the sum over conversations
//                                                   of 0 if muted (recvMsgOpt 2), else
//                                                   unreadCount, else 1 if isMarkedUnread
//   markConversationMessageAsRead(conversationID)   data: null, once the server confirmed; it
//                                                   also clears isMarkedUnread, unless the flag
//                                                   was set after the record this tab holds
//                                                   (another device, not seen here yet)
//   getAdvancedHistoryMessageList({conversationID, count, lastMinSeq})
//                                                   data: {messageList (oldest first), isEnd, lastMinSeq}
//   on(event, handler) / off(event, handler)        handler({event, errCode, errMsg, data});
//                                                   errCode/errMsg are set for OnConnectFailed,
//                                                   OnSyncServerFailed and OnUserTokenExpired
// Count and list queries wait for the first sync after a login or reload (rule 9).
// Events: OnConnecting OnConnectSuccess OnConnectFailed OnUserTokenExpired
//   OnSyncServerStart OnSyncServerFinish OnSyncServerFailed OnNewConversation
//   OnConversationChanged OnTotalUnreadMessageCountChanged OnRecvNewMessages
//   OnNewRecvMessageRevoked OnRecvC2CReadReceipt OnRecvGroupReadReceipt
//   OnConversationUserInputStatusChanged OnProgress OnSelfInfoUpdated
//   (also as IMSDK.CbEvents.<name>; the list is protocol.js's SdkEvent).
// OnTotalUnreadMessageCountChanged fires only when the number changes (a message in a
// muted conversation, or muting a conversation with nothing unread, fires none).
//
// CONVERSATION SETTINGS (issue 11; each data null once the server has committed it and
// the SDK has stored the answer and emitted OnConversationChanged, and
// OnTotalUnreadMessageCountChanged if the total moved; the same events reach the user's
// other devices and tabs). Conversation records carry, besides the fields above:
//   recvMsgOpt (0 normal, 2 muted), isPinned, groupAtType (0 none, 1 @me, 2 @all, 3 both,
//   among the unread mentions), mentionCount (unread messages mentioning me or everyone),
//   isMarkedUnread, isHidden, and this device's draftText ("" none) / draftTextTime (ms, 0).
//   setConversationRecvMessageOpt({conversationID, opt})   opt 0 or 2 (OpenIM's 1, not
//        receive, rejects 1002: it would lose messages). Muted: its unreadCount stays, it
//        adds 0 to the total.
//   pinConversation({conversationID, isPinned})
//   resetConversationGroupAtType(conversationID)   the unread mentions count as seen:
//        groupAtType 0 AND mentionCount 0 (the messages stay unread)
//   markConversationAsUnread(conversationID)       TIDEMARK EXTENSION: sets isMarkedUnread
//        (never moves hasReadSeq back); it counts 1 in the total while unreadCount is 0;
//        a later markConversationMessageAsRead (any device) or markAll... clears it; it
//        also un-hides. Rejects 1302 once I left the group (a dismissed group is allowed).
//   markAllConversationMessageAsRead()             every conversation read and its flag
//        cleared (flags set after this tab's cache version survive), in one server
//        transaction: one OnConversationChanged with every changed record
//   hideConversation(conversationID)               OpenIM's "delete chat for me": read,
//        flag cleared, isHidden true: out of the lists until a new message arrives in it
//   setConversationDraft({conversationID, draftText})   local only: kept in this device's
//        IndexedDB for this user (survives reloads and full snapshots, never synced);
//        "" clears it; OnConversationChanged with the record's new draftText/draftTextTime.
//        Rejects 1301 for a conversation not in the cache.
//
// MENTIONS AND REVOKE
//   getAtAllTag()                                  data: "AtAllTag"
//   createTextAtMessage({text, atUserIDList, atUsersInfo})
//        data: a message (contentType 106, textElem null, atTextElem {text, atUserList,
//        atUsersInfo: [{atUserID, groupNickname}]}) to give sendMessage({groupID, message})
//        (groups only: with recvID it rejects 1002). atUserIDList: 1-100 member IDs or
//        "AtAllTag", no repeats; atUsersInfo (optional) names some of them (groupNickname
//        1-64 chars). A `message` to quote rejects 1002: quoting is not supported. No
//        isAtSelf: compute it as atUserList.includes(myUserID) (or "AtAllTag").
//   revokeMessage({conversationID, clientMsgID})
//        data: the tombstone (OpenIM answers nothing): contentType 2101, the same seq,
//        clientMsgID, sendID, sendTime; textElem/atTextElem null; notificationElem.detail
//        = JSON of OpenIM's RevokedInfo. It has replaced the cached message (IndexedDB
//        too) when this resolves. Allowed: my own message within 24 h (server setting),
//        any message for a group owner, any but the owner's for an admin; else 1402
//        REVOKE_NOT_ALLOWED / 1403 REVOKE_TOO_LATE; 1404 for a notification; 1401 not found;
//        revoking again answers the same tombstone.
//   OnNewRecvMessageRevoked   data: RevokedInfo {revokerID, revokerRole (100/60/20 in a
//        group, 0 single), revokerNickname, clientMsgID, revokeTime,
//        sourceMessageSendTime, sourceMessageSendID, sourceMessageSenderNickname,
//        sessionType, seq, ex} plus conversationID; one event per tombstone, once per
//        tab, whichever of the push, the sync after a reconnect or the revoke's answer
//        stores it first. Tombstones never come in OnRecvNewMessages.
//   Messages: contentType 106 (atTextElem) and 2101 (tombstone) besides 101 and 15xx.
//
// IMAGES AND FILES (issue 12)
//   createImageMessageByFile({file, sourcePicture?, bigPicture?, snapshotPicture?, sourcePath?})
//        data: a message (contentType 102, not sent yet): {clientMsgID, sendID, contentType,
//        textElem: null, atTextElem: null, fileElem: null, createTime, pictureElem:
//        {sourcePath: "", sourcePicture, bigPicture, snapshotPicture}}, each picture
//        {uuid: "", type: file.type, size: file.size, width, height, url: ""} (width and
//        height 0 unless sourcePicture or bigPicture gives them). `file` is a File; the
//        other pictures' uuids (OpenIM's local keys) are not used. The worker keeps the
//        File until the message is sent (this tab, this login).
//   createFileMessageByFile({file, fileName?, fileType?, filePath?, uuid?, sourceUrl?, fileSize?})
//        data: a message (contentType 105): fileElem {filePath: "", uuid: "", sourceUrl: "",
//        fileName (default file.name), fileSize: file.size, fileType (default file.type)}.
//   sendMessage({recvID | groupID, message}) with one of those: uploads the File first
//        (PUT /api/files?name=&kind=image|file, Content-Type: the File's type or
//        application/octet-stream), OnProgress {clientMsgID, progress} 0..100 (XHR upload
//        progress; never backwards; 100 once stored), then sends it by uuid. data: the
//        stored message, its elem filled by the server: pictureElem's sourcePicture =
//        bigPicture (the original: uuid = sha256, type, size, width, height, url
//        /api/files/<uuid>) and snapshotPicture (the thumbnail, at most 320 px); fileElem's
//        uuid, sourceUrl, fileName, fileSize, fileType (sniffed by the server). Refusals:
//        1601 FILE_TOO_LARGE (25 MiB by default), 1602 FILE_EMPTY, 1603 FILE_TYPE_MISMATCH
//        (the bytes are not the declared type, or not an image for 102), 1604
//        FILE_NOT_FOUND; nothing is sent then. Sending again after a failed send does not
//        upload again. A message carrying a server uuid (a forward) is sent without upload.
//   uploadFile({file, name?, contentType?, kind?})  data: UploadedFile {uuid, url,
//        fileName, type, size, width, height, thumbnail (a Picture or null)}; kind "image"
//        (default for PNG/JPEG/GIF/WebP) or "file". E.g. an avatar for setSelfInfo.
//   getFileURL({url})     TIDEMARK EXTENSION: data: a "blob:" object URL of the file at
//        `url` (/api/files/<uuid>[?download=1], as the server gives it), fetched by the
//        worker with the token (an <img src> cannot send it). 1604 when this user may not
//        fetch it (not the uploader, no message showing it in their window, or revoked).
//        The page revokes object URLs it no longer shows (URL.revokeObjectURL).
//   OnProgress            data: {clientMsgID, progress}
//
// SEARCH, PEOPLE AND PUSH (issue 12)
//   searchLocalMessages({keywordList, conversationID?, keywordListMatchType?, pageIndex?, count?})
//        data: {totalCount (messages matched, all pages), searchResultItems:
//        [{conversationID, messageCount, conversationType, showName, faceURL,
//        messageList (this page's matches, newest first)}]} (conversations newest match
//        first). Answered by the SERVER over the whole history I may see (rule 11), not
//        this device's cache; never revoked messages; text and @ messages by their text,
//        files by their name. keywordList: 1-5 strings of 1-100 chars (the last word of
//        each matches as a prefix); keywordListMatchType 0 any (default), 1 all;
//        pageIndex from 1; count 1-100 (20). OpenIM's senderUserIDList, messageTypeList,
//        searchTimePosition, searchTimePeriod reject 1002. History around a hit:
//        getAdvancedHistoryMessageList({conversationID, lastMinSeq: hit.seq + k + 1}).
//   getSelfUserInfo()          data: PublicUser {userID, nickname, faceURL, ex} plus
//        createTime, from the server (offline: what this tab knows, createTime 0).
//        Rejects 10001 when not logged in.
//   setSelfInfo({nickname?, faceURL?})   data: null (as OpenIM's). faceURL "" (none) or
//        the url of an image I uploaded (uploadFile). Then OnSelfInfoUpdated on every
//        device and tab of mine (once each); my single chats' peers get
//        OnConversationChanged (showName, faceURL).
//   getUsersInfo(userIDList)   data: PublicUser[] (unknown IDs left out; asked 100 at a time)
//   searchUsers({keyword, count?})   TIDEMARK EXTENSION: data: PublicUser[] whose userID
//        or nickname starts with keyword (1-64 chars, case-insensitive, exact matches
//        first); count 1-50 (20). Rate-limited (1006).
//   getPushPublicKey()         TIDEMARK EXTENSION: data: the VAPID public key (base64url),
//        PushManager.subscribe's applicationServerKey.
//   subscribePush({endpoint, keys: {p256dh, auth}, previews})   TIDEMARK EXTENSION:
//        data: {endpoint, previews}. Tied to this session: logout() removes it.
//        previews: pushes may carry the message text (off by default).
//   unsubscribePush({endpoint})  TIDEMARK EXTENSION: data null.
//   OnSelfInfoUpdated          data: my PublicUser after a change (any device).
//   Conversation records also carry faceURL (the peer's avatar in single chats) and
//   joinSeq (groups: I see seqs after it; when it grows, a rejoin, the SDK drops the
//   cached messages at or below it).
//
// GROUPS (OpenIM's names and argument shapes; roleLevel 100 owner, 60 admin, 20 member)
//   createGroup({groupInfo: {groupName}, memberUserIDs, adminUserIDs})  or
//   createGroup({groupName, memberUserIDs})
//        data: {groupID, conversationID, groupName, ownerUserID, memberCount, status, createTime}
//        (OpenIM's GroupItem fields Tidemark has, plus conversationID = "sg_" + groupID).
//        I own it; adminUserIDs (among memberUserIDs) are admins. Creation is not a message.
//   getJoinedGroupList()                           data: GroupItem[] (groups I am in now, by groupID)
//   getSpecifiedGroupsInfo(groupIDList)            data: GroupItem[] of those I am or was in
//        GroupItem: {groupID, groupName, ownerUserID, memberCount, status (0 normal,
//        2 dismissed), createTime}
//   getGroupMemberList({groupID, filter, offset, count})
//        data: GroupMemberItem[] {groupID, userID, nickname, roleLevel, joinTime, joinSeq},
//        current members, owner first, then admins, then members (by userID within each).
//        filter (OpenIM's): 0 all, 1 owner, 2 admins, 3 members, 4 admins+members,
//        5 owner+admins. Defaults: filter 0, offset 0, count 100 (at most 500).
//        Rejects 1302 NOT_GROUP_MEMBER once I have left or was removed.
//   inviteUserToGroup({groupID, reason, userIDList})   (owner, admins)
//   kickGroupMember({groupID, reason, userIDList})     (owner; admins remove plain members)
//   quitGroup(groupID)                                 (not the owner)
//   dismissGroup(groupID)                              (owner)
//   transferGroupOwner({groupID, newOwnerUserID})      (owner; I become a plain member)
//   setGroupInfo({groupID, groupName})                 (owner, admins; only the name)
//   setGroupMemberRoleLevel({groupID, userID, roleLevel: 60 | 20})   (owner)
//        Each of these seven: data null, once the server has committed the change. Server
//        first: by then the SDK has stored the answer and emitted the events:
//        OnConversationChanged (the group's record: showName, maxSeq, isNotInGroup, ...)
//        and OnRecvNewMessages with the change's notification message (below), once per
//        device whichever of the answer and the push comes first. A refusal rejects and
//        changes nothing: 1302 NOT_GROUP_MEMBER (I, or the user named, am not in it),
//        1303 GROUP_PERMISSION_DENIED, 1304 GROUP_DISMISSED, 1305 GROUP_FULL (500),
//        1202 USER_NOT_FOUND, 1002 VALIDATION_FAILED (e.g. kicking myself). A change that
//        changes nothing (inviting a member, the same name or role) stores no message.
//   getGroupMessageReaderList({conversationID, clientMsgID, seq, filter, offset, count})
//        data: [{groupID, userID, nickname, roleLevel}]: the members at that message who
//        have (filter 0) or have not (filter 1) read it, the sender left out. Name the
//        message by seq, or by clientMsgID (looked up in this device's cache: a message
//        sent or shown here; else it rejects 1401). 1401 MESSAGE_NOT_FOUND too for a seq
//        I cannot see. Defaults: filter 0, offset 0, count 100.
//   getGroupMessageReceiptCounts({conversationID, seqs})     TIDEMARK EXTENSION
//        data: [{seq, hasReadCount, groupMemberCount}] in seq order, for any number of
//        seqs (asked 100 at a time); seqs that are not messages I can see are left out.
//        "Read by hasReadCount of groupMemberCount": the members at that seq other than
//        its sender, and those whose read position reached it (rule 16).
//   changeInputStates({conversationID, focus})     data: null; tells the other members'
//        devices I am typing (focus true) or stopped (false). Ephemeral (rule 17): say it
//        again within 5 s to keep it showing. Rejects 1302 when not in the group.
// Notification messages (rule 12: membership changes are messages with their own seq,
// in history, counted unread for the others like any message): contentType 1504 quit,
// 1507 owner transferred, 1508 kicked, 1509 invited, 1511 dismissed, 1517 set to admin,
// 1518 set to member, 1520 renamed (protocol.js ContentType). textElem is null;
// notificationElem: {detail} where detail is a JSON string: {opUser: {userID, nickname},
// invitedUserList | kickedUserList: [{userID, nickname}], quitUser, newGroupOwner,
// member: {userID, nickname}, group: {groupID, groupName}} by type. sendID is the operator.
// Once I left or was removed (or the group was dismissed) the conversation stays with
// isNotInGroup: true, its history up to the notification that says so, nothing after it,
// unreadCount 0 and 0 in the total; sendMessage into it rejects 1302 (1304 dismissed).
// Group events:
//   OnRecvGroupReadReceipt        data: {conversationID, readers: [{userID, hasReadSeq}]}:
//        these members have read up to hasReadSeq (coalesced, about every 0.5 s; may
//        include me). Derived, not versioned: re-ask getGroupMessageReceiptCounts for
//        the counts; after a reload nothing is replayed, ask again.
//   OnConversationUserInputStatusChanged  data: {conversationID, userID, focus}; the SDK
//        itself sends {..., focus: false} when no new one came within the server's
//        expiresInMs (5 s). Never stored. Not sent for my own typing.
//
// LOGIN BEFORE BOOT (OpenIM's habit: login() as soon as the page has loaded)
// Every method called before the SDK has booted waits for the boot and for the restore
// of the saved session. Then login({userID}) as the user whose session was restored
// answers with that session (no new login, no error, the password is not checked);
// as another user it logs the restored session out and logs in. Until `ready`,
// getLoginStatus answers on the page at once: 2 if a session is saved (it is being
// restored), else 1 (also while a login() waits for the boot). A login after an explicit login still
// rejects 10002 ALREADY_LOGGED_IN (log out first).
//
// TIDEMARK EXTENSIONS
//   IMSDK.ready    a Promise: resolves to {errCode: 0, errMsg: "", data: {loginStatus,
//                  userID, restoreError}} once the SDK has booted and the saved session,
//                  if any, is restored: after a reload the SDK logs back in by itself and
//                  `ready` comes after that first sync (loginStatus 3), or with
//                  loginStatus 1 when there was no session or its token was refused.
//                  restoreError is {errCode, errMsg} if restoring failed, else null.
//                  Rejects {errCode: 10005 (SDK_BOOT_FAILED), errMsg} if the SDK could not boot.
//                  Awaiting it is optional: methods wait for it themselves.
//   getGroupMessageReceiptCounts({conversationID, seqs})   see GROUPS above.
//   getCachedConversationList()
//                  data: {userID, syncing, totalUnreadCount, conversationList}: what the
//                  IndexedDB cache holds right now, WITHOUT waiting for the first sync.
//                  For painting at once after a reload while `ready` is pending; show it
//                  marked as syncing while `syncing` is true (rule 9). Empty when logged out.
//                  Until `ready` resolves it is read on the page itself (not waiting for
//                  Pyodide to boot), with `syncing` true whenever a session is saved.
//                  conversationList is getAllConversationList's (hidden left out, pinned
//                  first, drafts merged); totalUnreadCount is getTotalUnreadMsgCount's.
//   getSelfUserInfo()  (OpenIM's) see PEOPLE below.
//   getBootTimings()
//                  data: when each boot step ended, in ms on the page's clock
//                  (performance.now(), 0 = the navigation's start), null if not reached:
//                  {imsdkStart, workerSpawned, workerCreated, scriptStart, modulesLoaded,
//                  pyodideLoaded, packageLoaded, sdkImported, restored, ready,
//                  cachedListAnswered, snapshot}. Steps: imsdk.js runs; it creates the worker;
//                  worker.js starts; Pyodide's JS, idb and idb-store.js imported;
//                  loadPyodide done; the SDK wheel loaded; the SDK imported and created;
//                  the saved session restored (its first sync over); `ready` seen on the
//                  page; the first getCachedConversationList answered. `snapshot` says
//                  how Pyodide booted: "restored" from this build's memory snapshot,
//                  "made" (booted in full and stored one) or "none". The same steps are
//                  also page performance marks named "tidemark:<step>". Answers once
//                  the worker is up (not booted: it answers between boot steps).
//
// The session (token) lives in IndexedDB, written by the SDK in the worker (workers have
// no localStorage); layout in idb-store.js. Where this differs from OpenIM: README.md,
// "Where window.IMSDK differs from OpenIM".

import { Constants, ErrorCode, SdkErrorEvents, SdkEvent } from "./protocol.js";

const EVENTS = Object.values(SdkEvent);
const FAILURE_EVENTS = new Set(SdkErrorEvents);

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
  "getJoinedGroupList",
  "getSpecifiedGroupsInfo",
  "getGroupMemberList",
  "inviteUserToGroup",
  "kickGroupMember",
  "quitGroup",
  "dismissGroup",
  "transferGroupOwner",
  "setGroupInfo",
  "setGroupMemberRoleLevel",
  "getGroupMessageReaderList",
  "getGroupMessageReceiptCounts",
  "changeInputStates",
  "getCachedConversationList",
  "getSelfUserInfo",
  "setConversationRecvMessageOpt",
  "pinConversation",
  "resetConversationGroupAtType",
  "markConversationAsUnread",
  "markAllConversationMessageAsRead",
  "hideConversation",
  "setConversationDraft",
  "createTextAtMessage",
  "getAtAllTag",
  "revokeMessage",
  "createImageMessageByFile",
  "createFileMessageByFile",
  "uploadFile",
  "getFileURL",
  "searchLocalMessages",
  "setSelfInfo",
  "getUsersInfo",
  "searchUsers",
  "getPushPublicKey",
  "subscribePush",
  "unsubscribePush",
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
  return { errCode: ErrorCode.SDK_BOOT_FAILED, errMsg: `Tidemark SDK failed to start: ${error?.message ?? error}` };
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

// Boot steps seen on the page (performance.now(); see getBootTimings in the header).
const pageTimings = { imsdkStart: null, workerSpawned: null, ready: null, cachedListAnswered: null };
function mark(step) {
  if (pageTimings[step] !== null) return;
  pageTimings[step] = performance.now();
  performance.mark(`tidemark:${step}`);
}
mark("imsdkStart");

async function fetchBuildId() {
  const response = await fetch("/build.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`/build.json: HTTP ${response.status}`);
  const { buildId } = await response.json();
  return buildId;
}

const build = fetchBuildId();

async function startWorker() {
  const buildId = await build;
  // Start the worker first: Pyodide's boot is the long pole, Comlink loads meanwhile.
  const worker = new Worker(`/worker.js?build=${encodeURIComponent(buildId)}`, { type: "module" });
  mark("workerSpawned");
  const [Comlink] = await Promise.all([
    import(`/assets/${encodeURIComponent(buildId)}/vendor/comlink.mjs`),
    workerUp(worker),
  ]);
  const remote = Comlink.wrap(worker);
  await remote.setListener(Comlink.proxy(dispatch));
  return remote;
}

const remote = startWorker();

/** The worker's boot steps (ms since the Unix epoch) on the page's clock; marked once. */
const workerMarks = new Set();
async function bootTimings() {
  let steps = {};
  try {
    steps = await (await remote).bootTimings();
  } catch {
    steps = {}; // the worker failed to start: the page's steps only
  }
  const data = { ...pageTimings };
  for (const step of [
    "workerCreated",
    "scriptStart",
    "modulesLoaded",
    "pyodideLoaded",
    "packageLoaded",
    "sdkImported",
    "restored",
  ]) {
    const at = typeof steps[step] === "number" ? steps[step] - performance.timeOrigin : null;
    data[step] = at;
    if (at !== null && !workerMarks.has(step)) {
      workerMarks.add(step);
      performance.mark(`tidemark:${step}`, { startTime: Math.max(0, at) });
    }
  }
  data.snapshot = steps.snapshot ?? null;
  return { errCode: 0, errMsg: "", data };
}

// -- the cached list, read on the page ---------------------------------------------------
// Until the worker is ready (Pyodide boots for 1-3 s), getCachedConversationList reads
// IndexedDB right here, with the same idb-store.js functions the worker uses: the session
// (whose cache), then that user's cache meta and records in one transaction. The records
// are what the SDK stored: server-confirmed, with the SDK's unreadCount, so the total is
// their sum (no second unread definition). A saved session means the SDK is restoring it,
// so the answer says `syncing` (rule 9: the page marks it so). Once `ready` has resolved,
// the worker answers, as it knows the exact state.

let workerReady = false;
let bootFailed = false; // then every method rejects 10005, getLoginStatus too
const pageStore = build.then(async (buildId) => {
  const [idb, store] = await Promise.all([
    import(`/assets/${encodeURIComponent(buildId)}/vendor/idb.js`),
    import("./idb-store.js"),
  ]);
  store.configure({ openDB: idb.openDB });
  return store;
});
pageStore.catch(() => {}); // the worker answers instead

// getAllConversationList's order (tidemark_sdk._state.conversation_list): pinned first,
// then the later of the last message and the draft, newest first, then by ID.
function activity(record) {
  return Math.max(record.latestMsgSendTime || 0, record.draftTextTime || 0);
}
function byListOrder(a, b) {
  if (Boolean(a.isPinned) !== Boolean(b.isPinned)) return a.isPinned ? -1 : 1;
  const time = activity(b) - activity(a);
  if (time !== 0) return time;
  return a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0;
}

// A record's share of the total: a copy of tidemark_sdk._models.contribution (the SDK's
// one definition, the server's too), for this page-side read only, before the worker is up.
function contribution(record) {
  if ((record.recvMsgOpt ?? Constants.RECV_MSG_OPTS.NORMAL) !== Constants.RECV_MSG_OPTS.NORMAL) return 0;
  const unread = Math.max(0, (record.maxSeq || 0) - (record.hasReadSeq || 0));
  if (unread > 0) return unread;
  return record.isMarkedUnread ? 1 : 0;
}

async function cachedListOnPage() {
  const store = await pageStore;
  const session = await store.loadSession();
  const userID = session?.userID ?? "";
  let records = [];
  let drafts = [];
  if (userID) {
    const loaded = await store.load(userID);
    if (loaded.meta && loaded.meta.userID === userID) ({ conversations: records, drafts } = loaded);
  }
  const draftOf = new Map((drafts ?? []).map((draft) => [draft.conversationID, draft]));
  const total = records.reduce((sum, record) => sum + contribution(record), 0);
  const shown = records
    .map((record) => {
      const draft = draftOf.get(record.conversationID);
      return { ...record, draftText: draft?.draftText ?? "", draftTextTime: draft?.draftTextTime ?? 0 };
    })
    .filter((record) => !record.isHidden) // getAllConversationList's list
    .sort(byListOrder);
  return {
    errCode: 0,
    errMsg: "",
    data: { userID, syncing: Boolean(userID), totalUnreadCount: total, conversationList: shown },
  };
}

// getLoginStatus before `ready`: the worker would answer only once Pyodide has booted.
// A saved session is being restored (2, logging in); otherwise nobody is logged in (1),
// however long the boot takes (a login() waiting for the boot included).
async function loginStatusOnPage() {
  const store = await pageStore;
  const session = await store.loadSession();
  return { errCode: 0, errMsg: "", data: session?.userID ? 2 : 1 };
}

async function invoke(method, arg) {
  if (method === "getCachedConversationList" && !workerReady) {
    try {
      const answer = await cachedListOnPage();
      mark("cachedListAnswered");
      return answer;
    } catch {
      // IndexedDB unusable here: ask the worker
    }
  }
  if (method === "getLoginStatus" && !workerReady && !bootFailed) {
    try {
      return await loginStatusOnPage();
    } catch {
      // IndexedDB unusable here: ask the worker
    }
  }
  let answer;
  try {
    // Before boot, the worker holds the call until Pyodide is up and the saved session
    // is restored (OpenIMFacade waits for its restore): see "login before boot".
    answer = await (await remote).call(method, arg);
  } catch (error) {
    throw bootFailure(error);
  }
  if (method === "getCachedConversationList") mark("cachedListAnswered");
  if (answer.errCode !== 0) throw { errCode: answer.errCode, errMsg: answer.errMsg };
  // getFileURL: the worker fetched the bytes with the token; the page gets an object URL
  // of them (revoke it with URL.revokeObjectURL once it is no longer shown).
  if (method === "getFileURL") return { ...answer, data: URL.createObjectURL(answer.data) };
  return answer;
}

const IMSDK = {
  CbEvents: Object.fromEntries(EVENTS.map((event) => [event, event])),
  ready: remote
    .then((worker) => worker.ready())
    .then((answer) => {
      workerReady = true;
      mark("ready");
      return answer;
    })
    .catch((error) => {
      bootFailed = true;
      throw bootFailure(error);
    }),
  getBootTimings: bootTimings,
  on(event, handler) {
    if (!handlers.has(event) || typeof handler !== "function") {
      return Promise.reject({ errCode: ErrorCode.VALIDATION_FAILED, errMsg: `on(${event}): unknown event or no handler` });
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
