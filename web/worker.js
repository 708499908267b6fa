// The SDK's Web Worker: Pyodide + the tidemark-sdk wheel, exposed to the page with Comlink.
//
// Started by imsdk.js as a module worker at `/worker.js?build=<buildId>` (buildId from
// /build.json). Everything it loads comes from this origin, under /assets/<buildId>/:
// a new build gets new URLs, so the immutable HTTP cache never serves a stale mix.
//
// Exposed (Comlink), all async:
//   call(method, arg)   -> {errCode, errMsg, data}: one IMSDK method (BrowserSDK.call in
//                          wasm_sdk/tidemark_sdk/_browser.py, over OpenIMFacade in
//                          _facade.py); never rejects for SDK errors. A File in arg.file
//                          arrives structured-cloned and stays a JS object (uploaded by
//                          files.js); getFileURL's data is a Blob. A call made before
//                          the boot waits for it, and (OpenIMFacade) for the restore of
//                          the saved session: an OpenIM app's login() on page load works
//   ready()             -> {errCode: 0, errMsg: "", data: {loginStatus, userID,
//                          restoreError}} once booted and the saved session (if any) is
//                          restored, its first sync over (rule 9)
//   setListener(cb)     -> cb(event, data) receives every SDK event (a Comlink.proxy)
//   bootTimings()       -> {workerCreated, scriptStart, modulesLoaded, pyodideLoaded,
//                          packageLoaded, sdkImported, restored, snapshot}: when each boot
//                          step ended, in ms since the Unix epoch (performance.timeOrigin +
//                          performance.now(), comparable with the page's); null if not
//                          reached yet (imsdk.js turns them into page-relative times);
//                          snapshot: how Pyodide booted (see "the memory snapshot" below)
// Boot failures (asset missing, package not loaded) reject call() and ready() with an Error.
//
// Why a worker: Pyodide's boot and the SDK's work stay off the page's main thread. Each
// tab runs its own worker; tabs share IndexedDB (layout in idb-store.js).

const SDK_PACKAGE = "tidemark-sdk";

// Boot steps, in ms since the Unix epoch (see bootTimings above).
const timings = {
  workerCreated: performance.timeOrigin,
  scriptStart: performance.timeOrigin + performance.now(),
  modulesLoaded: null,
  pyodideLoaded: null,
  packageLoaded: null,
  sdkImported: null,
  restored: null,
  snapshot: null, // "restored", "made" (this boot stored one) or "none"
};
const stamp = (step) => {
  timings[step] = performance.timeOrigin + performance.now();
};

const buildId = new URL(self.location.href).searchParams.get("build");
// Absolute URLs: Pyodide resolves lockFileURL against an absent base in a worker and
// fails with "Invalid base URL" if it is relative.
const assets = new URL(`/assets/${encodeURIComponent(buildId ?? "")}/`, self.location.origin).href;

let listener = null;
const pendingEvents = []; // events raised before the page gave its listener

// A long list (a snapshot's thousands of conversations) reaches the page in slices, each
// its own message: the page handles each in a short task, never one long one. Every list
// event carries absolute per-item state, so slices apply like the whole.
const EVENT_SLICE = 500;

function emit(event, data) {
  if (Array.isArray(data) && data.length > EVENT_SLICE) {
    for (let start = 0; start < data.length; start += EVENT_SLICE) {
      emit(event, data.slice(start, start + EVENT_SLICE));
    }
    return;
  }
  if (listener === null) {
    pendingEvents.push([event, data]);
    return;
  }
  // A Comlink call to the page: fire and forget, but never an unhandled rejection.
  Promise.resolve(listener(event, data)).catch((error) => console.error("event", event, error));
}

// -- the memory snapshot ----------------------------------------------------------------
// Booting Pyodide is mostly CPython starting up (1-2 s of the 2-3 s boot), then the SDK
// wheel loading and importing. So the first boot, once the SDK module is imported and
// before any SDK object exists (no session, no user data), takes a snapshot of Pyodide's
// memory (Pyodide's `_makeSnapshot` / `makeMemorySnapshot`, ~20 MB) and keeps it in Cache
// Storage under this build's ID; the next boots restore it (`_loadSnapshot`): Python is
// up with the SDK imported in a fraction of the time. A snapshot that does not load is
// dropped and the worker boots the normal way; without Cache Storage (a page not served
// from a secure context) there is no snapshot. A snapshot restores Python's `random`
// state too, so it is reseeded after every boot.

const SNAPSHOT_CACHE_PREFIX = "tidemark-pyodide-snapshot-";
const SNAPSHOT_CACHE = `${SNAPSHOT_CACHE_PREFIX}${buildId}`;
const SNAPSHOT_KEY = `${assets}pyodide/memory-snapshot`;
// Pyodide's loadedPackages object: a snapshot expects it empty (packages are meant to be
// loaded after a restore); the SDK's modules are in the snapshot, its files are not needed.
const LOADED_PACKAGES_SLOT = 6;
// Pyodide's snapshot header: u32 magic, u32 header size (the memory follows it), u32 size
// of the JSON in it. Checked before use: Pyodide rejects a snapshot of another Pyodide
// build, but a malformed one can leave its loader hanging, hence also the time limit.
const SNAPSHOT_MAGIC = 1886286592;
const WASM_PAGE = 65536;
const SNAPSHOT_RESTORE_LIMIT_MS = 30_000;

function plausibleSnapshot(buffer) {
  if (buffer.byteLength < 48 + WASM_PAGE) return false;
  const [magic, header, json] = new Uint32Array(buffer, 0, 3);
  return (
    magic === SNAPSHOT_MAGIC &&
    header >= 48 &&
    header % 16 === 0 &&
    json <= header &&
    header < buffer.byteLength &&
    (buffer.byteLength - header) % WASM_PAGE === 0
  );
}

