"""Files, uploads and the blobs messages show; and who may fetch a blob.

:func:`fetchable` is the one authorization query for ``GET /api/files/<sha256>``: the
caller uploaded the blob, or sees (rule 11) a message that shows it, or it is a user's
current avatar.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Row,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from server.storage.tables import files, members, message_files, messages, uploads, users

FILE_URL_PREFIX = "/api/files/"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    mime: str
    width: int | None
    height: int | None
    thumb_sha256: str | None


@dataclass(frozen=True)
class Grant:
    """A blob the caller may fetch, and the name to offer it under ("" when none)."""

    file: StoredFile
    file_name: str


def file_url(sha256: str) -> str:
    return FILE_URL_PREFIX + sha256


_FILE_COLUMNS = (
    files.c.sha256,
    files.c.size,
    files.c.mime,
    files.c.width,
    files.c.height,
    files.c.thumb_sha256,
)
_GET_FILES = select(*_FILE_COLUMNS).where(files.c.sha256.in_(bindparam("shas", expanding=True)))

# -- the authorization query ---------------------------------------------------------------

_OWN_NAME = (
    select(uploads.c.file_name)
    .where(uploads.c.user_id == bindparam("user_id"), uploads.c.sha256 == files.c.sha256)
    .scalar_subquery()
)
_sender_upload = uploads.alias("sender_upload")
# The newest message the caller sees that shows the blob: the name its sender uploaded it
# under ("" when the sender sent a blob they may fetch but did not upload); NULL if none.
_MESSAGE_NAME = (
    select(func.coalesce(_sender_upload.c.file_name, ""))
    .select_from(message_files)
    .join(
        members,
        and_(
            members.c.conversation_id == message_files.c.conversation_id,
            members.c.user_id == bindparam("user_id"),
        ),
    )
    .join(
        messages,
        and_(
            messages.c.conversation_id == message_files.c.conversation_id,
            messages.c.seq == message_files.c.seq,
        ),
    )
    .outerjoin(
        _sender_upload,
        and_(
            _sender_upload.c.user_id == messages.c.sender_id,
            _sender_upload.c.sha256 == message_files.c.sha256,
        ),
    )
    .where(
        message_files.c.sha256 == files.c.sha256,
        # Rule 11: the window of seqs this member sees.
        members.c.join_seq < message_files.c.seq,
        or_(members.c.left_seq.is_(None), message_files.c.seq <= members.c.left_seq),
    )
    .order_by(message_files.c.seq.desc())
    .limit(1)
    .scalar_subquery()
)
# users.face_url has no index: the avatar check runs only when the other two found
# nothing (CASE evaluates its branches lazily on SQLite and PostgreSQL).
_IS_FACE = case(
    (
        and_(_OWN_NAME.is_(None), _MESSAGE_NAME.is_(None)),
        exists().where(users.c.face_url == literal(FILE_URL_PREFIX) + files.c.sha256),
    ),
    else_=False,
)
_FETCHABLE = select(
    *_FILE_COLUMNS,
    _OWN_NAME.label("own_name"),
    _MESSAGE_NAME.label("message_name"),
    _IS_FACE.label("is_face"),
).where(files.c.sha256 == bindparam("sha256"))


def fetchable(conn: Connection, user_id: str, sha256: str) -> Grant | None:
    """The blob, if this user may fetch it (see the module docstring); else None."""
    row = conn.execute(_FETCHABLE, {"user_id": user_id, "sha256": sha256}).first()
    if row is None:
        return None
    if row.own_name is not None:
        name = str(row.own_name)
    elif row.message_name is not None:
        name = str(row.message_name)
    elif row.is_face:
        name = ""
    else:
        return None
    return Grant(_stored(row), name)


def get_files(conn: Connection, shas: Collection[str]) -> dict[str, StoredFile]:
    return {row.sha256: _stored(row) for row in conn.execute(_GET_FILES, {"shas": list(shas)})}


def _stored(row: Row[*tuple[Any, ...]]) -> StoredFile:
    return StoredFile(
        sha256=row.sha256,
        size=int(row.size),
        mime=row.mime,
        width=row.width,
        height=row.height,
        thumb_sha256=row.thumb_sha256,
    )


# -- writes --------------------------------------------------------------------------------


def _dialect_insert(conn: Connection, table: object) -> Insert:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table)  # type: ignore[arg-type]


def insert_file(conn: Connection, stored: StoredFile, now: int) -> None:
    """Add a blob's row; a row for the same bytes (a concurrent upload) is kept."""
    statement = _dialect_insert(conn, files).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=[files.c.sha256]
    )
    conn.execute(
        statement,
        {
            "sha256": stored.sha256,
            "size": stored.size,
            "mime": stored.mime,
            "width": stored.width,
            "height": stored.height,
            "thumb_sha256": stored.thumb_sha256,
            "created_at": now,
        },
    )


def record_upload(conn: Connection, user_id: str, sha256: str, file_name: str, now: int) -> None:
    """The user uploaded these bytes under this name (the latest name wins)."""
    statement = _dialect_insert(conn, uploads)
    statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[uploads.c.user_id, uploads.c.sha256],
        set_={"file_name": statement.excluded.file_name},  # type: ignore[attr-defined]
    )
    conn.execute(
        statement,
        {"user_id": user_id, "sha256": sha256, "file_name": file_name, "created_at": now},
    )


_INSERT_MESSAGE_FILES = message_files.insert()
_DELETE_MESSAGE_FILES = delete(message_files).where(
    message_files.c.conversation_id == bindparam("conversation_id"),
    message_files.c.seq == bindparam("seq"),
)


def insert_message_files(
    conn: Connection, conversation_id: str, seq: int, shas: Collection[str]
) -> None:
    """The blobs the message at seq shows (whoever sees seq may fetch them)."""
    rows = [{"conversation_id": conversation_id, "seq": seq, "sha256": s} for s in set(shas)]
    if rows:
        conn.execute(_INSERT_MESSAGE_FILES, rows)


def delete_message_files(conn: Connection, conversation_id: str, seq: int) -> None:
    """A revoked message shows nothing: its blobs are no longer fetchable through it."""
    conn.execute(_DELETE_MESSAGE_FILES, {"conversation_id": conversation_id, "seq": seq})
