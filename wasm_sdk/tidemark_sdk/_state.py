"""What the client holds of the server's state, and the rules it applies to it: sans-I/O.

No awaits here: :mod:`tidemark_sdk._sync` asks :meth:`ClientState.plan` what to do with a
payload of absolute state (rules 5 and 6: epochs, versions, gaps), does the store write
the plan calls for (rule 10), and hands what the store did to :meth:`ClientState.announce`,
which returns the events to emit. The total is the sum of each record's
:func:`contribution` (rules 2, 13, 15) as stored; the store is never read back for it.
This device's drafts are held here too, and added to every record handed out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from tidemark_sdk._errors import ProtocolError
from tidemark_sdk._models import (
    CacheMeta,
    Change,
    Conversation,
    Draft,
    Message,
    Receipt,
    RevokedInfo,
    ShownConversation,
    contribution,
    is_notification,
    is_tombstone,
    unread,
)


@dataclass(frozen=True, slots=True)
class Held:
    """One conversation record as this client last stored or loaded it."""

    version: int
    has_read_seq: int
    #: Its share of the total (:func:`contribution`).
    contribution: int
    # The seq of the record's latestMsg (0: none), and whether it is a tombstone. Stores
    # write a record's latest message in the same transaction as the record, so this
    # message is in the cache.
    latest_seq: int
    latest_revoked: bool


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
        self._drafts: dict[str, Draft] = {}
        #: (conversationID, seq) of the tombstones announced this session: once each.
        self._revoked: set[tuple[str, int]] = set()

    @property
    def total(self) -> int:
        """The unread total of the records held: the sum of their contributions."""
        return self._total

    def open(
        self, meta: CacheMeta, records: list[Conversation], drafts: Sequence[Draft] = ()
    ) -> None:
        """Start from the cache as loaded for the user logging in."""
        self.meta = meta
        self.user_id = meta["userID"]
        self._held.clear()
        self._revoked.clear()
        self._drafts = {d["conversationID"]: d for d in drafts if d["draftText"]}
        self._note(records)
        self._total = self._sum()

    def version_of(self, conversation_id: str) -> int:
        """The version of the record held (0: none): what a mark-read says it has seen,
        so a mark-unread flag set after it survives (rule 15)."""
        held = self._held.get(conversation_id)
        return held.version if held is not None else 0

    # -- drafts (this device's, per user) ----------------------------------------------

    def set_draft(self, draft: Draft) -> None:
        if draft["draftText"]:
            self._drafts[draft["conversationID"]] = draft
        else:
            self._drafts.pop(draft["conversationID"], None)

    def shown(self, record: Conversation) -> ShownConversation:
        """The record as handed out: with this device's draft (OpenIM's field names)."""
        return with_draft(record, self._drafts.get(record["conversationID"]))

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
        version or newer, and every message is a held record's latest one (a tombstone
        only if that one is a tombstone already)."""
        for record in records:
            held = self._held.get(record["conversationID"])
            if held is None or held.version < record["version"]:
                return False
        for message in messages:
            held = self._held.get(message["conversationID"])
            if held is None or held.latest_seq != message["seq"]:
                return False
            if is_tombstone(message) and not held.latest_revoked:
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
        revoked: Sequence[Message] = (),
        revoked_if_changed: Sequence[Message] = (),
    ) -> list[tuple[str, Any]]:
        """Hold what the store reports it wrote, and return the events for what really
        changed, in the order to emit them.

        ``messages`` are the ones just stored; of those, announced are the unread ones,
        and (``mine_too``: live, not a catch-up) my own sent from elsewhere and membership
        notifications (rule 12: one that removes me is stored as read, yet it is news) —
        never one this client is sending. Tombstones are never news: ``revoked`` (the
        tombstones just stored) are announced by OnNewRecvMessageRevoked, and so are
        ``revoked_if_changed`` (the tombstones of a revocation event or a sync's
        ``revokedMessages``) whose record is new to this client though the tombstone
        was stored already (by another tab, or by a history page) — each once.
        """
        events: list[tuple[str, Any]] = []
        created = [self.shown(c["new"]) for c in changes if c["old"] is None]
        changed = [
            self.shown(c["new"])
            for c in changes
            if c["old"] is not None and visible(c["old"]) != visible(c["new"])
        ]
        changed_ids = {c["new"]["conversationID"] for c in changes}
        self._note([c["new"] for c in changes])
        if created:
            events.append(("OnNewConversation", created))
        if changed:
            events.append(("OnConversationChanged", changed))
        if messages:
            news = [
                m
                for m in messages
                if not is_tombstone(m)
                and m["clientMsgID"] not in self.sending
                and (
                    m["seq"] > self.read_position(m["conversationID"])
                    or (mine_too and (m["sendID"] == self.user_id or is_notification(m)))
                )
            ]
            if news:
                news.sort(key=lambda m: (m["sendTime"], m["seq"]))
                events.append(("OnRecvNewMessages", news))
        candidates = [
            *(m for m in revoked if is_tombstone(m)),
            *(
                m
                for m in revoked_if_changed
                if is_tombstone(m) and m["conversationID"] in changed_ids
            ),
        ]
        for tombstone in candidates:
            key = (tombstone["conversationID"], tombstone["seq"])
            if key not in self._revoked:
                self._revoked.add(key)
                events.append(("OnNewRecvMessageRevoked", revoked_info(tombstone)))
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
            total = self._sum()
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
                contribution=contribution(record),
                latest_seq=latest["seq"] if latest is not None else 0,
                latest_revoked=latest is not None and is_tombstone(latest),
            )

    def _sum(self) -> int:
        return sum(held.contribution for held in self._held.values())


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


