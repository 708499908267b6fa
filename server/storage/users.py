"""Users, their versions and their bearer tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from server.storage.tables import files, members, tokens, uploads, users

# Built once and executed with parameters (see storage/conversations.py).
_INSERT_USER = insert(users)
_GET_USER = select(users.c.user_id, users.c.nickname, users.c.password_hash, users.c.version).where(
    users.c.user_id == bindparam("user_id")
)
_IN_USER_IDS = users.c.user_id.in_(bindparam("user_ids", expanding=True))
_EXISTING = select(users.c.user_id).where(_IN_USER_IDS)
_VERSION = select(users.c.version).where(users.c.user_id == bindparam("user_id"))
_LOCK = select(users.c.user_id).where(_IN_USER_IDS).order_by(users.c.user_id).with_for_update()
_BUMP = (
    update(users)
    .where(users.c.user_id.in_(bindparam("b_user_ids", expanding=True)))
    .values(version=users.c.version + 1)
)
_INSERT_TOKEN = insert(tokens)
_TOKEN_OWNER = (
    select(tokens.c.user_id, users.c.nickname, tokens.c.expires_at)
    .join(users, users.c.user_id == tokens.c.user_id)
    .where(tokens.c.token_hash == bindparam("token_hash"))
)
_DELETE_TOKEN = delete(tokens).where(tokens.c.token_hash == bindparam("b_token_hash"))


def insert_user(
    conn: Connection, user_id: str, nickname: str, password_hash: str, now: int
) -> bool:
    """Create a user; False when the ID is taken."""
    try:
        with conn.begin_nested():
            conn.execute(
                _INSERT_USER,
                {
                    "user_id": user_id,
                    "nickname": nickname,
                    "password_hash": password_hash,
                    "version": 0,
                    "created_at": now,
                },
            )
    except IntegrityError:
        return False
    return True


def get_user(conn: Connection, user_id: str) -> Row[*tuple[Any, ...]] | None:
    return conn.execute(_GET_USER, {"user_id": user_id}).first()


def existing_user_ids(conn: Connection, user_ids: Iterable[str]) -> set[str]:
    wanted = list(user_ids)
    if not wanted:
        return set()
    return set(conn.scalars(_EXISTING, {"user_ids": wanted}))


def user_version(conn: Connection, user_id: str) -> int:
    version = conn.scalar(_VERSION, {"user_id": user_id})
    return int(version or 0)


def lock_users(conn: Connection, user_ids: Iterable[str]) -> None:
    """Lock these users' rows in user-ID order.

    Every write transaction that touches several users takes these locks first, in this
    order, so concurrent writers cannot deadlock on PostgreSQL (SQLite has one writer).
    """
    if conn.dialect.name == "sqlite":
        return  # BEGIN IMMEDIATE already made this the only writer
    conn.execute(_LOCK, {"user_ids": sorted(set(user_ids))}).all()


def bump_versions(conn: Connection, user_ids: Iterable[str]) -> None:
    """Give each user a new version: something they can see is changing.

    The caller holds these users' locks (:func:`lock_users`), taken before anything else.
    """
    conn.execute(_BUMP, {"b_user_ids": sorted(set(user_ids))})


def insert_token(conn: Connection, token_hash: str, user_id: str, expires_at: int) -> None:
    conn.execute(
        _INSERT_TOKEN, {"token_hash": token_hash, "user_id": user_id, "expires_at": expires_at}
    )


def token_owner(conn: Connection, token_hash: str) -> tuple[str, str, int] | None:
    """(user_id, nickname, expires_at) of a live or expired token; None if unknown."""
    row = conn.execute(_TOKEN_OWNER, {"token_hash": token_hash}).first()
    return None if row is None else (row.user_id, row.nickname, int(row.expires_at))


def delete_token(conn: Connection, token_hash: str) -> None:
    conn.execute(_DELETE_TOKEN, {"b_token_hash": token_hash})


_NICKNAMES = select(users.c.user_id, users.c.nickname).where(
    users.c.user_id.in_(bindparam("user_ids", expanding=True))
)


def nicknames(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """user_id -> nickname, for those of these users who exist."""
    rows = conn.execute(_NICKNAMES, {"user_ids": sorted(set(user_ids))})
    return {user_id: nickname for user_id, nickname in rows}


# --- Profiles and the directory (issue 12) -----------------------------------------------

_PUBLIC_COLUMNS = (users.c.user_id, users.c.nickname, users.c.face_url)
_PUBLIC_USERS = select(*_PUBLIC_COLUMNS).where(_IN_USER_IDS)
_SELF_INFO = select(*_PUBLIC_COLUMNS, users.c.created_at).where(
    users.c.user_id == bindparam("user_id")
)
_SET_PROFILE = update(users).where(users.c.user_id == bindparam("b_user_id"))
# The records of the caller's single chats as their peers hold them: each shows the
# caller's nickname and avatar (showName, faceURL).
_PEER_RECORDS_OF = select(members.c.user_id, members.c.conversation_id).where(
    members.c.peer_id == bindparam("user_id")
)
_STAMP_PEER_RECORDS = (
    update(members)
    .where(members.c.peer_id == bindparam("b_user_id"))
    .values(
        version=select(users.c.version)
        .where(users.c.user_id == members.c.user_id)
        .scalar_subquery()
    )
)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_UPLOADED_MIME = (
    select(files.c.mime)
    .join(uploads, uploads.c.sha256 == files.c.sha256)
    .where(uploads.c.user_id == bindparam("user_id"), files.c.sha256 == bindparam("sha256"))
)


def public_user(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """OpenIM's PublicUserItem: all anyone may see of a user."""
    return {"userID": row.user_id, "nickname": row.nickname, "faceURL": row.face_url, "ex": ""}


