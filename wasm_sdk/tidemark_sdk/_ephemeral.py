"""The frames that are not state: group read receipts (rule 16) and typing (rule 17).

``receipt.group`` and ``typing`` carry no version and no epoch: they are derived or
ephemeral, so they are never written to the store, never compared with the cache's
version and never a reason to sync. A duplicated, late or reordered one is at worst an
event the page already had: receipts are positions (the page keeps the larger counts it
asks for), and a typing indicator ends by itself.

:class:`Ephemera` turns them into the SDK's events:

- ``receipt.group`` → ``OnRecvGroupReadReceipt`` ``{conversationID, readers: [{userID,
  hasReadSeq}]}``;
- ``typing`` → ``OnConversationUserInputStatusChanged`` ``{conversationID, userID, focus}``,
  and ``{…, focus: false}`` once ``expiresInMs`` has passed without a new frame from the
  same user in the same conversation: one asyncio timer per (conversation, user), reset
  by every frame, so a lost "stopped" can never leave someone typing for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypedDict

from tidemark_sdk._models import GroupReader
from tidemark_sdk._protocol import SERVER_EVENT_TYPES

__all__ = ["EPHEMERAL_FRAMES", "Ephemera", "GroupReceipt", "InputStatus"]

logger = logging.getLogger("tidemark_sdk")

RECEIPT_GROUP = SERVER_EVENT_TYPES["RECEIPT_GROUP"]
TYPING = SERVER_EVENT_TYPES["TYPING"]
#: The WebSocket frames handled here, never by the replica.
EPHEMERAL_FRAMES = frozenset({RECEIPT_GROUP, TYPING})

#: When a typing frame says nothing about its expiry (the server's TTL is 5 s).
DEFAULT_TYPING_TTL_MS = 5000


class GroupReceipt(TypedDict):
    """OnRecvGroupReadReceipt's data: these members read up to these seqs."""

    conversationID: str
    readers: list[GroupReader]


class InputStatus(TypedDict):
    """OnConversationUserInputStatusChanged's data."""

    conversationID: str
    userID: str
    focus: bool


class Ephemera:
    """Receipts and typing for one login; :meth:`close` drops the pending expiries."""

    def __init__(self, emit: Callable[[str, Any], None]) -> None:
        self._emit = emit
        self._expiries: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def handle(self, frame: dict[str, Any]) -> None:
        """One of :data:`EPHEMERAL_FRAMES`; a malformed one is logged and dropped (it is
        not worth a reconnect: nothing in the cache depends on it)."""
        try:
            if frame["type"] == RECEIPT_GROUP:
                self._receipt(frame)
            elif frame["type"] == TYPING:
                self._typing(frame)
        except (KeyError, TypeError, ValueError) as error:
            logger.warning("dropped a malformed %s frame: %r", frame.get("type"), error)

    @property
    def typing(self) -> list[tuple[str, str]]:
        """(conversationID, userID) of everyone shown typing now."""
        return sorted(self._expiries)

    def close(self) -> None:
        for handle in self._expiries.values():
            handle.cancel()
        self._expiries.clear()

    def _receipt(self, frame: dict[str, Any]) -> None:
        readers = [
            GroupReader(userID=str(r["userID"]), hasReadSeq=int(r["hasReadSeq"]))
            for r in frame["readers"]
        ]
        conversation_id = frame["conversationID"]
        if not isinstance(conversation_id, str) or not readers:
            raise ValueError("no conversationID or no readers")
        self._emit(
            "OnRecvGroupReadReceipt", GroupReceipt(conversationID=conversation_id, readers=readers)
        )

    def _typing(self, frame: dict[str, Any]) -> None:
        conversation_id, user_id = frame["conversationID"], frame["userID"]
        if not isinstance(conversation_id, str) or not isinstance(user_id, str):
            raise TypeError("conversationID and userID must be strings")
        focus = frame["focus"]
        if not isinstance(focus, bool):
            raise TypeError("focus must be a boolean")
        ttl = frame.get("expiresInMs")
        ttl_ms = DEFAULT_TYPING_TTL_MS if ttl is None else max(0, int(ttl))
        key = (conversation_id, user_id)
        pending = self._expiries.pop(key, None)
        if pending is not None:
            pending.cancel()
        if focus:
            loop = asyncio.get_running_loop()
            self._expiries[key] = loop.call_later(ttl_ms / 1000, self._expire, key)
        self._emit(
            "OnConversationUserInputStatusChanged",
            InputStatus(conversationID=conversation_id, userID=user_id, focus=focus),
        )

    def _expire(self, key: tuple[str, str]) -> None:
        if self._expiries.pop(key, None) is None:
            return
        conversation_id, user_id = key
        self._emit(
            "OnConversationUserInputStatusChanged",
            InputStatus(conversationID=conversation_id, userID=user_id, focus=False),
        )
