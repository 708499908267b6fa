// The SDK's Web Worker: Pyodide + the tidemark-sdk wheel, exposed to the page with Comlink.
//
// Started by imsdk.js as a module worker at `/worker.js?build=<buildId>` (buildId from
// /build.json). Everything it loads comes from this origin, under /assets/<buildId>/:
// a new build gets new URLs, so the immutable HTTP cache never serves a stale mix.
//
// Exposed (Comlink), all async:
//   call(method, arg)   -> {errCode, errMsg, data}: one IMSDK method (BrowserSDK.call in
//                          wasm_sdk/tidemark_sdk/_browser.py); never rejects for SDK errors
//   ready()             -> {errCode: 0, errMsg: "", data: {loginStatus, userID,
//                          restoreError}} once booted and the saved session (if any) is
//                          restored, its first sync over (rule 9)
//   setListener(cb)     -> cb(event, data) receives every SDK event (a Comlink.proxy)
//   bootTimings()       -> {workerCreated, scriptStart, modulesLoaded, pyodideLoaded,
//                          packageLoaded, sdkImported, restored}: when each boot step
//                          ended, in ms since the Unix epoch (performance.timeOrigin +
//                          performance.now(), comparable with the page's); null if not
//                          reached yet (imsdk.js turns them into page-relative times)
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

function emit(event, data) {
  if (listener === null) {
    pendingEvents.push([event, data]);
    return;
  }
  // A Comlink call to the page: fire and forget, but never an unhandled rejection.
  Promise.resolve(listener(event, data)).catch((error) => console.error("event", event, error));
}

async function boot() {
  if (!buildId) throw new Error("worker.js needs ?build=<buildId>");
  const [{ loadPyodide }, idb, idbStore] = await Promise.all([
    import(`${assets}pyodide/pyodide.mjs`),
    import(`${assets}vendor/idb.js`),
    import("./idb-store.js"),
  ]);
  idbStore.configure({ openDB: idb.openDB });
  stamp("modulesLoaded");

  const pyodide = await loadPyodide({
    indexURL: `${assets}pyodide/`,
    lockFileURL: `${assets}pyodide/pyodide-lock.json`,
  });
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
  const browser = pyodide.pyimport("tidemark_sdk._browser");
  const sdk = browser.create_browser_sdk(idbStore, self.location.origin);
  browser.destroy();
  sdk.set_listener(emit);
  stamp("sdkImported");
  // performance.now() counts from the worker's start: Pyodide + SDK boot time.
  console.info(`Tidemark SDK booted in ${Math.round(performance.now())} ms`);
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