def public_users(conn: Connection, user_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The profiles of these users, in the order asked; unknown IDs are left out."""
    wanted = list(dict.fromkeys(user_ids))
    rows = conn.execute(_PUBLIC_USERS, {"user_ids": wanted})
    found = {row.user_id: public_user(row) for row in rows}
    return [found[user_id] for user_id in wanted if user_id in found]


def self_info(conn: Connection, user_id: str) -> dict[str, Any] | None:
    row = conn.execute(_SELF_INFO, {"user_id": user_id}).first()
    return None if row is None else {**public_user(row), "createTime": int(row.created_at)}


def set_profile(conn: Connection, user_id: str, nickname: str | None, face_url: str | None) -> None:
    values = {"nickname": nickname, "face_url": face_url}
    changes = {column: value for column, value in values.items() if value is not None}
    if changes:
        conn.execute(_SET_PROFILE.values(**changes), {"b_user_id": user_id})


def uploaded_mime(conn: Connection, user_id: str, sha256: str) -> str | None:
    """The sniffed type of a blob this user uploaded; None if they did not upload it."""
    mime = conn.scalar(_UPLOADED_MIME, {"user_id": user_id, "sha256": sha256})
    return None if mime is None else str(mime)


def single_chat_peers(conn: Connection, user_id: str) -> dict[str, str]:
    """peer_id -> conversation_id of every single chat of this user."""
    rows = conn.execute(_PEER_RECORDS_OF, {"user_id": user_id})
    return {peer_id: conversation_id for peer_id, conversation_id in rows}


def stamp_peer_records(conn: Connection, user_id: str) -> None:
    """Stamp the peers' records of this user's single chats with the peers' current
    versions: the profile they show changed. One statement, whatever their number."""
    conn.execute(_STAMP_PEER_RECORDS, {"b_user_id": user_id})


def _like_prefix(keyword: str) -> str:
    """A LIKE pattern matching what starts with ``keyword``, its own % _ and \\ literal."""
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


_folded_id, _folded_nickname = func.lower(users.c.user_id), func.lower(users.c.nickname)
_SEARCH = (
    select(*_PUBLIC_COLUMNS)
    .where(
        or_(
            _folded_id.like(bindparam("pattern"), escape="\\"),
            _folded_nickname.like(bindparam("pattern"), escape="\\"),
        )
    )
    .order_by(
        case(
            (or_(_folded_id == bindparam("folded"), _folded_nickname == bindparam("folded")), 0),
            else_=1,
        ),
        users.c.user_id,
    )
    .limit(bindparam("count"))
)


def search_users(conn: Connection, keyword: str, count: int) -> list[dict[str, Any]]:
    """Users whose ID or nickname starts with ``keyword``, ignoring case; exact matches
    (of either) first, then by user ID.

    Case is folded by the database's lower(): on SQLite that folds ASCII letters only.
    Both columns are scanned (no index on lower(nickname)).
    """
    folded = keyword.lower()
    parameters = {"pattern": _like_prefix(folded), "folded": folded, "count": count}
    return [public_user(row) for row in conn.execute(_SEARCH, parameters)]
