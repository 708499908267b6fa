"""Marking conversations read (rules 2-3): positions only move forward.

A mark-read also clears the mark-unread flag (rule 15) when it comes after it, judged by
version: the request carries the version of the record the client held, and a flag set
at a later version (one that client had not seen) survives it.
"""

from __future__ import annotations

from typing import Any

from server import events
from server.actions.conversations import not_a_member
from server.actions.receipts import ReceiptBatcher
from server.actions.state import peer_states, user_state, user_state_since, user_states
from server.actions.users import CurrentUser
from server.fanout import Hub
from server.schemas import MarkReadRequest, ReadAllRequest
from server.storage import Database, Tx, read_state
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
    version = read_state.ANY_VERSION if request.version is None else request.version
    with db.write() as tx:
        # Lock the users first, as every writer does; the guarded UPDATE then reads the
        # record's max_seq under that lock and says whether the position moved.
        user_store.lock_users(tx.conn, affected)
        target = read_state.advance_read(tx.conn, user.user_id, conversation_id, requested, version)
        if target is None:
            # Nothing moved (idempotent repeat, or a stale request), but a flag may clear.
            if read_state.clear_marked_unread(tx.conn, user.user_id, conversation_id, version):
                return {"state": _changed(db, hub, tx, user.user_id, conversation_id)}
            # No version, no event. Or there is no such membership, which the answer tells.
            mine = user_state(tx.conn, db.epoch, user.user_id, [conversation_id])
            if not mine["conversations"]:
                raise not_a_member(conversation_id)
            return {"state": mine}
        mine = _moved(db, hub, tx, user.user_id, conversation_id, peer_id, target, receipts)
    return {"state": mine}


def _moved(
    db: Database,
    hub: Hub,
    tx: Tx,
    user_id: str,
    conversation_id: str,
    peer_id: str | None,
    target: int,
    receipts: ReceiptBatcher | None,
) -> dict[str, Any]:
    """The reader's position moved to ``target``: versions, the peer's copy, events."""
    affected = [user_id] if peer_id is None else [user_id, peer_id]
    # The peer's copy of this position moves with it (one value, two records).
    if peer_id is not None:
        read_state.advance_peer_read(tx.conn, peer_id, conversation_id, target)
    user_store.bump_versions(tx.conn, affected)
    conversation_store.stamp_members(tx.conn, conversation_id, affected)
    states = user_states(tx.conn, db.epoch, affected, [conversation_id])
    mine = states[user_id]
    pushed = [(user_id, events.conversation_changed(mine))]
    if peer_id is not None:
        pushed.append((peer_id, events.receipt_c2c(states[peer_id], user_id, target)))
    tx.on_commit(lambda: hub.publish(pushed))
    if peer_id is None and receipts is not None:
        tx.on_commit(lambda: receipts.note(conversation_id, user_id, target))
    return mine


def _changed(db: Database, hub: Hub, tx: Tx, user_id: str, conversation_id: str) -> dict[str, Any]:
    """Only the user's own record changed (a flag): one version, one event to their devices."""
    user_store.bump_versions(tx.conn, [user_id])
    conversation_store.stamp_members(tx.conn, conversation_id, [user_id])
    mine = user_state(tx.conn, db.epoch, user_id, [conversation_id])
    pushed = [(user_id, events.conversation_changed(mine))]
    tx.on_commit(lambda: hub.publish(pushed))
    return mine


def hide(
    db: Database,
    hub: Hub,
    user: CurrentUser,
    conversation_id: str,
    receipts: ReceiptBatcher | None = None,
) -> dict[str, Any]:
    """OpenIM's "delete chat for me": read to the end, flag cleared, out of the list until
    a new message arrives. Hiding reads first, so nothing unread is ever hidden."""
    peer_id = _peer(conversation_id, user.user_id)
    affected = [user.user_id] if peer_id is None else [user.user_id, peer_id]
    with db.write() as tx:
        user_store.lock_users(tx.conn, affected)
        target = read_state.advance_read(
            tx.conn, user.user_id, conversation_id, read_state.UP_TO_MAX
        )
        hidden = read_state.hide(tx.conn, user.user_id, conversation_id)
        if target is not None:
            mine = _moved(db, hub, tx, user.user_id, conversation_id, peer_id, target, receipts)
        elif hidden:
            mine = _changed(db, hub, tx, user.user_id, conversation_id)
        else:  # already hidden and read; or not theirs
            mine = user_state(tx.conn, db.epoch, user.user_id, [conversation_id])
            if not mine["conversations"]:
                raise not_a_member(conversation_id)
    return {"state": mine}


class _PeersMoved(Exception):
    """A chat became unread between reading the peers to lock and taking the locks."""


def read_all(
    db: Database,
    hub: Hub,
    user: CurrentUser,
    request: ReadAllRequest,
    receipts: ReceiptBatcher | None = None,
) -> dict[str, Any]:
    """markAllConversationMessageAsRead: every record read to its max_seq and its flag
    cleared (unless set after ``request.version``), in one transaction with one version
    bump and one event, whatever the number of conversations (set-based statements)."""
    version = read_state.ANY_VERSION if request.version is None else request.version
    for _ in range(3):
        try:
            return _read_all(db, hub, user.user_id, version, receipts)
        except _PeersMoved:
            continue  # rolled back: read the peers again
    return _read_all(db, hub, user.user_id, version, receipts, wait=True)


def _read_all(
    db: Database,
    hub: Hub,
    user_id: str,
    version: int,
    receipts: ReceiptBatcher | None,
    wait: bool = False,
) -> dict[str, Any]:
    with db.write() as tx:
        conn = tx.conn
        # The peers whose copies will move are locked with the user, in user-ID order as
        # every writer locks; under the user's lock nothing of their records can change.
        locked = read_state.unread_peers(conn, user_id) | {user_id}
        user_store.lock_users(conn, locked)
        changes = read_state.read_all_changes(conn, user_id, version)
        singles = [cid for cid, peer, moves in changes if moves and peer is not None]
        peers = {peer for _, peer, moves in changes if moves and peer is not None}
        if not peers <= locked:
            if not wait:
                # Locking a newcomer now, out of order, could deadlock: start again.
                raise _PeersMoved
            user_store.lock_users(conn, peers - locked)  # a fourth time: out of order
        if not changes:
            mine = user_state(conn, db.epoch, user_id, [])
            return {"state": mine}
        before = user_store.user_version(conn, user_id)
        user_store.bump_versions(conn, [user_id, *peers])
        read_state.read_all(conn, user_id, version)
        if singles:
            read_state.read_all_peers(conn, user_id, singles)
        # Exactly the records this transaction stamped: those newer than the old version.
        mine = user_state_since(conn, db.epoch, user_id, before)
        pushed = [(user_id, events.conversation_changed(mine))]
        positions = {c["conversationID"]: c["hasReadSeq"] for c in mine["conversations"]}
        for peer, state in peer_states(conn, db.epoch, user_id, singles).items():
            position = positions[state["conversations"][0]["conversationID"]]
            pushed.append((peer, events.receipt_c2c(state, user_id, position)))
        tx.on_commit(lambda: hub.publish(pushed))
        groups = [(cid, positions[cid]) for cid, peer, moves in changes if moves and peer is None]
        if receipts is not None and groups:
            batcher = receipts

            def note() -> None:
                for cid, position in groups:
                    batcher.note(cid, user_id, position)

            tx.on_commit(note)
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
