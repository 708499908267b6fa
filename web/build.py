"""Build the browser assets into web/dist/ (everything the page and worker load; no CDN).

Run with the project's Python 3.13 (the bytecode in the SDK wheel is made by this
interpreter, so it must match Pyodide's Python), after `npm ci`:

    .venv/bin/python web/build.py [--sdk-dir wasm_sdk]
    .venv/bin/python web/build.py --protocol-only   # web/protocol.js alone (any Python)

Writes web/protocol.js, the page's constants generated from the SDK's protocol.json
(committed: the page loads it without a build; tests/test_protocol.py checks it is
current). Produces (web/dist/ is wiped first):
    pyodide/    Pyodide core files from node_modules/pyodide, plus pyodide-lock.json
                listing the byte-compiled SDK wheel (tidemark_sdk-*-cp313-none-any.whl)
    vendor/     comlink.mjs and idb.js (ES modules, importable by relative URL)
    manifest.json  {pyodideVersion, sdkWheel, sdkWheelSha256, buildId}
    *.br, *.gz  brotli (quality 9) and gzip copies of each text or wasm file that
                compresses by 10 % or more: the server sends them by Accept-Encoding
                (12.3 MB of Pyodide and SDK go over the wire as about 5.2 MB)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
DIST = ROOT / "web" / "dist"
PYODIDE_CORE_FILES = (
    "pyodide.mjs",
    "pyodide.js",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
)
LOCK_NAME = "pyodide-lock.json"
SDK_PACKAGE = "tidemark-sdk"  # the key in pyodide-lock.json (canonical distribution name)
SDK_MODULE = "tidemark_sdk"
PYTHON_VERSION = (3, 13)
VENDOR_FILES = {  # destination name -> source in node_modules
    "comlink.mjs": "comlink/dist/esm/comlink.mjs",
    "idb.js": "idb/build/index.js",
}
PROTOCOL_JSON = f"{SDK_MODULE}/protocol.json"  # inside the SDK distribution's directory
PROTOCOL_JS = ROOT / "web" / "protocol.js"
RELATIVE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']\.{1,2}/""")


class BuildError(Exception):
    pass


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*cmd: str | Path) -> None:
    args = [str(part) for part in cmd]
    print("$", " ".join(args), flush=True)
    if subprocess.run(args).returncode != 0:
        raise BuildError(f"command failed: {' '.join(args)}")


def check_environment() -> Path:
    """Check the interpreter, the Python tools and node_modules; return the pyodide CLI."""
    if sys.version_info[:2] != PYTHON_VERSION:
        wanted = ".".join(map(str, PYTHON_VERSION))
        raise BuildError(
            f"run with Python {wanted} (this is {sys.version.split()[0]}): the SDK's bytecode"
            " must match Pyodide's Python; use .venv/bin/python"
        )
    for module in ("build", "pkginfo"):
        if importlib.util.find_spec(module) is None:
            raise BuildError(f"Python module {module!r} missing: .venv/bin/pip install -e '.[dev]'")
    cli = Path(sys.executable).parent / "pyodide"
    if not cli.is_file():
        raise BuildError(f"{cli} missing (pyodide-build): .venv/bin/pip install -e '.[dev]'")
    core = [f"pyodide/{name}" for name in (*PYODIDE_CORE_FILES, LOCK_NAME)]
    for needed in [*core, *VENDOR_FILES.values()]:
        if not (NODE_MODULES / needed).is_file():
            raise BuildError(f"node_modules/{needed} missing: run `npm ci`")
    return cli


