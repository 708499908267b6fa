"""What the client holds of the server's state, and the rules it applies to it: sans-I/O.

No awaits here: :mod:`tidemark_sdk._sync` asks :meth:`ClientState.plan` what to do with a
payload of absolute state (rules 5 and 6: epochs, versions, gaps), does the store write
the plan calls for (rule 10), and hands what the store did to :meth:`ClientState.announce`,
which returns the events to emit. Unread counts are rule 2's :func:`unread` of each record
as stored, summed; the store is never read back for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from tidemark_sdk._errors import ProtocolError
from tidemark_sdk._models import (
    CacheMeta,
    Change,
    Conversation,
    Message,
    Receipt,
    is_notification,
    unread,
)


@dataclass(frozen=True, slots=True)
class Held:
    """One conversation record as this client last stored or loaded it."""

    version: int
    has_read_seq: int
    unread: int
    # The seq of the record's latestMsg (0: none). Stores write a record's latest message
    # in the same transaction as the record, so this message is in the cache.
    latest_seq: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one payload of absolute state (an answer or an event)."""

    #: The version ``Store.apply`` may raise the cache's version to; None when the
    #: payload does not prove we hold every change up to its version (a gap).
    store_version: int | None
    #: Some change is missing: sync once this payload is applied.
    gap: bool
    #: False when the payload holds nothing this client has not stored already (the
    #: echo of its own change, a replayed event): then the store is not called at all.
    write: bool


