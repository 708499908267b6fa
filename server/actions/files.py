"""Uploading and fetching files, and the content of picture and file messages.

An upload is judged by its bytes alone: their sha256 is the file's ID (the same bytes are
stored once, whoever sends them), their type is sniffed (a declared type is only
compared), and images are decoded and re-encoded as a thumbnail before anything is kept.
A refused upload keeps nothing: blobs are written only once every check has passed, and
before the rows that name them, so no row ever names a missing blob.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.files import images, sniff
from server.files.blobs import BlobStore, open_store
from server.files.spool import Spool
from server.protocol import CONTENT_TYPES
from server.ratelimit import KeyedRateLimit
from server.storage import Database
from server.storage import files as file_store
from server.storage.files import Grant, StoredFile, file_url

PICTURE = CONTENT_TYPES["PICTURE"]
FILE = CONTENT_TYPES["FILE"]


@dataclass
class FileServices:
    """What the file routes need, made once per app from its settings."""

    store: BlobStore
    max_upload_bytes: int
    limits: KeyedRateLimit

    @classmethod
    def from_config(cls, config: Any) -> FileServices:
        return cls(
            store=open_store(str(config["FILE_STORAGE_URL"]), str(config["DATABASE_URL"])),
            max_upload_bytes=int(config["MAX_UPLOAD_BYTES"]),
            limits=KeyedRateLimit(
                str(config["UPLOAD_RATE_LIMIT"]),
                str(config["REDIS_URL"]) or "memory://",
                name="upload",
                what="uploads",
            ),
        )


def too_large(limit: int) -> ApiError:
    return ApiError(ErrorCode.FILE_TOO_LARGE, f"the file is over the upload limit of {limit} bytes")


def picture(stored: StoredFile) -> dict[str, Any]:
    """A stored image as the protocol's ``Picture``."""
    return {
        "uuid": stored.sha256,
        "type": stored.mime,
        "size": stored.size,
        "width": stored.width or 0,
        "height": stored.height or 0,
        "url": file_url(stored.sha256),
    }


# -- upload --------------------------------------------------------------------------------


def upload(
    db: Database,
    store: BlobStore,
    user: CurrentUser,
    spool: Spool,
    file_name: str,
    kind: str,
    declared_type: str,
) -> dict[str, Any]:
    """Keep the spooled bytes (checked, deduplicated) and answer the ``UploadedFile``."""
    if spool.size == 0:
        raise ApiError(ErrorCode.FILE_EMPTY, "the file is empty")
    sha256 = spool.sha256
    with db.read() as conn:
        known = file_store.get_files(conn, [sha256]).get(sha256)
        thumb = None
        if known is not None and known.thumb_sha256 is not None:
            thumb = file_store.get_files(conn, [known.thumb_sha256]).get(known.thumb_sha256)
    if known is not None and (known.thumb_sha256 is None or thumb is not None):
        # The same bytes again: judged as they were the first time (deterministic).
        _check_type(declared_type, known.mime, kind, is_image=known.width is not None)
        stored = known
    else:
        stored, thumb = _store_new(store, spool, sha256, kind, declared_type)
    now = now_ms()
    with db.write() as tx:
        if thumb is not None:
            file_store.insert_file(tx.conn, thumb, now)
            file_store.record_upload(
                tx.conn, user.user_id, thumb.sha256, _thumb_name(file_name, thumb), now
            )
        file_store.insert_file(tx.conn, stored, now)
        file_store.record_upload(tx.conn, user.user_id, sha256, file_name, now)
    return {
        "uuid": sha256,
        "url": file_url(sha256),
        "fileName": file_name,
        "type": stored.mime,
        "size": stored.size,
        "width": stored.width or 0,
        "height": stored.height or 0,
        "thumbnail": None if thumb is None else picture(thumb),
    }


def _store_new(
    store: BlobStore, spool: Spool, sha256: str, kind: str, declared_type: str
) -> tuple[StoredFile, StoredFile | None]:
    mime = sniff.sniff(spool.head(sniff.HEAD))
    measured = None
    if mime in sniff.RASTER:
        try:
            measured = images.measure(spool.file())
        except images.NotAnImage:
            measured = None
        if measured is not None and measured.mime != mime:
            measured = None  # libmagic and Pillow disagree: not an image to show
    _check_type(declared_type, mime, kind, is_image=measured is not None)
    thumb = None
    if measured is not None:
        small = measured.thumbnail
        thumb = StoredFile(
            sha256=_sha256(small.data),
            size=len(small.data),
            mime=small.mime,
            width=small.width,
            height=small.height,
            thumb_sha256=None,
        )
        store.put(thumb.sha256, io.BytesIO(small.data), thumb.size)
    store.put(sha256, spool.file(), spool.size)
    stored = StoredFile(
        sha256=sha256,
        size=spool.size,
        mime=mime,
        width=None if measured is None else measured.width,
        height=None if measured is None else measured.height,
        thumb_sha256=None if thumb is None else thumb.sha256,
    )
    return stored, thumb