function timeLimit(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function readSnapshot() {
  if (!self.caches) return null;
  try {
    const hit = await (await caches.open(SNAPSHOT_CACHE)).match(SNAPSHOT_KEY);
    return hit ? await hit.arrayBuffer() : null;
  } catch {
    return null;
  }
}

async function dropSnapshots(keep = null) {
  if (!self.caches) return;
  for (const name of await caches.keys()) {
    if (name.startsWith(SNAPSHOT_CACHE_PREFIX) && name !== keep) await caches.delete(name);
  }
}

/** Snapshot Pyodide's memory now (synchronously: nothing may run in between) and store it
 *  in the background; older builds' snapshots are deleted. */
function saveSnapshot(pyodide) {
  let snapshot;
  const loaded = pyodide._module.__hiwire_get(LOADED_PACKAGES_SLOT);
  const saved = { ...loaded };
  try {
    for (const name of Object.keys(loaded)) delete loaded[name];
    snapshot = pyodide.makeMemorySnapshot();
  } catch (error) {
    console.warn("Tidemark: no Pyodide snapshot:", error);
    return;
  } finally {
    Object.assign(loaded, saved);
  }
  (async () => {
    const cache = await caches.open(SNAPSHOT_CACHE);
    await cache.put(SNAPSHOT_KEY, new Response(snapshot, { headers: { "Content-Type": "application/octet-stream" } }));
    await dropSnapshots(SNAPSHOT_CACHE);
  })().catch((error) => console.warn("Tidemark: could not store the Pyodide snapshot:", error));
}

async function bootPyodide(loadPyodide, snapshotRead) {
  const options = {
    indexURL: `${assets}pyodide/`,
    lockFileURL: `${assets}pyodide/pyodide-lock.json`,
  };
  const snapshot = await snapshotRead;
  if (snapshot) {
    try {
      if (!plausibleSnapshot(snapshot)) throw new Error("not a Pyodide memory snapshot");
      const pyodide = await timeLimit(
        loadPyodide({ ...options, _loadSnapshot: snapshot }),
        SNAPSHOT_RESTORE_LIMIT_MS,
        "restoring the snapshot",
      );
      pyodide.pyimport("tidemark_sdk._browser").destroy(); // imported in the snapshot
      stamp("pyodideLoaded");
      stamp("packageLoaded");
      timings.snapshot = "restored";
      return pyodide;
    } catch (error) {
      console.warn("Tidemark: the Pyodide snapshot did not load; booting without it:", error);
      await dropSnapshots().catch(() => {});
    }
  }
  const snapshots = Boolean(self.caches);
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: snapshots });
  stamp("pyodideLoaded");
  // loadPackage reports failures through errorCallback and resolves anyway: check.
  const errors = [];
  const loaded = await pyodide.loadPackage(SDK_PACKAGE, {
    messageCallback: () => {},
    errorCallback: (message) => errors.push(message),
  });
  if (!loaded.some((pkg) => pkg.name === SDK_PACKAGE)) {
    throw new Error(`${SDK_PACKAGE} did not load: ${errors.join("; ") || "unknown error"}`);
  }
  stamp("packageLoaded");
  pyodide.pyimport("tidemark_sdk._browser").destroy();
  timings.snapshot = "none";
  if (snapshots) {
    saveSnapshot(pyodide);
    timings.snapshot = "made";
  }
  return pyodide;
}

async function boot() {
  if (!buildId) throw new Error("worker.js needs ?build=<buildId>");
  const snapshotRead = readSnapshot(); // meanwhile
  const [{ loadPyodide }, idb, idbStore, files] = await Promise.all([
    import(`${assets}pyodide/pyodide.mjs`),
    import(`${assets}vendor/idb.js`),
    import("./idb-store.js"),
    import("./files.js"),
  ]);
  idbStore.configure({ openDB: idb.openDB });
  stamp("modulesLoaded");

  const pyodide = await bootPyodide(loadPyodide, snapshotRead);
  pyodide.runPython("import random; random.seed()"); // not the snapshot's sequence
  const browser = pyodide.pyimport("tidemark_sdk._browser");
  // files.js: uploads by XMLHttpRequest (upload progress, for OnProgress) and downloads
  // as Blobs (getFileURL), called by the SDK through _jsbridge.py.
  const sdk = browser.create_browser_sdk(idbStore, self.location.origin, files);
  browser.destroy();
  sdk.set_listener(emit);
  stamp("sdkImported");
  // performance.now() counts from the worker's start: Pyodide + SDK boot time.
  console.info(`Tidemark SDK booted in ${Math.round(performance.now())} ms (snapshot: ${timings.snapshot})`);
  return sdk;
}

const booted = boot();
// Log back in from the saved session at once: the page only waits for ready().
const restored = booted.then(async (sdk) => {
  const answer = await sdk.start();
  stamp("restored");
  return answer;
});
restored.catch((error) => console.error("Tidemark worker failed to start:", error));

async function importComlink() {
  return import(`${assets}vendor/comlink.mjs`);
}

const Comlink = await importComlink();
Comlink.expose({
  async call(method, arg) {
    const sdk = await booted;
    return sdk.call(method, arg ?? null);
  },
  ready() {
    return restored;
  },
  bootTimings() {
    return { ...timings };
  },
  setListener(callback) {
    listener = callback;
    for (const [event, data] of pendingEvents.splice(0)) emit(event, data);
  },
});
// Messages sent before expose() ran would be lost: imsdk.js waits for this one first.
self.postMessage({ tidemarkWorker: "up" });
