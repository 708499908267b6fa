"""Marking conversations read (rules 2-3): positions only move forward."""

from __future__ import annotations

from typing import Any

from server import events
from server.actions.conversations import check_member
from server.actions.state import user_states
from server.actions.users import CurrentUser
from server.fanout import Hub
from server.schemas import MarkReadRequest
from server.storage import Database, read_state
from server.storage import conversations as conversation_store
from server.storage import users as user_store


def mark_read(
    db: Database, hub: Hub, user: CurrentUser, conversation_id: str, request: MarkReadRequest
) -> dict[str, Any]:
    with db.write() as tx:
        check_member(tx.conn, user.user_id, conversation_id)
        conversation = conversation_store.get_conversation(tx.conn, conversation_id)
        assert conversation is not None
        peer_id = (
            _peer(conversation_id, user.user_id) if conversation.conversation_type == 1 else None
        )
        affected = [user.user_id] if peer_id is None else [user.user_id, peer_id]
        # Lock the users first, as every writer does, then read max_seq under that lock.
        user_store.lock_users(tx.conn, affected)
        top = conversation_store.max_seq(tx.conn, conversation_id)
        target = top if request.seq is None else min(request.seq, top)
        if read_state.advance_read(tx.conn, user.user_id, conversation_id, target):
            # The peer's copy of this position moves with it (one value, two records).
            if peer_id is not None:
                read_state.advance_peer_read(tx.conn, peer_id, conversation_id, target)
            user_store.bump_versions(tx.conn, affected)
            conversation_store.stamp_members(tx.conn, conversation_id, affected)
            changed = True
        else:
            # Nothing moved (idempotent repeat, or a stale request): no version, no event.
            changed = False
        states = user_states(
            tx.conn, db.epoch, affected if changed else [user.user_id], [conversation_id]
        )
        mine = states[user.user_id]
        if changed:
            pushed = [(user.user_id, events.conversation_changed(mine))]
            if peer_id is not None:
                receipt = events.receipt_c2c(states[peer_id], user.user_id, target)
                pushed.append((peer_id, receipt))
            tx.on_commit(lambda: hub.publish(pushed))
    return {"state": mine}


def _peer(conversation_id: str, user_id: str) -> str:
    first, second = conversation_id[len("si_") :].split("_")
    return second if user_id == first else first
