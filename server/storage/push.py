"""Web Push subscriptions (one per browser, tied to the session that made it) and the
server-wide secrets (the VAPID key pair)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from server.storage.tables import push_subscriptions, secrets

subs = push_subscriptions.c


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    user_id: str
    p256dh: str
    auth: str
    previews: bool

    @property
    def endpoint_hash(self) -> str:
        return endpoint_hash(self.endpoint)


def endpoint_hash(endpoint: str) -> str:
    # The key of a subscription: endpoints are long URLs, too long for a portable index.
    return hashlib.sha256(endpoint.encode()).hexdigest()


_OF_USERS = (
    select(subs.endpoint, subs.user_id, subs.p256dh, subs.auth, subs.previews)
    .where(subs.user_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(subs.user_id, subs.created_at)
)
_DELETE_MINE = delete(push_subscriptions).where(
    subs.endpoint_hash == bindparam("b_endpoint_hash"), subs.user_id == bindparam("b_user_id")
)
_DELETE_GONE = delete(push_subscriptions).where(
    subs.endpoint_hash == bindparam("b_endpoint_hash"), subs.auth == bindparam("b_auth")
)
_DELETE_FOR_TOKEN = delete(push_subscriptions).where(subs.token_hash == bindparam("b_token_hash"))
_NEWEST_FIRST = (
    select(subs.endpoint_hash)
    .where(subs.user_id == bindparam("user_id"))
    .order_by(subs.created_at.desc(), subs.endpoint_hash)
)
_DELETE_HASHES = delete(push_subscriptions).where(
    subs.endpoint_hash.in_(bindparam("b_hashes", expanding=True))
)


def upsert(
    conn: Connection,
    subscription: Subscription,
    token_hash: str,
    now: int,
    keep_per_user: int,
) -> None:
    """Store a subscription by its endpoint: a browser subscribing again (new keys, a new
    session, another user logged in on it) replaces its earlier row. A user keeps at most
    ``keep_per_user`` subscriptions: the oldest beyond that are dropped."""
    values = {
        "endpoint_hash": subscription.endpoint_hash,
        "endpoint": subscription.endpoint,
        "user_id": subscription.user_id,
        "token_hash": token_hash,
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
        "previews": subscription.previews,
        "created_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(push_subscriptions).values(values)
    replaced = {k: v for k, v in values.items() if k != "endpoint_hash"}
    conn.execute(
        statement.on_conflict_do_update(index_elements=[subs.endpoint_hash], set_=replaced)
    )
    hashes = list(conn.scalars(_NEWEST_FIRST, {"user_id": subscription.user_id}))
    if len(hashes) > keep_per_user:
        conn.execute(_DELETE_HASHES, {"b_hashes": hashes[keep_per_user:]})


def delete_mine(conn: Connection, user_id: str, endpoint: str) -> None:
    conn.execute(_DELETE_MINE, {"b_endpoint_hash": endpoint_hash(endpoint), "b_user_id": user_id})


def delete_for_token(conn: Connection, token_hash: str) -> None:
    """Logging out of a session ends its subscriptions."""
    conn.execute(_DELETE_FOR_TOKEN, {"b_token_hash": token_hash})


def delete_gone(conn: Connection, subscription: Subscription) -> None:
    """The push service says this subscription is gone (404/410). Only this copy of it:
    a browser that subscribed again meanwhile has new keys, and keeps its row."""
    parameters = {"b_endpoint_hash": subscription.endpoint_hash, "b_auth": subscription.auth}
    conn.execute(_DELETE_GONE, parameters)


def of_users(conn: Connection, user_ids: Collection[str]) -> list[Subscription]:
    if not user_ids:
        return []
    rows = conn.execute(_OF_USERS, {"user_ids": sorted(set(user_ids))})
    return [
        Subscription(row.endpoint, row.user_id, row.p256dh, row.auth, bool(row.previews))
        for row in rows
    ]


# --- secrets -------------------------------------------------------------------------

_GET_SECRET = select(secrets.c.value).where(secrets.c.name == bindparam("name"))
_INSERT_SECRET = insert(secrets)


def secret(conn: Connection, name: str, make: Callable[[], str]) -> str:
    """The secret called ``name``, made (by ``make``) and stored if there is none.

    Two processes starting at once may both make one: the first insert wins and both
    read the winner's, so every process uses the same secret.
    """
    value = conn.scalar(_GET_SECRET, {"name": name})
    if value is not None:
        return str(value)
    try:
        with conn.begin_nested():
            conn.execute(_INSERT_SECRET, {"name": name, "value": make()})
    except IntegrityError:
        pass  # another process stored it first
    return str(conn.scalar(_GET_SECRET, {"name": name}))