def build_wheel(sdk_dir: Path, work: Path) -> Path:
    """Build the pure-Python SDK wheel from a clean copy of sdk_dir (no stale build/)."""
    if not (sdk_dir / SDK_MODULE / "__init__.py").is_file():
        raise BuildError(f"{sdk_dir / SDK_MODULE / '__init__.py'} missing: no SDK to build")
    source = work / "sdk"
    shutil.copytree(
        sdk_dir,
        source,
        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc"),
    )
    out = work / "wheel"
    run(sys.executable, "-m", "build", "--wheel", source, "-o", out)
    wheels = list(out.glob(f"{SDK_MODULE}-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one {SDK_MODULE}-*-py3-none-any.whl in {out}, got {wheels}")
    return wheels[0]


def build_pyodide_dir(cli: Path, wheel: Path, work: Path, target: Path) -> None:
    """Copy the Pyodide core to target, add the wheel to the lock and byte-compile it."""
    target.mkdir(parents=True)
    for name in (*PYODIDE_CORE_FILES, LOCK_NAME):
        shutil.copy2(NODE_MODULES / "pyodide" / name, target / name)
    # Work on the lock and the wheel alone, so py-compile touches nothing else
    # (it would otherwise also compile python_stdlib.zip).
    stage = work / "lock"
    stage.mkdir()
    lock = stage / LOCK_NAME
    shutil.copy2(target / LOCK_NAME, lock)
    staged_wheel = Path(shutil.copy2(wheel, stage))
    run(cli, "lockfile", "add-wheels", "--input", lock, "--output", lock,
        "--base-path", stage, staged_wheel)  # fmt: skip
    run(cli, "py-compile", "--no-keep", stage)
    shutil.copy2(lock, target / LOCK_NAME)
    for compiled in stage.glob("*.whl"):
        shutil.copy2(compiled, target / compiled.name)


def copy_vendor(target: Path) -> None:
    target.mkdir(parents=True)
    for name, source in VENDOR_FILES.items():
        text = (NODE_MODULES / source).read_text(encoding="utf-8")
        if RELATIVE_IMPORT.search(text):
            raise BuildError(f"node_modules/{source} imports relative files: copy them too")
        (target / name).write_text(text, encoding="utf-8")


def verify_sdk_in_lock(pyodide_dir: Path) -> Path:
    """Check the lock lists the SDK wheel with the right sha256 and that it holds bytecode only."""
    lock = json.loads((pyodide_dir / LOCK_NAME).read_text(encoding="utf-8"))
    python: str = lock["info"]["python"]
    if tuple(map(int, python.split(".")[:2])) != PYTHON_VERSION:
        raise BuildError(f"Pyodide's Python is {python}, expected {PYTHON_VERSION}")
    entry: dict[str, Any] | None = lock["packages"].get(SDK_PACKAGE)
    if entry is None:
        raise BuildError(f"{LOCK_NAME} has no package {SDK_PACKAGE!r}")
    wheel: Path = pyodide_dir / entry["file_name"]
    expected_name = f"{SDK_MODULE}-*-cp{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}-none-any.whl"
    if wheel.parent != pyodide_dir or not wheel.match(expected_name):
        raise BuildError(f"lock file_name {entry['file_name']!r} is not {expected_name}")
    if not wheel.is_file():
        raise BuildError(f"{wheel} listed in the lock does not exist")
    if entry["sha256"] != sha256_of(wheel):
        raise BuildError(f"sha256 of {wheel.name} does not match the lock")
    if SDK_MODULE not in entry["imports"]:
        raise BuildError(f"lock entry imports {entry['imports']}, expected {SDK_MODULE!r}")
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith(f"{SDK_MODULE}/")]
    sources = [n for n in names if n.endswith(".py")]
    if f"{SDK_MODULE}/__init__.pyc" not in names or sources:
        raise BuildError(f"{wheel.name} is not byte-compiled (sources: {sources[:5]})")
    return wheel


