"""Users, their versions and their bearer tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.tables import tokens, users


def insert_user(
    conn: Connection, user_id: str, nickname: str, password_hash: str, now: int
) -> bool:
    """Create a user; False when the ID is taken."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(users).values(
                    user_id=user_id,
                    nickname=nickname,
                    password_hash=password_hash,
                    version=0,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def get_user(conn: Connection, user_id: str) -> Row[*tuple[Any, ...]] | None:
    return conn.execute(
        select(users.c.user_id, users.c.nickname, users.c.password_hash, users.c.version).where(
            users.c.user_id == user_id
        )
    ).first()


def existing_user_ids(conn: Connection, user_ids: Iterable[str]) -> set[str]:
    wanted = list(user_ids)
    if not wanted:
        return set()
    return set(conn.scalars(select(users.c.user_id).where(users.c.user_id.in_(wanted))))


def user_version(conn: Connection, user_id: str) -> int:
    version = conn.scalar(select(users.c.version).where(users.c.user_id == user_id))
    return int(version or 0)


def lock_users(conn: Connection, user_ids: Iterable[str]) -> None:
    """Lock these users' rows in user-ID order.

    Every write transaction that touches several users takes these locks first, in this
    order, so concurrent writers cannot deadlock on PostgreSQL (SQLite has one writer).
    """
    if conn.dialect.name == "sqlite":
        return  # BEGIN IMMEDIATE already made this the only writer
    ordered = sorted(set(user_ids))
    conn.execute(
        select(users.c.user_id)
        .where(users.c.user_id.in_(ordered))
        .order_by(users.c.user_id)
        .with_for_update()
    ).all()


def bump_versions(conn: Connection, user_ids: Iterable[str]) -> None:
    """Give each user a new version: something they can see is changing."""
    ordered = sorted(set(user_ids))
    lock_users(conn, ordered)
    conn.execute(
        update(users).where(users.c.user_id.in_(ordered)).values(version=users.c.version + 1)
    )


def insert_token(conn: Connection, token_hash: str, user_id: str, expires_at: int) -> None:
    conn.execute(
        insert(tokens).values(token_hash=token_hash, user_id=user_id, expires_at=expires_at)
    )


def token_owner(conn: Connection, token_hash: str) -> tuple[str, str, int] | None:
    """(user_id, nickname, expires_at) of a live or expired token; None if unknown."""
    row = conn.execute(
        select(tokens.c.user_id, users.c.nickname, tokens.c.expires_at)
        .join(users, users.c.user_id == tokens.c.user_id)
        .where(tokens.c.token_hash == token_hash)
    ).first()
    return None if row is None else (row.user_id, row.nickname, int(row.expires_at))


def delete_token(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(tokens).where(tokens.c.token_hash == token_hash))
