"""Group read receipts (rule 16): derived from read positions, never stored per reader.

"Read by N of M" for a message at seq s counts, among the members at s other than its
sender (M: joined at or before s, not left before s), those who have read up to s (N:
their read position ≥ s; for a member who left, the position they had reached then).

A member's mark-read reaches the senders as ``receipt.group`` events, coalesced: each
server process collects the new positions per conversation and publishes them together
every ``interval`` seconds, one event per member of each conversation that had reads.
A mark-read itself only notes its position (O(1)); its cost does not grow with the
number of senders of the messages read, and 500 messages read at once are one event.
The event carries no version: it is derived data, and a client that missed one asks for
the counts again (:func:`counts`), as it does after a reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from server import events
from server.actions.conversations import not_a_member
from server.actions.users import CurrentUser
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.storage import Database
from server.storage import groups as group_store
from server.storage import messages as message_store
from server.storage.groups import Membership

log = logging.getLogger(__name__)


def _at(members: list[Membership], seq: int, sender: str) -> list[Membership]:
    return [
        m
        for m in members
        if m.user_id != sender and m.join_seq <= seq and (m.left_seq is None or m.left_seq >= seq)
    ]


def _visible(db_conn: Any, user: CurrentUser, conversation_id: str) -> list[Membership]:
    """The group's memberships, if the caller is or was in it."""
    if not conversation_id.startswith("sg_"):
        raise ApiError(ErrorCode.VALIDATION_FAILED, "receipts are for group conversations")
    members = group_store.memberships(db_conn, conversation_id)
    if not any(m.user_id == user.user_id for m in members):
        raise not_a_member(conversation_id)
    return members


def _sees(member: Membership, seq: int) -> bool:
    return member.join_seq <= seq and (member.left_seq is None or seq <= member.left_seq)


def counts(
    db: Database, user: CurrentUser, conversation_id: str, seqs: Sequence[int]
) -> dict[str, Any]:
    """``{"receipts": [{seq, hasReadCount, groupMemberCount}]}`` for the messages at seqs."""
    with db.read() as conn:
        members = _visible(conn, user, conversation_id)
        senders = message_store.senders(conn, conversation_id, seqs)
    mine = next(m for m in members if m.user_id == user.user_id)
    receipts = []
    for seq in sorted(set(seqs)):
        if seq not in senders or not _sees(mine, seq):
            continue
        at = _at(members, seq, senders[seq])
        read = sum(1 for m in at if m.read_seq >= seq)
        receipts.append({"seq": seq, "hasReadCount": read, "groupMemberCount": len(at)})
    return {"receipts": receipts}


def readers(
    db: Database,
    user: CurrentUser,
    conversation_id: str,
    seq: int,
    *,
    read: bool,
    offset: int,
    count: int,
) -> dict[str, Any]:
    """The members at ``seq`` who have (``read``) or have not read its message."""
    with db.read() as conn:
        members = _visible(conn, user, conversation_id)
        senders = message_store.senders(conn, conversation_id, [seq])
    mine = next(m for m in members if m.user_id == user.user_id)
    if seq not in senders or not _sees(mine, seq):
        raise ApiError(ErrorCode.MESSAGE_NOT_FOUND, f"no message {seq} in {conversation_id!r}")
    at = _at(members, seq, senders[seq])
    chosen = [m for m in at if (m.read_seq >= seq) == read]
    page = chosen[offset : offset + count]
    group_id = conversation_id.removeprefix("sg_")
    return {
        "members": [
            {"groupID": group_id, "userID": m.user_id, "nickname": m.nickname, "roleLevel": m.role}
            for m in page
        ],
        "total": len(chosen),
    }


class ReceiptBatcher:
    """Collects group read positions and publishes them per conversation, coalesced."""

    def __init__(self, db: Database, hub: Callable[[], Hub], interval: float = 0.5) -> None:
        self._db = db
        self._hub = hub
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, int]] = {}
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def note(self, conversation_id: str, reader_id: str, has_read_seq: int) -> None:
        """A committed mark-read: publish it with the others of this interval."""
        with self._lock:
            readers = self._pending.setdefault(conversation_id, {})
            readers[reader_id] = max(has_read_seq, readers.get(reader_id, 0))
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="receipts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with self._db.read() as conn:
                members = {cid: group_store.current_member_ids(conn, cid) for cid in pending}
        except Exception:
            log.exception("receipts: could not read the members; dropped (clients re-ask)")
            return
        pushed = []
        for cid, positions in pending.items():
            event = events.receipt_group(cid, positions)
            pushed += [(member, event) for member in members[cid]]
        self._hub().publish(pushed)

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
