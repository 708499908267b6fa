"""Incremental sync (rule 5): everything that changed for a user since a version."""

from __future__ import annotations

from typing import Any

from server.actions.users import CurrentUser
from server.schemas import SyncQuery
from server.storage import Database
from server.storage import conversations as conversation_store
from server.storage import messages as message_store


def sync(db: Database, user: CurrentUser, query: SyncQuery) -> dict[str, Any]:
    with db.read() as conn:
        version, total = conversation_store.versions_and_totals(conn, [user.user_id])[user.user_id]
        # Another database, no version, or a version from the future: only a full
        # snapshot is safe, and the client is told so it drops its cache first.
        full = query.epoch != db.epoch or query.version is None or query.version > version
        records = conversation_store.conversation_records(
            conn, [user.user_id], since_version=None if full else query.version
        )[user.user_id]
        # Tombstones replace stored messages: an incremental copy needs them; a full one
        # drops its messages anyway, and reads history (tombstones included) afresh.
        revoked = []
        if not full and query.version is not None:
            revoked = message_store.revoked_since(conn, user.user_id, query.version)
    return {
        "epoch": db.epoch,
        "version": version,
        "full": full,
        "totalUnreadCount": total,
        "conversations": records,
        "revokedMessages": revoked,
    }
