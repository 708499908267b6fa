// The IndexedDB side of the SDK's Store (wasm_sdk/tidemark_sdk/_interfaces.py), used by
// IndexedDBStore in wasm_sdk/tidemark_sdk/_idb.py.
//
// Each exported store function does ONE whole transaction and returns ONE Promise. The
// reason: IndexedDB commits a transaction as soon as it has no pending request at the
// end of a task, so Python code awaited between two requests (a trip through Pyodide's
// event loop) would let it commit half-done. Inside a function only IndexedDB requests
// are awaited, which keeps the transaction alive (the `idb` library's promises resolve
// in microtasks).
//
// Layout (one browser profile, shared by every tab):
//   database "<prefix>"                  the saved login, shared by all users
//     session        key "current" -> Session {userID, nickname, token, expiresAt}
//   database "<prefix>-cache-<userID>"   one cache per user (user IDs are [a-z0-9.-])
//     meta           key "meta"    -> CacheMeta {userID, epoch, version, schema}
//     conversations  keyPath "conversationID" -> Conversation (with its `version`)
//     messages       keyPath ["conversationID", "seq"] -> Message
//     drafts         keyPath "conversationID" -> Draft {conversationID, draftText,
//                    draftTextTime}: this device's, never server state, so reset() (a
//                    full snapshot) keeps them; they live and go with the user's database
// One cache database per user, so two tabs logged in as two users never write into
// each other's cache; the session database is shared, like a cookie: the last login wins
// on the next reload. <prefix> is "tidemark" unless configure() says otherwise.
//
// Messages are immutable but for revocation: apply() replaces a stored message by its
// tombstone (contentType 2101, the same key), never a tombstone by anything, so once a
// revocation is stored the old text is gone from this database for good.
//
// A rejoin (a record whose joinSeq grew) drops that conversation's messages at or below
// the new joinSeq in the same transaction: see rejoinCut.
//
// Two tabs write at once: readwrite transactions on the same stores run one after the
// other, and apply() compares versions inside its transaction, so the read-compare-write
// is atomic and an older record can never overwrite a newer one (DESIGN.md rule 10).
//
// Values in and out are plain JSON-shaped objects; failures reject with the IndexedDB
// error (the Python side turns it into an SDK error).

import { ContentType } from "./protocol.js";

// IndexedDB schema of each database; bump one to rebuild it (the session's separately:
// rebuilding it would log everyone out). Cache 2: the drafts store (issue 11).
const SESSION_LAYOUT = 1;
const CACHE_LAYOUT = 2;
const SESSION_KEY = "current";
const REVOKED = ContentType.REVOKED;
const META_KEY = "meta";

let openDB = null;
let prefix = "tidemark";
const handles = new Map(); // database name -> Promise<IDBPDatabase>

/** Give the module the `idb` library's openDB (loaded from a versioned asset URL that a
 *  static import here could not know: module workers have no import maps), and
 *  optionally a database name prefix (tests). */
export function configure(options) {
  openDB = options.openDB;
  if (options.prefix) prefix = options.prefix;
  handles.clear();
}

function upgrade(db, stores) {
  // Cached data only: a new layout rebuilds the stores instead of migrating them.
  for (const name of Array.from(db.objectStoreNames)) db.deleteObjectStore(name);
  for (const [name, options] of Object.entries(stores)) db.createObjectStore(name, options);
}

function open(name, layout, stores) {
  if (!openDB) return Promise.reject(new Error("idb-store.js: configure({openDB}) first"));
  let handle = handles.get(name);
  if (!handle) {
    const forget = (db) => {
      if (handles.get(name) === handle) handles.delete(name);
      db?.close();
    };
    handle = openDB(name, layout, {
      upgrade: (db) => upgrade(db, stores),
      // Another tab wants a newer layout: close ours instead of stalling it (a blocked
      // upgrade waits forever); our next call reopens and fails loudly if we are stale.
      blocking: (_current, _blocked, event) => forget(event.target),
      terminated: () => forget(null),
    });
    handle.catch(() => handles.delete(name)); // a failed open is retried next time
    handles.set(name, handle);
  }
  return handle;
}

function sessionDB() {
  return open(prefix, SESSION_LAYOUT, { session: {} });
}

function cacheDB(userID) {
  if (typeof userID !== "string" || !userID) {
    return Promise.reject(new Error("idb-store.js: no user for the cache"));
  }
  return open(`${prefix}-cache-${userID}`, CACHE_LAYOUT, {
    meta: {},
    conversations: { keyPath: "conversationID" },
    messages: { keyPath: ["conversationID", "seq"] },
    drafts: { keyPath: "conversationID" },
  });
}

