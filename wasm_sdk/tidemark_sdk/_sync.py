"""Keeping the cache in step with the server: syncs (rule 5), answers and events (rules 4,
6 and 10), each written to the store in one version-guarded call before its events leave.

:class:`Replica` owns every write to the store. What to write and what to announce is
decided by :class:`~tidemark_sdk._state.ClientState` (sans-I/O); this module does the
awaiting: the sync request (through the client's authenticated ``request``), the store
call, then the events, all under one lock so that events leave in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast
from urllib.parse import urlencode

from tidemark_sdk._errors import (
    ConversationNotFoundError,
    NotLoggedInError,
    ProtocolError,
    SdkError,
)
from tidemark_sdk._interfaces import Store
from tidemark_sdk._models import (
    CACHE_SCHEMA,
    CacheMeta,
    Change,
    Draft,
    Message,
    ShownConversation,
    is_tombstone,
)
from tidemark_sdk._protocol import SERVER_EVENT_TYPES, SERVER_EVENTS
from tidemark_sdk._state import ClientState, latest_messages, normalized, parse_state

Request = Callable[[str, str], Awaitable[dict[str, Any]]]
Emit = Callable[[str, Any], None]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]

#: The WebSocket frames that carry absolute state for the cache: the versioned ones.
#: (``receipt.group`` and ``typing`` carry no version: they never reach the store, see
#: :mod:`tidemark_sdk._ephemeral`.)
EVENT_FRAMES = frozenset(kind for kind, fields in SERVER_EVENTS.items() if "version" in fields)
MESSAGE_NEW = SERVER_EVENT_TYPES["MESSAGE_NEW"]
CONVERSATION_CHANGED = SERVER_EVENT_TYPES["CONVERSATION_CHANGED"]
RECEIPT_C2C = SERVER_EVENT_TYPES["RECEIPT_C2C"]
MESSAGE_REVOKED = SERVER_EVENT_TYPES["MESSAGE_REVOKED"]


class Replica:
    """The store, kept as a replica of the server's state for one user."""

    def __init__(
        self, store: Store, state: ClientState, request: Request, emit: Emit, spawn: Spawn
    ) -> None:
        self._store = store
        self._state = state
        self._request = request
        self._emit = emit
        self._spawn = spawn
        self._sync_lock = asyncio.Lock()
        # Serializes "apply to the store, then emit", so events leave in commit order.
        self._apply_lock = asyncio.Lock()
        self._sync_task: asyncio.Task[None] | None = None
        self._resync = False

    async def open(self, user_id: str) -> None:
        """Open the cache for ``user_id``: the one stored, or an empty one."""
        meta = await self._store.load()
        if meta is None or meta["userID"] != user_id or meta["schema"] != CACHE_SCHEMA:
            # Another user's cache, or an old layout: never show it. The empty epoch
            # makes the first sync a full snapshot.
            meta = CacheMeta(userID=user_id, epoch="", version=0, schema=CACHE_SCHEMA)
            await self._store.reset(meta, [], [])
        self._state.open(meta, await self._store.conversations(), await self._store.drafts())

    def _announce(self, events: list[tuple[str, Any]]) -> None:
        for event, data in events:
            self._emit(event, data)

    # -- sync (rule 5) -----------------------------------------------------------------

    async def sync(self) -> None:
        """One sync since the cache's (epoch, version); raises what failed it."""
        async with self._sync_lock:
            meta = self._state.meta
            if meta is None:
                raise NotLoggedInError("not logged in")
            self._emit("OnSyncServerStart", None)
            try:
                path = "/api/sync"
                if meta["epoch"]:
                    path += "?" + urlencode({"epoch": meta["epoch"], "version": meta["version"]})
                answer = await self._request("GET", path)
                await self._apply_sync(answer)
            except SdkError as error:
                self._emit("OnSyncServerFailed", error.to_json())
                raise
            self._emit("OnSyncServerFinish", None)

    def schedule_sync(self) -> None:
        """Sync in the background; requests while one runs coalesce into one more."""
        if self._sync_task is not None and not self._sync_task.done():
            self._resync = True
            return
        self._sync_task = self._spawn(self._background_sync())

    async def _background_sync(self) -> None:
        while True:
            self._resync = False
            with contextlib.suppress(SdkError):  # reported by OnSyncServerFailed
                await self.sync()
            if not self._resync or self._state.meta is None:
                return

    async def _apply_sync(self, answer: dict[str, Any]) -> None:
        try:
            records = [normalized(r) for r in answer["conversations"]]
            epoch, version, full = str(answer["epoch"]), int(answer["version"]), answer["full"]
            revoked = cast(list[Message], list(answer.get("revokedMessages") or []))
            if not all(isinstance(m, dict) and is_tombstone(m) for m in revoked):
                raise TypeError("revokedMessages holds a message that is not a tombstone")
        except (KeyError, TypeError, ValueError) as error:
            raise ProtocolError(f"bad sync answer: {error!r}") from None
        async with self._apply_lock:
            meta = self._state.meta
            if meta is None:
                return
            if not full:
                # The tombstones of revocations since our version replace what we hold.
                applied = await self._store.apply(
                    version, records, latest_messages(records, revoked)
                )
                self._state.advance(meta, applied["version"])
                # A catch-up announces unread messages only: one read on another device
                # while we were away is not news (Element's "notified after refresh").
                self._announce(
                    self._state.announce(
                        applied["changes"],
                        applied["messages"],
                        mine_too=False,
                        revoked=applied["messages"],
                        revoked_if_changed=revoked,
                    )
                )
                return
            latest = latest_messages(records, [])
            # Full snapshot: the server says our cache cannot be patched (new epoch,
            # unknown version, or no cache yet). Replace it wholesale, in one transaction.
            before = {c["conversationID"]: c for c in await self._store.conversations()}
            fresh = CacheMeta(
                userID=meta["userID"], epoch=epoch, version=version, schema=CACHE_SCHEMA
            )
            await self._store.reset(fresh, records, latest)
            self._state.replace(meta, fresh)
            changes = [Change(old=before.get(r["conversationID"]), new=r) for r in records]
            # Nothing in a snapshot is announced as a new message; conversations may
            # also have gone, so the total is recounted even without changes.
            self._announce(self._state.announce(changes, [], mine_too=False, recount=True))

    # -- answers and events (rules 4, 6, 10) -------------------------------------------

    async def apply_answer(
        self, state: Any, messages: list[Message], *, announce: bool = False
    ) -> None:
        """The state a request's answer carries, applied before the request returns.

        ``announce``: the caller does not hand ``messages`` to the page itself (a group
        change's notification message): announce them as an event's would be, once —
        whichever of the answer and its event comes first stores and announces them.
        """
        if not await self._apply_state(state, messages, live=announce, receipts=False):
            # Another epoch: the cache must be replaced before the caller looks at it.
            self.schedule_sync()
            task = self._sync_task
            if task is not None:
                await asyncio.wait({task})  # its failure is reported by OnSyncServerFailed

    async def apply_event(self, frame: dict[str, Any]) -> None:
        """One of :data:`EVENT_FRAMES` from the WebSocket."""
        kind = frame["type"]
        if kind not in EVENT_FRAMES:
            raise ProtocolError(f"{kind!r} frames carry no state")
        if kind == CONVERSATION_CHANGED:
            state = frame
            messages: list[Message] = []
        else:
            state = {**frame, "conversations": [frame.get("conversation")]}
            messages = []
            if kind in (MESSAGE_NEW, MESSAGE_REVOKED):
                message = frame.get("message")
                if not isinstance(message, dict):
                    raise ProtocolError(f"{kind} without a message")
                messages = [cast(Message, message)]
        if not await self._apply_state(state, messages, live=True, receipts=kind == RECEIPT_C2C):
            self.schedule_sync()  # another epoch: only a snapshot can fix the cache

    async def store_history(self, page: list[Message]) -> None:
        """Messages of a history page (immutable: only the missing ones are written, and
        tombstones over what they revoke; old revocations are not announced)."""
        async with self._apply_lock:
            await self._store.apply(None, [], page)

    async def save_draft(self, draft: Draft) -> ShownConversation:
        """Keep this device's draft of a cached conversation; OnConversationChanged with
        the record carrying it (unless the text is the one kept already)."""
        async with self._apply_lock:
            cid = draft["conversationID"]
            record = next(
                (r for r in await self._store.conversations() if r["conversationID"] == cid),
                None,
            )
            if record is None:
                raise ConversationNotFoundError(f"no conversation {cid!r} in the cache")
            if self._state.shown(record)["draftText"] == draft["draftText"]:
                return self._state.shown(record)
            await self._store.save_draft(draft)
            self._state.set_draft(draft)
            shown = self._state.shown(record)
            self._emit("OnConversationChanged", [shown])
            return shown

    async def _apply_state(
        self, state: Any, messages: list[Message], *, live: bool, receipts: bool
    ) -> bool:
        """Apply absolute state; False if it belongs to another epoch (not applied).

        ``live``: an event, whose new messages are announced; an answer's are not (the
        caller has them already).
        """
        epoch, version, records = parse_state(state)
        async with self._apply_lock:
            meta = self._state.meta
            if meta is None:
                return True
            plan = self._state.plan(meta, epoch, version, records, messages)
            if plan is None:
                return False
            if plan.write:
                # Records' latest messages are stored too: a message that reached the
                # cache inside a record (say, in a mark-read answer) is not announced
                # when its own event comes late.
                applied = await self._store.apply(
                    plan.store_version, records, latest_messages(records, messages)
                )
                self._state.advance(meta, applied["version"])
                keys = {(m["conversationID"], m["seq"]) for m in messages} if live else set()
                fresh = [m for m in applied["messages"] if (m["conversationID"], m["seq"]) in keys]
                self._announce(
                    self._state.announce(
                        applied["changes"],
                        fresh,
                        mine_too=True,
                        receipts=receipts,
                        # Whichever stores a tombstone first announces it: an event, the
                        # revoke's own answer, a record's latest message.
                        revoked=applied["messages"],
                        revoked_if_changed=messages if live else (),
                    )
                )
        if plan.gap:
            self.schedule_sync()
        return True
