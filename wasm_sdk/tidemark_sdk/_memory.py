"""A :class:`~tidemark_sdk.Store` in memory: for tests, bots and load generators."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from tidemark_sdk._models import (
    Applied,
    CacheMeta,
    Change,
    Conversation,
    Draft,
    Message,
    Session,
    is_tombstone,
    rejoin_cut,
)


class MemoryStore:
    """Every method runs without awaiting, so each is one atomic step, like a transaction.

    Values are deep-copied in and out: callers must not be able to edit the cache.
    """

    def __init__(self) -> None:
        self._meta: CacheMeta | None = None
        self._conversations: dict[str, Conversation] = {}
        self._messages: dict[tuple[str, int], Message] = {}
        self._drafts: dict[str, Draft] = {}
        self._session: Session | None = None

    async def load(self) -> CacheMeta | None:
        return copy.deepcopy(self._meta)

    async def reset(
        self, meta: CacheMeta, conversations: Sequence[Conversation], messages: Sequence[Message]
    ) -> None:
        if self._meta is None or self._meta["userID"] != meta["userID"]:
            self._drafts = {}  # another user's cache: their drafts go with it
        self._meta = copy.deepcopy(meta)
        self._conversations = {c["conversationID"]: copy.deepcopy(c) for c in conversations}
        self._messages = {(m["conversationID"], m["seq"]): copy.deepcopy(m) for m in messages}

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        if self._meta is None:
            raise RuntimeError("apply() before reset(): there is no cache")
        changes: list[Change] = []
        for record in conversations:
            old = self._conversations.get(record["conversationID"])
            if old is None or old["version"] < record["version"]:
                self._conversations[record["conversationID"]] = copy.deepcopy(record)
                changes.append(Change(old=copy.deepcopy(old), new=copy.deepcopy(record)))
                cut = rejoin_cut(old, record)
                if cut is not None:
                    # Before this call's messages are written: the join's own
                    # notification may come with the record.
                    cid = record["conversationID"]
                    for key in [k for k in self._messages if k[0] == cid and k[1] <= cut]:
                        del self._messages[key]
        # The messages written, once per key (the last write: a tombstone over its message).
        stored: dict[tuple[str, int], Message] = {}
        for message in messages:
            key = (message["conversationID"], message["seq"])
            old_message = self._messages.get(key)
            # Immutable, except that a tombstone replaces the message it revokes (never
            # the reverse).
            if old_message is None or (is_tombstone(message) and not is_tombstone(old_message)):
                self._messages[key] = copy.deepcopy(message)
                stored[key] = copy.deepcopy(message)
        if version is not None:
            self._meta["version"] = max(self._meta["version"], version)
        return Applied(
            version=self._meta["version"], changes=changes, messages=list(stored.values())
        )

    async def conversations(self) -> list[Conversation]:
        return copy.deepcopy(list(self._conversations.values()))

    async def messages(
        self, conversation_id: str, before_seq: int | None, count: int
    ) -> list[Message]:
        seqs = sorted(
            seq
            for cid, seq in self._messages
            if cid == conversation_id and (before_seq is None or seq < before_seq)
        )
        chosen = seqs[-count:] if count > 0 else []
        return [copy.deepcopy(self._messages[(conversation_id, seq)]) for seq in chosen]

    async def drafts(self) -> list[Draft]:
        return copy.deepcopy(list(self._drafts.values()))

    async def save_draft(self, draft: Draft) -> None:
        if self._meta is None:
            raise RuntimeError("save_draft() before reset(): there is no cache")
        if draft["draftText"]:
            self._drafts[draft["conversationID"]] = copy.deepcopy(draft)
        else:
            self._drafts.pop(draft["conversationID"], None)

    async def load_session(self) -> Session | None:
        return copy.deepcopy(self._session)

    async def save_session(self, session: Session | None) -> None:
        self._session = copy.deepcopy(session)

    # -- CacheReader (tidemark_sdk._facade): one user's cache, so a plain read ----------

    async def peek_session(self) -> Session | None:
        return await self.load_session()

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        if self._meta is None or self._meta["userID"] != user_id:
            return []
        return await self.conversations()

    async def cached_drafts(self, user_id: str) -> list[Draft]:
        if self._meta is None or self._meta["userID"] != user_id:
            return []
        return await self.drafts()
