"""Marking conversations read (rules 2-3): positions only move forward."""

from __future__ import annotations

from typing import Any

from server import events
from server.actions.conversations import not_a_member
from server.actions.receipts import ReceiptBatcher
from server.actions.state import user_state, user_states
from server.actions.users import CurrentUser
from server.fanout import Hub
from server.schemas import MarkReadRequest
from server.storage import Database, read_state
from server.storage import conversations as conversation_store
from server.storage import users as user_store


def mark_read(
    db: Database,
    hub: Hub,
    user: CurrentUser,
    conversation_id: str,
    request: MarkReadRequest,
    receipts: ReceiptBatcher | None = None,
) -> dict[str, Any]:
    """``receipts``: where a group's new read position goes, to reach its senders."""
    # The peer of a single chat is in its ID: the users to lock are known before any read.
    peer_id = _peer(conversation_id, user.user_id)
    affected = [user.user_id] if peer_id is None else [user.user_id, peer_id]
    requested = read_state.UP_TO_MAX if request.seq is None else request.seq
    with db.write() as tx:
        # Lock the users first, as every writer does; the guarded UPDATE then reads the
        # record's max_seq under that lock and says whether the position moved.
        user_store.lock_users(tx.conn, affected)
        target = read_state.advance_read(tx.conn, user.user_id, conversation_id, requested)
        if target is None:
            # Nothing moved (idempotent repeat, or a stale request): no version, no event.
            # Or there is no such membership, which the answer's own query tells.
            mine = user_state(tx.conn, db.epoch, user.user_id, [conversation_id])
            if not mine["conversations"]:
                raise not_a_member(conversation_id)
            return {"state": mine}
        # The peer's copy of this position moves with it (one value, two records).
        if peer_id is not None:
            read_state.advance_peer_read(tx.conn, peer_id, conversation_id, target)
        user_store.bump_versions(tx.conn, affected)
        conversation_store.stamp_members(tx.conn, conversation_id, affected)
        states = user_states(tx.conn, db.epoch, affected, [conversation_id])
        mine = states[user.user_id]
        pushed = [(user.user_id, events.conversation_changed(mine))]
        if peer_id is not None:
            pushed.append((peer_id, events.receipt_c2c(states[peer_id], user.user_id, target)))
        tx.on_commit(lambda: hub.publish(pushed))
        if peer_id is None and receipts is not None:
            tx.on_commit(lambda: receipts.note(conversation_id, user.user_id, target))
    return {"state": mine}


def _peer(conversation_id: str, user_id: str) -> str | None:
    """The other user of a single chat this user is in; None for a group (or not theirs)."""
    if not conversation_id.startswith("si_"):
        return None
    first, _, second = conversation_id[len("si_") :].partition("_")
    if user_id == first:
        return second
    if user_id == second:
        return first
    raise not_a_member(conversation_id)