/** Run body(tx, req) in one transaction; resolve with its result once every request
 *  and the transaction have succeeded. On any failure abort it, so nothing of it is
 *  written. The body passes each request's promise through req(): an abort rejects every
 *  pending request, and those rejections must not surface as unhandled. */
async function transaction(db, stores, mode, body) {
  const tx = db.transaction(stores, mode);
  const requests = [];
  const req = (promise) => {
    promise.catch(() => {}); // handled below, by Promise.all
    requests.push(promise);
    return promise;
  };
  try {
    const result = await body(tx, req);
    await Promise.all(requests);
    await tx.done;
    return result;
  } catch (error) {
    tx.done.catch(() => {}); // its rejection is this same failure
    try {
      tx.abort();
    } catch {
      // already committed or aborted
    }
    throw error;
  }
}

// -- the Store methods ------------------------------------------------------------------

/** {meta (null when there is no cache), conversations, drafts}: read together, so the
 *  caller's starting view of the records matches the meta. */
export async function load(userID) {
  const db = await cacheDB(userID);
  return transaction(db, ["meta", "conversations", "drafts"], "readonly", async (tx, req) => {
    const [meta, records, drafts] = await Promise.all([
      req(tx.objectStore("meta").get(META_KEY)),
      req(tx.objectStore("conversations").getAll()),
      req(tx.objectStore("drafts").getAll()),
    ]);
    return { meta: meta ?? null, conversations: meta ? records : [], drafts: meta ? drafts : [] };
  });
}

/** The drafts of this user's cache: [{conversationID, draftText, draftTextTime}]. */
export async function drafts(userID) {
  const db = await cacheDB(userID);
  return transaction(db, "drafts", "readonly", (tx) => tx.objectStore("drafts").getAll());
}

/** Keep a draft (draftText "": forget it); fails when there is no cache yet. */
export async function saveDraft(userID, draft) {
  const db = await cacheDB(userID);
  return transaction(db, ["meta", "drafts"], "readwrite", async (tx, req) => {
    const meta = await req(tx.objectStore("meta").get(META_KEY));
    if (!meta) throw new Error("saveDraft() before reset(): there is no cache");
    const store = tx.objectStore("drafts");
    if (draft.draftText) req(store.put(draft));
    else req(store.delete(draft.conversationID));
    return null;
  });
}

/** Whether `incoming` may be stored over `stored` (undefined: nothing stored): messages
 *  are immutable but for a tombstone replacing the message it revokes, one way. */
function replaces(incoming, stored) {
  if (stored === undefined) return true;
  return incoming.contentType === REVOKED && stored.contentType !== REVOKED;
}

/** The rejoin rule (tidemark_sdk._models.rejoin_cut): when a stored record is replaced
 *  by one whose joinSeq grew, its cached messages at or below that joinSeq belong to an
 *  earlier membership window, which a later revocation may not reach: apply() deletes
 *  them in its transaction, before writing the messages given with the record (the
 *  join's own notification, at joinSeq, may be one). Returns that joinSeq or null. */
function rejoinCut(old, record) {
  if (old === undefined) return null;
  const joinSeq = record.joinSeq || 0;
  return joinSeq > (old.joinSeq || 0) ? joinSeq : null;
}

export async function reset(meta, conversations, messages) {
  const db = await cacheDB(meta.userID);
  return transaction(db, ["meta", "conversations", "messages"], "readwrite", (tx, req) => {
    const conversationStore = tx.objectStore("conversations");
    const messageStore = tx.objectStore("messages");
    req(conversationStore.clear());
    req(messageStore.clear());
    req(tx.objectStore("meta").put(meta, META_KEY));
    for (const record of conversations) req(conversationStore.put(record));
    const kept = new Map(); // one copy per key, a tombstone over its message
    for (const message of messages) {
      const key = `${message.conversationID}\u0000${message.seq}`;
      if (replaces(message, kept.get(key))) kept.set(key, message);
    }
    for (const message of kept.values()) req(messageStore.put(message));
    return null;
  });
}

/** The version-guarded write (rules 6 and 10). Resolves to {version: meta.version after
 *  it, messages: the messages it added, records: the stored record, after it, of every
 *  conversation given (what another tab wrote may be newer than what was given)} — what
 *  IndexedDBStore needs to tell what is new to its tab, and nothing more. */
