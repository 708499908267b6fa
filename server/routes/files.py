"""``PUT /api/files`` (the body is the file's bytes) and ``GET /api/files/<sha256>``.

Under ``tidemark serve`` the ASGI layer has spooled an upload's body already, without a
thread (see :mod:`server.asgi`); under any other WSGI server the route reads it here.
Every file answer carries its own Content-Security-Policy (``default-src 'none';
sandbox``), which the security-headers layer leaves as it is.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from werkzeug.wsgi import wrap_file

from server.actions import files
from server.actions.users import CurrentUser
from server.api import operation, services
from server.files.spool import Spool, TooLarge, spool_stream
from server.schemas import DownloadQuery, UploadedFile, UploadQuery

bp = Blueprint("files", __name__, url_prefix="/api")

# The key of the spooled body in the ASGI scope (a2wsgi hands the scope to the app as
# environ["asgi.scope"]).
SCOPE_KEY = "tidemark.upload"
FILE_CSP = "default-src 'none'; sandbox"
CACHE_CONTROL = "private, max-age=31536000, immutable"


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    state.app.extensions["tidemark.files"] = files.FileServices.from_config(state.app.config)


def file_services() -> files.FileServices:
    return cast(files.FileServices, current_app.extensions["tidemark.files"])


@operation(
    bp,
    "PUT",
    "/files",
    query=UploadQuery,
    response=UploadedFile,
    status=201,
    raw_body=True,
)
def upload(user: CurrentUser, query: UploadQuery) -> dict[str, Any]:
    """Upload a file or an image (the body is its bytes): stored once per content."""
    config = file_services()
    config.limits.check(user.user_id)
    spool = _request_body(config.max_upload_bytes)
    return files.upload(
        services().db,
        config.store,
        user,
        spool,
        query.name,
        query.kind,
        request.headers.get("Content-Type", ""),
    )


@operation(bp, "GET", "/files/<sha256>", query=DownloadQuery, response=None)
def download(user: CurrentUser, sha256: str, query: DownloadQuery) -> Response:
    """A file's bytes, for its uploader and whoever sees a message showing it."""
    found = files.authorize(services().db, user, sha256, query.download)
    headers = {
        "Content-Security-Policy": FILE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"{found.disposition}; filename*=UTF-8''"
        + quote(found.file_name, safe=""),
        "Cache-Control": CACHE_CONTROL,
        "ETag": f'"{found.etag}"',
    }
    if found.etag in _etags(request.headers.get("If-None-Match", "")):
        return Response(status=304, headers=headers)
    stream = files.open_blob(file_services().store, found)
    answer = Response(
        wrap_file(request.environ, stream),
        status=200,
        headers=headers,
        content_type=found.content_type,
        direct_passthrough=True,
    )
    answer.content_length = found.grant.file.size
    return answer


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}


def _request_body(limit: int) -> Spool:
    """The upload's bytes: spooled by the ASGI layer, or read here (once per request)."""
    spool: Spool | None = g.get("upload_spool")
    if spool is not None:
        return spool
    scope = request.environ.get("asgi.scope") or {}
    spool = scope.get(SCOPE_KEY)
    if spool is None:
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        length = request.content_length
        if length is None and not chunked:
            length = 0  # no body
        try:
            spool = spool_stream(request.environ["wsgi.input"], limit, length)
        except TooLarge:
            raise files.too_large(limit) from None
        g.owned_upload_spool = spool  # closed at the end of the request
    g.upload_spool = spool
    return spool


@bp.teardown_request
def _close_spool(_error: BaseException | None) -> None:
    spool: Spool | None = g.pop("owned_upload_spool", None)
    if spool is not None:
        spool.close()
