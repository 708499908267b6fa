"""Users, their versions and their bearer tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.tables import tokens, users

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