def with_draft(record: Conversation, draft: Draft | None) -> ShownConversation:
    """``record`` with ``draftText``/``draftTextTime`` ("" and 0 without a draft)."""
    return cast(
        ShownConversation,
        {
            **record,
            "draftText": draft["draftText"] if draft else "",
            "draftTextTime": draft["draftTextTime"] if draft else 0,
        },
    )


def conversation_list(records: list[ShownConversation]) -> list[ShownConversation]:
    """The list as getAllConversationList gives it: hidden records left out; pinned first,
    then by latest activity (OpenIM's: the later of the last message and the draft),
    newest first; the ID breaks ties so the order is stable."""
    listed = [r for r in records if not r.get("isHidden", False)]
    listed.sort(
        key=lambda r: (
            not r.get("isPinned", False),
            -max(r["latestMsgSendTime"], r["draftTextTime"]),
            r["conversationID"],
        )
    )
    return listed


def revoked_info(tombstone: Message) -> RevokedInfo:
    """OnNewRecvMessageRevoked's data: the tombstone's RevokedInfo plus its conversationID
    (the fields the tombstone itself has when the detail is not readable)."""
    try:
        detail = json.loads((tombstone["notificationElem"] or {"detail": ""})["detail"])
    except (KeyError, TypeError, ValueError):
        detail = None
    base = {
        "revokerID": "",
        "revokerRole": 0,
        "revokerNickname": "",
        "clientMsgID": tombstone["clientMsgID"],
        "revokeTime": 0,
        "sourceMessageSendTime": tombstone["sendTime"],
        "sourceMessageSendID": tombstone["sendID"],
        "sourceMessageSenderNickname": "",
        "sessionType": tombstone["sessionType"],
        "seq": tombstone["seq"],
        "ex": "",
    }
    if isinstance(detail, dict):
        base.update({k: v for k, v in detail.items() if k in base})
    return cast(RevokedInfo, {**base, "conversationID": tombstone["conversationID"]})


def visible(record: Conversation) -> dict[str, Any]:
    """A record minus its version: a new version alone is not news for the page."""
    return {k: v for k, v in record.items() if k != "version"}


def latest_messages(records: list[Conversation], messages: list[Message]) -> list[Message]:
    """The messages to store with records: the given ones, then each record's latest."""
    latest = [r["latestMsg"] for r in records if r["latestMsg"] is not None]
    return [*messages, *latest]
