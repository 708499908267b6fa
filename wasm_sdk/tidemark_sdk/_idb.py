"""The :class:`~tidemark_sdk.Store` in IndexedDB, for the browser: over ``web/idb-store.js``,
whose functions each run one whole IndexedDB transaction (STYLE.md point 9).

Plain Python: the JS calls and their conversions go through :mod:`tidemark_sdk._jsbridge`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from tidemark_sdk._errors import StorageError
from tidemark_sdk._jsbridge import call_js, require_pyodide
from tidemark_sdk._models import (
    Applied,
    CacheMeta,
    Change,
    Conversation,
    Draft,
    Message,
    Session,
)

__all__ = ["IndexedDBStore"]


def _copy[T](value: T) -> T:
    """A deep copy of a JSON-shaped value: the caller may modify what it is given."""
    return cast(T, json.loads(json.dumps(value)))


class IndexedDBStore:
    """The cache in IndexedDB, through ``web/idb-store.js`` (``idb_store``: that module,
    already given ``openDB`` by ``configure``).

    There is one cache database per user; the store works on the database of the user
    whose session it last saved or loaded, or whose cache it last reset — which, in the
    client, is always the user logging in or logged in.

    Several tabs share the database, each with its own store object. The version guard
    keeps the records right whoever writes first; but the client decides which events to
    emit from what :meth:`apply` reports, and a record another tab stored first would
    look unchanged. So each store object keeps its own *view*: the record versions it has
    reported (starting from :meth:`load` or :meth:`reset`), and :meth:`apply` reports
    ``changes`` and ``messages`` relative to that view — what is new to this client —
    instead of relative to the database. With one store object alone on the database
    both are the same thing.
    """

    def __init__(self, idb_store: Any) -> None:
        require_pyodide("IndexedDBStore")
        self._js = idb_store
        self._user: str | None = None
        self._session: Session | None = None
        self._view: dict[str, Conversation] = {}  # conversationID -> last reported record

    @property
    def user_id(self) -> str | None:
        """Whose cache this store currently reads and writes."""
        return self._user

    @property
    def session(self) -> Session | None:
        """The session this store last saved or loaded (another tab may have saved a
        newer one since: this one is still ours)."""
        return self._session

    async def _call(self, name: str, *args: Any) -> Any:
        return await call_js(self._js, name, *args, error=StorageError, what=f"IndexedDB {name}")

    async def load(self) -> CacheMeta | None:
        if self._user is None:
            return None
        loaded = await self._call("load", self._user)
        self._view = {r["conversationID"]: r for r in loaded["conversations"]}
        return cast(CacheMeta | None, loaded["meta"])

    async def reset(
        self, meta: CacheMeta, conversations: Sequence[Conversation], messages: Sequence[Message]
    ) -> None:
        self._user = meta["userID"]
        await self._call("reset", meta, list(conversations), list(messages))
        self._view = {r["conversationID"]: _copy(r) for r in conversations}

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        if self._user is None:
            raise StorageError("apply() before reset(): there is no cache")
        result = await self._call("apply", self._user, version, list(conversations), list(messages))
        # maxSeq known before this call, of the conversations of these messages only (not
        # a copy of the whole view: that would cost O(conversations) per event).
        known_seq: dict[str, int] = {}
        for message in messages:
            cid = message["conversationID"]
            if cid not in known_seq:
                record = self._view.get(cid)
                known_seq[cid] = record["maxSeq"] if record is not None else 0
        changes: list[Change] = []
        for record in cast(list[Conversation | None], result["records"]):
            if record is None:  # not stored: nothing newer than what we hold was given
                continue
            old = self._view.get(record["conversationID"])
            if old is None or old["version"] < record["version"]:
                self._view[record["conversationID"]] = record
                changes.append(Change(old=old, new=_copy(record)))
        # New to this client: added now (a tombstone over its message too: the last one
        # written under a key is what is stored), or added by another tab beyond what we
        # knew.
        added = {(m["conversationID"], m["seq"]): m for m in result["messages"]}
        fresh: list[Message] = []
        reported: set[tuple[str, int]] = set()
        for message in messages:
            key = (message["conversationID"], message["seq"])
            if key in reported:
                continue
            if key in added:
                reported.add(key)
                fresh.append(cast(Message, added[key]))
            elif message["seq"] > known_seq.get(message["conversationID"], 0):
                reported.add(key)
                fresh.append(_copy(message))
        return Applied(version=int(result["version"]), changes=changes, messages=fresh)

    async def conversations(self) -> list[Conversation]:
        if self._user is None:
            return []
        return cast(list[Conversation], await self._call("conversations", self._user))

    async def messages(
        self, conversation_id: str, before_seq: int | None, count: int
    ) -> list[Message]:
        if self._user is None:
            return []
        return cast(
            list[Message],
            await self._call("messages", self._user, conversation_id, before_seq, count),
        )

    async def drafts(self) -> list[Draft]:
        if self._user is None:
            return []
        return cast(list[Draft], await self._call("drafts", self._user))

    async def save_draft(self, draft: Draft) -> None:
        if self._user is None:
            raise StorageError("save_draft() before reset(): there is no cache")
        await self._call("saveDraft", self._user, draft)

    async def cached_drafts(self, user_id: str) -> list[Draft]:
        """``user_id``'s drafts on this device (empty if no cache), whoever this store's
        user is."""
        loaded = await self._call("load", user_id)
        meta = cast(CacheMeta | None, loaded["meta"])
        if meta is None or meta["userID"] != user_id:
            return []
        return cast(list[Draft], loaded["drafts"])

    async def peek_session(self) -> Session | None:
        """The saved session, without making its user this store's user."""
        return cast(Session | None, await self._call("loadSession"))

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        """``user_id``'s cached conversations (empty if none), whoever this store's user
        is; leaves this store's view alone."""
        loaded = await self._call("load", user_id)
        meta = cast(CacheMeta | None, loaded["meta"])
        if meta is None or meta["userID"] != user_id:
            return []
        return cast(list[Conversation], loaded["conversations"])

    async def load_session(self) -> Session | None:
        session = cast(Session | None, await self._call("loadSession"))
        self._session = session
        self._user = session["userID"] if session else None
        return session

    async def save_session(self, session: Session | None) -> None:
        own_token = self._session["token"] if self._session else None
        await self._call("saveSession", session, own_token)
        self._session = session
        self._user = session["userID"] if session else None