def _check_type(declared: str, sniffed: str, kind: str, is_image: bool) -> None:
    if sniff.contradicts(declared, sniffed):
        raise ApiError(
            ErrorCode.FILE_TYPE_MISMATCH,
            f"the bytes are {sniffed}, not the declared {sniff.normalize(declared)}"
            " (send application/octet-stream to make no claim)",
        )
    if kind == "image" and not is_image:
        raise ApiError(
            ErrorCode.FILE_TYPE_MISMATCH,
            f"kind=image: the bytes ({sniffed}) are not a PNG, JPEG, GIF or WebP image"
            " that decodes",
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _thumb_name(file_name: str, thumb: StoredFile) -> str:
    extension = ".png" if thumb.mime == "image/png" else ".jpg"
    return f"{PurePath(file_name).stem[:200] or 'image'}-thumbnail{extension}"


# -- fetch ---------------------------------------------------------------------------------


@dataclass
class Download:
    """A blob the caller may fetch, and how to answer with it."""

    grant: Grant
    content_type: str
    disposition: str  # "inline" or "attachment"
    file_name: str

    @property
    def etag(self) -> str:
        return self.grant.file.sha256


def authorize(db: Database, user: CurrentUser, sha256: str, download: bool) -> Download:
    """The blob if this user may fetch it; else FILE_NOT_FOUND, as for an unknown one."""
    with db.read() as conn:
        grant = file_store.fetchable(conn, user.user_id, sha256)
    if grant is None:
        raise not_found(sha256)
    mime = grant.file.mime
    raster = mime in sniff.RASTER
    return Download(
        grant=grant,
        # Only the four raster types are ever named; anything else (HTML, SVG, scripts)
        # is bytes to save, never something a browser would render or run.
        content_type=mime if raster else sniff.NO_CLAIM,
        disposition="inline" if raster and not download else "attachment",
        file_name=grant.file_name or _fallback_name(grant.file),
    )


def open_blob(store: BlobStore, download: Download) -> IO[bytes]:
    try:
        return store.open(download.grant.file.sha256)
    except KeyError:
        raise not_found(download.grant.file.sha256) from None


def not_found(sha256: str) -> ApiError:
    return ApiError(ErrorCode.FILE_NOT_FOUND, f"no file {sha256[:64]!r} that you may fetch")


def _fallback_name(stored: StoredFile) -> str:
    return stored.sha256[:16] + (mimetypes.guess_extension(stored.mime) or "")


# -- picture and file messages -------------------------------------------------------------


def message_content(
    conn: Any, user_id: str, content_type: int, uuid: str, file_name: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """(the stored elem, the blobs the message shows) of a picture or file message.

    The sender must be able to fetch the file (they uploaded it, or see a message that
    shows it); a picture must be an image."""
    grant = file_store.fetchable(conn, user_id, uuid)
    if grant is None:
        raise not_found(uuid)
    stored = grant.file
    if content_type == PICTURE:
        thumb = None
        if stored.thumb_sha256 is not None:
            thumb = file_store.get_files(conn, [stored.thumb_sha256]).get(stored.thumb_sha256)
        if stored.width is None or thumb is None:
            raise ApiError(
                ErrorCode.FILE_TYPE_MISMATCH,
                f"pictureElem: file {uuid} ({stored.mime}) is not an image",
            )
        source = picture(stored)
        elem: dict[str, Any] = {
            "sourcePath": "",
            "sourcePicture": source,
            "bigPicture": source,
            "snapshotPicture": picture(thumb),
        }
        return elem, [stored.sha256, thumb.sha256]
    assert content_type == FILE
    elem = {
        "filePath": "",
        "uuid": stored.sha256,
        "sourceUrl": file_url(stored.sha256),
        "fileName": file_name or grant.file_name or _fallback_name(stored),
        "fileSize": stored.size,
        "fileType": stored.mime,
    }
    return elem, [stored.sha256]