class ClientState:
    """The cache's meta (epoch, version), the held records, the unread total."""

    def __init__(self) -> None:
        self.meta: CacheMeta | None = None
        self.user_id = ""
        #: clientMsgIDs this client is sending: their echo may beat the answer, and the
        #: page must not receive its own message as a new one.
        self.sending: set[str] = set()
        self._held: dict[str, Held] = {}
        self._total = 0

    @property
    def total(self) -> int:
        """The unread total (rule 2) of the records held."""
        return self._total

    def open(self, meta: CacheMeta, records: list[Conversation]) -> None:
        """Start from the cache as loaded for the user logging in."""
        self.meta = meta
        self.user_id = meta["userID"]
        self._held.clear()
        self._note(records)
        self._total = self._unread_sum()

    def close(self) -> None:
        self.meta = None

    def advance(self, meta: CacheMeta, version: int) -> None:
        """The store's version after a write with ``meta`` current; ignored if the cache
        was replaced or closed meanwhile (the write awaited the store)."""
        if self.meta is meta:
            self.meta = {**meta, "version": version}

    def replace(self, meta: CacheMeta, fresh: CacheMeta) -> None:
        """A full snapshot replaced the cache: nothing held survives it (announce the
        snapshot's records with ``recount`` to hold them)."""
        if self.meta is meta:
            self.meta = fresh
        self._held.clear()

    def plan(
        self,
        meta: CacheMeta,
        epoch: str,
        version: int,
        records: list[Conversation],
        messages: list[Message],
    ) -> Plan | None:
        """Rules 5 and 6 for a payload at ``(epoch, version)``; None for another epoch
        (not applicable: only a full snapshot can fix the cache)."""
        if epoch != meta["epoch"]:
            return None
        # The global version may advance only when we provably hold every change up to
        # it: the payload is the very next version AND carries the record that change
        # stamped. (An idempotent answer reports the current version without having
        # caused it; that change may be one we have not seen.)
        caused = any(r["version"] == version for r in records)
        gap = version > meta["version"] and not (version == meta["version"] + 1 and caused)
        store_version = None if gap else version
        raises = store_version is not None and store_version > meta["version"]
        write = raises or not self._holds(records, latest_messages(records, messages))
        return Plan(store_version=store_version, gap=gap, write=write)

    def _holds(self, records: list[Conversation], messages: list[Message]) -> bool:
        """Whether storing these would change nothing: every record is held at its
        version or newer, and every message is a held record's latest one."""
        for record in records:
            held = self._held.get(record["conversationID"])
            if held is None or held.version < record["version"]:
                return False
        for message in messages:
            held = self._held.get(message["conversationID"])
            if held is None or held.latest_seq != message["seq"]:
                return False
        return True

    def announce(
        self,
        changes: list[Change],
        messages: list[Message],
        *,
        mine_too: bool,
        receipts: bool = False,
        recount: bool = False,
    ) -> list[tuple[str, Any]]:
        """Hold what the store reports it wrote, and return the events for what really
        changed, in the order to emit them.

        ``messages`` are the ones just stored; of those, announced are the unread ones,
        and (``mine_too``: live, not a catch-up) my own sent from elsewhere and membership
        notifications (rule 12: one that removes me is stored as read, yet it is news) —
        never one this client is sending.
        """
        events: list[tuple[str, Any]] = []
        created = [c["new"] for c in changes if c["old"] is None]
        changed = [
            c["new"]
            for c in changes
            if c["old"] is not None and visible(c["old"]) != visible(c["new"])
        ]
        self._note([c["new"] for c in changes])
        if created:
            events.append(("OnNewConversation", created))
        if changed:
            events.append(("OnConversationChanged", changed))
        if messages:
            news = [
                m
                for m in messages
                if m["clientMsgID"] not in self.sending
                and (
                    m["seq"] > self.read_position(m["conversationID"])
                    or (mine_too and (m["sendID"] == self.user_id or is_notification(m)))
                )
            ]
            if news:
                news.sort(key=lambda m: (m["sendTime"], m["seq"]))
                events.append(("OnRecvNewMessages", news))
        if receipts:
            read_receipts = [
                Receipt(
                    conversationID=c["new"]["conversationID"],
                    userID=c["new"]["userID"],
                    hasReadSeq=c["new"]["peerHasReadSeq"],
                )
                for c in changes
                if c["new"]["peerHasReadSeq"] > (c["old"]["peerHasReadSeq"] if c["old"] else 0)
            ]
            if read_receipts:
                events.append(("OnRecvC2CReadReceipt", read_receipts))
        if changes or recount:
            total = self._unread_sum()
            if total != self._total:
                self._total = total
                events.append(("OnTotalUnreadMessageCountChanged", total))
        return events

    def read_position(self, conversation_id: str) -> int:
        held = self._held.get(conversation_id)
        return held.has_read_seq if held is not None else 0

    def _note(self, records: list[Conversation]) -> None:
        for record in records:
            latest = record["latestMsg"]
            self._held[record["conversationID"]] = Held(
                version=record["version"],
                has_read_seq=record["hasReadSeq"],
                unread=unread(record),
                latest_seq=latest["seq"] if latest is not None else 0,
            )

    def _unread_sum(self) -> int:
        return sum(held.unread for held in self._held.values())


def parse_state(state: Any) -> tuple[str, int, list[Conversation]]:
    """``(epoch, version, records)`` of a ``state`` object (README), records normalized."""
    try:
        records = [normalized(r) for r in state["conversations"]]
        return str(state["epoch"]), int(state["version"]), records
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"bad state: {error!r}") from None


def normalized(record: Any) -> Conversation:
    """A server record as cached: unreadCount recomputed from positions (rule 2)."""
    if not isinstance(record, dict):
        raise TypeError("conversation record is not an object")
    conversation = cast(Conversation, dict(record))
    conversation["unreadCount"] = unread(conversation)
    return conversation


def visible(record: Conversation) -> dict[str, Any]:
    """A record minus its version: a new version alone is not news for the page."""
    return {k: v for k, v in record.items() if k != "version"}


def latest_messages(records: list[Conversation], messages: list[Message]) -> list[Message]:
    """The messages to store with records: the given ones, then each record's latest."""
    latest = [r["latestMsg"] for r in records if r["latestMsg"] is not None]
    return [*messages, *latest]
