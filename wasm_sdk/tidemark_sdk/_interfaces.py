"""The two things the sans-I/O core is given: a :class:`Store` and a :class:`Transport`.

The core (``_client.py``) never does I/O itself; it awaits these methods. Implementations:
``MemoryStore``, ``SqliteStore`` and ``HttpTransport`` here (CPython), and a browser one
(IndexedDB, ``fetch``, ``WebSocket``) in the web build.

Every method is a coroutine so that one interface fits both worlds: a browser
implementation awaits one JS Promise per call. Each :class:`Store` method is meant to be
ONE storage transaction — in IndexedDB, one JS helper that opens a transaction, does every
request of it and resolves one Promise. Never await Python code between two requests of
one transaction: IndexedDB auto-commits a transaction as soon as it is idle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from tidemark_sdk._files import FileSource
from tidemark_sdk._models import Applied, CacheMeta, Conversation, Draft, Message, Session


class Store(Protocol):
    """The client's cache: a copy of server-confirmed state (rules 1, 5, 10).

    Holds one :class:`CacheMeta`, conversation records keyed by ``conversationID``,
    messages keyed by ``(conversationID, seq)``, this device's :class:`Draft` s of the
    cache's user (not server state: they survive a :meth:`reset` for the same user, a
    full snapshot, and go with a reset for another user), and — apart from the cache,
    surviving :meth:`reset` — the saved :class:`Session`. Returned values must be fresh copies:
    the caller may hand them to the page, which may modify them.
    """

    async def load(self) -> CacheMeta | None:
        """The cache's meta, or None when there is no cache yet."""
        ...

    async def reset(
        self, meta: CacheMeta, conversations: Sequence[Conversation], messages: Sequence[Message]
    ) -> None:
        """One transaction: drop every conversation and message, then store exactly these.

        Used for a full snapshot (rule 5) and to start an empty cache for another user:
        the drafts are dropped too when ``meta.userID`` is not the cache's user.
        """
        ...

    async def apply(
        self,
        version: int | None,
        conversations: Sequence[Conversation],
        messages: Sequence[Message],
    ) -> Applied:
        """One transaction, version-guarded (rules 6 and 10):

        - each conversation record is stored only if no record with its
          ``conversationID`` exists or the stored one has a smaller ``version``;
        - each message is stored only if ``(conversationID, seq)`` is not stored yet, or
          if it is a tombstone (contentType 2101) and the stored one is not: messages are
          immutable but for revocation, one way (a tombstone is never replaced);
        - if ``version`` is not None, ``meta.version`` becomes ``max(stored, version)``:
          it never goes down.

        Returns ``{"version": meta.version after the transaction, "changes": [{"old",
        "new"} for every record stored, old None if it is new], "messages": [the
        messages newly stored, tombstones that replaced a message included]}``.
        """
        ...

    async def drafts(self) -> list[Draft]:
        """The cache's user's drafts on this device (only non-empty ones), any order."""
        ...

    async def save_draft(self, draft: Draft) -> None:
        """One transaction: keep this draft for its conversation (``draftText`` "":
        forget it)."""
        ...

    async def conversations(self) -> list[Conversation]:
        """Every cached conversation record, in any order."""
        ...

    async def messages(
        self, conversation_id: str, before_seq: int | None, count: int
    ) -> list[Message]:
        """Up to ``count`` cached messages of a conversation with ``seq < before_seq``
        (no bound if None), the highest such seqs, returned oldest first."""
        ...

    async def load_session(self) -> Session | None:
        """The saved login, or None."""
        ...

    async def save_session(self, session: Session | None) -> None:
        """Save the login (None: forget it). Independent of the cache."""
        ...


class Connection(Protocol):
    """An open WebSocket to ``/api/ws`` carrying JSON objects, one per text frame."""

    async def send(self, frame: Mapping[str, Any]) -> None:
        """Send one frame; raise ``NetworkError`` if the connection is closed."""
        ...

    async def receive(self) -> dict[str, Any]:
        """The next frame, in order; raise ``NetworkError`` once the connection is closed
        (also for every later call), ``ProtocolError`` for a frame that is not a JSON
        object."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice or after the server closed it."""
        ...


class Transport(Protocol):
    """HTTP requests and the WebSocket, to one server."""

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the JSON object answered.

        ``path`` starts with ``/api/`` and includes any query string (already encoded);
        ``body`` is sent as JSON; ``token`` as ``Authorization: Bearer <token>``.
        A non-2xx answer raises ``error_from_response(status, json)``; a request that
        gets no answer raises ``NetworkError``; an answer that is not a JSON object
        raises ``ProtocolError``.
        """
        ...

    async def upload(
        self,
        path: str,
        file: FileSource,
        content_type: str,
        token: str,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """``PUT path`` (``/api/files?name=…&kind=…``) with the file's bytes as the raw
        body and this ``Content-Type``; the JSON object answered (an ``UploadedFile``).

        ``on_progress(percent)`` (0-100) as the body goes out, as often as the transport
        can tell (at least once, 100, when the whole body is sent). Errors as
        :meth:`request`'s (1601-1604 from the server become the FileError classes).
        """
        ...

    async def download(self, path: str, token: str) -> Any:
        """``GET path`` (``/api/files/<uuid>``): the file's bytes as this side holds them
        (CPython: ``bytes``; the browser: a ``Blob``, wrapped as ``JsBlob``). Errors as
        :meth:`request`'s."""
        ...

    async def connect(self) -> Connection:
        """Open the WebSocket at ``/api/ws``; raise ``NetworkError`` if it fails.

        Authentication is the core's business: it sends the ``auth`` frame itself.
        """
        ...