def write_manifest(wheel: Path) -> dict[str, str]:
    package = json.loads((NODE_MODULES / "pyodide" / "package.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    for path in sorted(p for p in DIST.rglob("*") if p.is_file()):
        digest.update(path.relative_to(DIST).as_posix().encode() + b"\0" + path.read_bytes())
    manifest = {
        "pyodideVersion": package["version"],
        "sdkWheel": wheel.name,
        "sdkWheelSha256": sha256_of(wheel),
        "buildId": digest.hexdigest()[:12],
    }
    (DIST / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# The exports of web/protocol.js, stable names: the page and imsdk.js import them.
PROTOCOL_JS_HEADER = """\
// generated from wasm_sdk/tidemark_sdk/protocol.json by web/build.py; do not edit.
// Regenerate: python web/build.py --protocol-only (tests/test_protocol.py checks it).
//
// Exports (frozen):
//   ErrorCode           name -> code, the server's (1xxx) and the SDK's own (10xxx)
//   ErrorHttpStatus     server code name -> HTTP status
//   SdkEvent            OpenIM event name -> itself (OnConnecting ... OnRecvC2CReadReceipt)
//   SdkErrorEvents      the events whose data carries errCode/errMsg
//   ServerEvent         WebSocket event name -> type (MESSAGE_NEW: "message.new", ...)
//   Frame               WebSocket frame name -> type (AUTH: "auth", ...)
//   Op                  request op name -> op (SEND_MESSAGE: "sendMessage", ...)
//   CloseCode           WebSocket close code name -> code
//   ContentType         message content type name -> code (TEXT: 101)
//   ContentElem         content type code -> the message field holding it (101: "textElem")
//   SessionType         SINGLE: 1, GROUP: 3
//   Constants           AT_ALL_TAG ("AtAllTag"), RECV_MSG_OPTS, GROUP_AT_TYPES
//   MessageFields       the fields of a Message record
//   ConversationFields  the fields of a Conversation record
"""


def _js_value(value: Any, indent: str = "") -> str:
    """A JSON value as frozen JS, one entry per line (JSON is valid JS)."""
    if isinstance(value, dict):
        inner = indent + "  "
        lines = [
            f"{inner}{json.dumps(str(key))}: {_js_value(v, inner)}," for key, v in value.items()
        ]
        return "Object.freeze({\n" + "\n".join(lines) + f"\n{indent}}})"
    if isinstance(value, list):
        inner = indent + "  "
        lines = [f"{inner}{_js_value(v, inner)}," for v in value]
        return "Object.freeze([\n" + "\n".join(lines) + f"\n{indent}])"
    return json.dumps(value, ensure_ascii=False)


def render_protocol_js(protocol: dict[str, Any]) -> str:
    """web/protocol.js for a parsed protocol.json: the same input gives the same bytes."""
    errors = protocol["errors"]["server"] + protocol["errors"]["client"]
    exports: dict[str, Any] = {
        "ErrorCode": {e["name"]: e["code"] for e in errors},
        "ErrorHttpStatus": {e["name"]: e["http"] for e in protocol["errors"]["server"]},
        "SdkEvent": {e["name"]: e["name"] for e in protocol["sdkEvents"]},
        "SdkErrorEvents": [e["name"] for e in protocol["sdkEvents"] if e.get("error")],
        "ServerEvent": {e["name"]: e["type"] for e in protocol["serverEvents"]},
        "Frame": {f["name"]: f["type"] for f in protocol["frames"]},
        "Op": {o["name"]: o["op"] for o in protocol["ops"]},
        "CloseCode": {c["name"]: c["code"] for c in protocol["closeCodes"]},
        "ContentType": {c["name"]: c["code"] for c in protocol["contentTypes"]},
        "ContentElem": {str(c["code"]): c["elem"] for c in protocol["contentTypes"]},
        "SessionType": {s["name"]: s["code"] for s in protocol["sessionTypes"]},
        "Constants": {name: c["value"] for name, c in protocol["constants"].items()},
        "MessageFields": list(protocol["records"]["Message"]["fields"]),
        "ConversationFields": list(protocol["records"]["Conversation"]["fields"]),
    }
    body = "".join(
        f"\nexport const {name} = {_js_value(value)};\n" for name, value in exports.items()
    )
    return PROTOCOL_JS_HEADER + body


def write_protocol_js(sdk_dir: Path) -> Path:
    protocol = json.loads((sdk_dir / PROTOCOL_JSON).read_text(encoding="utf-8"))
    PROTOCOL_JS.write_text(render_protocol_js(protocol), encoding="utf-8")
    return PROTOCOL_JS


COMPRESSIBLE = {".js", ".mjs", ".wasm", ".json"}  # the zip and the wheel are deflated already
BROTLI_QUALITY = 9  # 11 shrinks pyodide.asm.wasm 13 % more but takes 25 s instead of 1.3 s


def precompress(target: Path) -> list[Path]:
    """Write ``<file>.br`` and ``<file>.gz`` beside each compressible file of ``target``."""
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise BuildError("brotli is missing: pip install -e '.[dev]'") from None
    written = []
    for path in sorted(p for p in target.rglob("*") if p.suffix in COMPRESSIBLE):
        data = path.read_bytes()
        for suffix, packed in (
            (".br", brotli.compress(data, quality=BROTLI_QUALITY)),
            (".gz", gzip.compress(data, compresslevel=9, mtime=0)),
        ):
            if len(packed) <= 0.9 * len(data):
                copy = path.with_name(path.name + suffix)
                copy.write_bytes(packed)
                written.append(copy)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk-dir", type=Path, default=ROOT / "wasm_sdk",
                        help="SDK distribution to build (default: wasm_sdk)")  # fmt: skip
    parser.add_argument("--protocol-only", action="store_true",
                        help="only regenerate web/protocol.js from protocol.json")  # fmt: skip
    args = parser.parse_args()
    written = write_protocol_js(args.sdk_dir.resolve())
    print(f"wrote {written.relative_to(ROOT)}", flush=True)
    if args.protocol_only:
        return
    try:
        cli = check_environment()
        shutil.rmtree(DIST, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="tidemark-web-build-") as work:
            wheel = build_wheel(args.sdk_dir.resolve(), Path(work))
            build_pyodide_dir(cli, wheel, Path(work), DIST / "pyodide")
        copy_vendor(DIST / "vendor")
        manifest = write_manifest(verify_sdk_in_lock(DIST / "pyodide"))
        precompress(DIST)
    except BuildError as error:
        sys.exit(f"web/build.py: error: {error}")
    print(f"\nbuilt {DIST.relative_to(ROOT)}/ (buildId {manifest['buildId']}):")
    for path in sorted(p for p in DIST.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(DIST).as_posix():<50} {path.stat().st_size:>10,} bytes")


if __name__ == "__main__":
    main()
