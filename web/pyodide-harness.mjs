// Run Python code inside real Pyodide under Node.js, with the SDK wheel built in web/dist/.
//
// Usage (from anywhere; needs `npm ci` and `.venv/bin/python web/build.py` first):
//
//     node --experimental-websocket web/pyodide-harness.mjs [--module M.py]... [FILE.py | -]
//
// The Python source is read from FILE.py, or from stdin when FILE is "-" or omitted.
// Each `--module M.py` is copied into Pyodide's file system, in a directory on sys.path,
// so the code can `import M` (test cases shared with CPython, e.g. tests/sdk/facade_cases.py).
// `--experimental-websocket` gives Node 20 the global WebSocket the SDK's browser transport
// uses (Node 22+ has it by default); `fetch` is global already.
//
// Before the code runs: `fake-indexeddb/auto` provides the global `indexedDB` (and
// IDBKeyRange, ...); Pyodide boots from node_modules/pyodide with
// web/dist/pyodide/pyodide-lock.json as its lock file, so the lock's relative file names
// resolve against web/dist/pyodide/; the "tidemark-sdk" package is loaded from there.
// The code runs as __main__ with top-level await allowed (pyodide.code.eval_code_async). Python's stdout and stderr
// are this process's stdout and stderr; the environment is visible as `js.process.env`.
//
// Exit status: 0 when the code ran, 1 with the traceback on stderr when it raised (or the
// status given to sys.exit), 2 when the harness could not set up (no web/dist, SDK package
// not loaded, no global WebSocket).
//
// Note: under Node, Pyodide reads local wheels without checking the lock's sha256 (the
// browser does check it); tests/pyodide/test_build.py checks it instead.

import "fake-indexeddb/auto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LOCK_FILE = path.join(ROOT, "web", "dist", "pyodide", "pyodide-lock.json");
const SDK_PACKAGE = "tidemark-sdk";
const MODULE_DIR = "/tidemark-harness/modules"; // where --module files go; on sys.path
const RUNNER = `
import sys, __main__
from pyodide.code import eval_code_async

async def run(source, filename, module_dir):
    sys.path.insert(0, module_dir)
    try:
        await eval_code_async(source, __main__.__dict__, filename=filename)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0

run
`;

async function exit(code) {
  await new Promise((resolve) => process.stdout.write("", resolve));
  await new Promise((resolve) => process.stderr.write("", resolve));
  process.exit(code);
}

async function setupFailed(message) {
  process.stderr.write(`pyodide-harness: ${message}\n`);
  await exit(2);
}

async function readSource(file) {
  if (file !== "-") return readFile(file, "utf8");
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function streamTo(stream) {
  // Raw bytes, copied: Pyodide reuses its buffer after write() returns.
  return { write: (bytes) => (stream.write(Buffer.from(bytes)), bytes.length) };
}

function parseArgs(args) {
  const modules = [];
  let file = "-";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--module" && i + 1 < args.length) modules.push(args[++i]);
    else file = args[i];
  }
  return { modules, file };
}

async function main() {
  const { modules, file } = parseArgs(process.argv.slice(2));
  if (typeof globalThis.WebSocket !== "function") {
    return setupFailed("no global WebSocket: run `node --experimental-websocket` (Node 20)");
  }
  if (!existsSync(LOCK_FILE)) {
    return setupFailed(`${LOCK_FILE} missing: run .venv/bin/python web/build.py`);
  }
  const source = await readSource(file);

  const pyodide = await loadPyodide({ lockFileURL: LOCK_FILE });
  pyodide.FS.mkdirTree(MODULE_DIR);
  for (const module of modules) {
    pyodide.FS.writeFile(`${MODULE_DIR}/${path.basename(module)}`, await readFile(module, "utf8"));
  }
  pyodide.setStdout(streamTo(process.stdout));
  pyodide.setStderr(streamTo(process.stderr));

  const errors = [];
  const loaded = await pyodide.loadPackage(SDK_PACKAGE, {
    messageCallback: () => {},
    errorCallback: (message) => errors.push(message),
  });
  if (!loaded.some((pkg) => pkg.name === SDK_PACKAGE)) {
    return setupFailed(`package ${SDK_PACKAGE} did not load: ${errors.join("; ") || "unknown error"}`);
  }

  // SystemExit is caught in Python: escaping the event loop, it would crash Node.
  const run = pyodide.runPython(RUNNER, { globals: pyodide.toPy({}) });
  try {
    return exit(await run(source, file === "-" ? "<stdin>" : path.resolve(file), MODULE_DIR));
  } catch (error) {
    process.stderr.write(`${error?.type ? error.message : (error?.stack ?? error)}\n`);
    return exit(1);
  }
}

try {
  await main();
} catch (error) {
  // Not rethrown: Node would print the (minified, megabyte-long) source line of pyodide.asm.js.
  await setupFailed(error?.stack ?? String(error));
}
