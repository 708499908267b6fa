"""The page and its assets, served by the same process as the API.

``web/`` holds the page's own files (revalidated on every load). ``web/dist/`` holds the
build output (Pyodide, the SDK wheel, vendored JS); it is served under
``/assets/<buildId>/`` with a year-long immutable cache, since a new build gets a new ID,
and as the brotli or gzip copy the build made when the browser accepts it (Pyodide's
8.6 MB of WebAssembly travels as 2.4 MB).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    send_from_directory,
)
from werkzeug.security import safe_join

from server.errors import ApiError, ErrorCode

bp = Blueprint("web", __name__)

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/zip", ".whl")


def _web_root() -> Path:
    return Path(current_app.config["WEB_ROOT"])


def _manifest() -> dict[str, str]:
    path = _web_root() / "dist" / "manifest.json"
    try:
        manifest: dict[str, str] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ApiError(
            ErrorCode.NOT_FOUND, "browser assets are not built: run .venv/bin/python web/build.py"
        ) from None
    return manifest


@bp.get("/build.json")
def build_info() -> Response:
    response = jsonify(_manifest())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/assets/<build_id>/<path:filename>")
def asset(build_id: str, filename: str) -> Response:
    if build_id != _manifest()["buildId"]:
        abort(404)
    dist = _web_root() / "dist"
    encoding = _encoding(dist, filename)
    if encoding is None:
        response = send_from_directory(dist, filename, max_age=365 * 24 * 3600)
    else:
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = send_from_directory(
            dist, f"{filename}.{_SUFFIXES[encoding]}", mimetype=mimetype, max_age=365 * 24 * 3600
        )
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


_SUFFIXES = {"br": "br", "gzip": "gz"}


def _encoding(dist: Path, filename: str) -> str | None:
    """The best encoding the browser accepts that the build made a copy of, or None."""
    accepted = request.accept_encodings  # parsed with its q-values by werkzeug
    for encoding in ("br", "gzip"):
        if accepted[encoding] > 0:
            copy = safe_join(str(dist), f"{filename}.{_SUFFIXES[encoding]}")
            if copy is not None and Path(copy).is_file():
                return encoding
    return None


@bp.get("/sw.js")
def service_worker() -> Response:
    """The page's service worker (web/sw.js) at the root, so that its scope is the whole page.

    Revalidated on every load, so that a new version reaches browsers at once (they also
    check it themselves at least daily).
    """
    response = send_from_directory(_web_root(), "sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/")
@bp.get("/<path:filename>")
def page(filename: str = "index.html") -> Response:
    if filename.startswith(("api/", "dist/")):
        abort(404)
    response = send_from_directory(_web_root(), filename)
    response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