export async function apply(userID, version, conversations, messages) {
  const db = await cacheDB(userID);
  return transaction(db, ["meta", "conversations", "messages"], "readwrite", async (tx, req) => {
    const metaStore = tx.objectStore("meta");
    const conversationStore = tx.objectStore("conversations");
    const messageStore = tx.objectStore("messages");
    // Read everything first (in parallel), then decide, then write: still one transaction.
    const [meta, stored, present] = await Promise.all([
      req(metaStore.get(META_KEY)),
      Promise.all(conversations.map((r) => req(conversationStore.get(r.conversationID)))),
      Promise.all(messages.map((m) => req(messageStore.get([m.conversationID, m.seq])))),
    ]);
    if (!meta) throw new Error("apply() before reset(): there is no cache");

    // conversationID -> its stored record as this transaction goes (so duplicates in one
    // call compare against each other too), in order of first appearance.
    const current = new Map();
    conversations.forEach((record, i) => {
      if (!current.has(record.conversationID)) current.set(record.conversationID, stored[i]);
    });
    const cuts = new Map(); // conversationID -> joinSeq: cached messages <= it dropped
    for (const record of conversations) {
      const old = current.get(record.conversationID);
      if (old === undefined || old.version < record.version) {
        current.set(record.conversationID, record);
        req(conversationStore.put(record));
        const cut = rejoinCut(old, record);
        if (cut !== null) {
          cuts.set(record.conversationID, cut);
          req(messageStore.delete(IDBKeyRange.bound([record.conversationID, -Infinity], [record.conversationID, cut])));
        }
      }
    }
    const added = [];
    // key -> the message stored under it as this transaction goes (duplicates in one call
    // compare against each other too).
    const held = new Map();
    messages.forEach((message, i) => {
      const key = `${message.conversationID}\u0000${message.seq}`;
      // A message the rejoin cut has just deleted is not stored any more.
      const cut = cuts.get(message.conversationID);
      const before = cut !== undefined && message.seq <= cut ? undefined : present[i];
      const stored = held.has(key) ? held.get(key) : before;
      if (replaces(message, stored)) {
        held.set(key, message);
        added.push(message);
        req(messageStore.put(message));
      } else if (!held.has(key)) {
        held.set(key, stored);
      }
    });
    let newVersion = meta.version;
    if (version !== null && version !== undefined && version > meta.version) {
      newVersion = version; // meta.version = max(stored, version): it never goes down
      req(metaStore.put({ ...meta, version }, META_KEY));
    }
    return { version: newVersion, messages: added, records: [...current.values()] };
  });
}

export async function conversations(userID) {
  const db = await cacheDB(userID);
  return transaction(db, "conversations", "readonly", (tx) =>
    tx.objectStore("conversations").getAll(),
  );
}

/** Up to `count` messages of a conversation with seq < beforeSeq (no bound if null), the
 *  highest such seqs, oldest first. */
export async function messages(userID, conversationID, beforeSeq, count) {
  const db = await cacheDB(userID);
  if (!(count > 0)) return [];
  const bounded = beforeSeq !== null && beforeSeq !== undefined;
  const range = IDBKeyRange.bound(
    [conversationID, -Infinity],
    [conversationID, bounded ? beforeSeq : Infinity],
    false,
    bounded,
  );
  return transaction(db, "messages", "readonly", async (tx) => {
    const found = [];
    let cursor = await tx.objectStore("messages").openCursor(range, "prev");
    while (cursor && found.length < count) {
      found.push(cursor.value);
      cursor = await cursor.continue();
    }
    return found.reverse();
  });
}

export async function loadSession() {
  const db = await sessionDB();
  return transaction(db, "session", "readonly", async (tx) => {
    return (await tx.objectStore("session").get(SESSION_KEY)) ?? null;
  });
}

/** Save the session, or with null forget it — but only if the saved one is still
 *  `ownToken`'s: a tab logging out (or whose token expired) must not erase the login
 *  another tab has saved since. */
export async function saveSession(session, ownToken) {
  const db = await sessionDB();
  return transaction(db, "session", "readwrite", async (tx, req) => {
    const store = tx.objectStore("session");
    if (session) {
      req(store.put(session, SESSION_KEY));
    } else {
      const saved = await req(store.get(SESSION_KEY));
      if (saved && (ownToken == null || saved.token === ownToken)) req(store.delete(SESSION_KEY));
    }
    return null;
  });
}
