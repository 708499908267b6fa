"""Tidemark client SDK: instant messaging whose read state never lies.

The core (:class:`TidemarkClient`) is sans-I/O: give it a :class:`Store` and a
:class:`Transport`. In CPython::

    from tidemark_sdk import HttpTransport, SqliteStore, TidemarkClient

    client = TidemarkClient(HttpTransport("http://127.0.0.1:8000"), SqliteStore("cache.db"))
    await client.login("alice", "correct horse")

``SqliteStore`` and ``HttpTransport`` are imported on first use: Pyodide has neither
``sqlite3`` nor ``httpx`` loaded by default, and the browser build does not need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidemark_sdk._client import (
    EVENTS,
    HistoryPage,
    LoginStatus,
    MediaMessage,
    TextMessage,
    TidemarkClient,
)
from tidemark_sdk._errors import (
    AlreadyLoggedInError,
    AuthError,
    BadCredentialsError,
    BodyTooLargeError,
    ClientError,
    ConversationNotFoundError,
    ErrorCode,
    FileEmptyError,
    FileError,
    FileTooLargeError,
    FileTypeMismatchError,
    GroupDismissedError,
    GroupError,
    GroupFullError,
    GroupPermissionDeniedError,
    InvalidJsonError,
    MessageNotFoundError,
    MethodNotAllowedError,
    NetworkError,
    NoSuchFileError,
    NotFoundError,
    NotGroupMemberError,
    NotLoggedInError,
    NotRevocableError,
    ProtocolError,
    RateLimitedError,
    RequestError,
    RequestTimeoutError,
    RevokeError,
    RevokeNotAllowedError,
    RevokeTooLateError,
    SdkBootFailedError,
    SdkError,
    ServerError,
    StorageError,
    TokenExpiredError,
    UnauthorizedError,
    UnavailableError,
    UnsupportedMediaTypeError,
    UserError,
    UserExistsError,
    UserNotFoundError,
    ValidationFailedError,
    error_from_code,
    error_from_response,
)
from tidemark_sdk._files import BytesFile, FileSource
from tidemark_sdk._interfaces import Connection, Store, Transport
from tidemark_sdk._memory import MemoryStore
from tidemark_sdk._models import (
    CACHE_SCHEMA,
    Applied,
    AtTextElem,
    AtUsersInfoItem,
    CacheMeta,
    Change,
    Conversation,
    Draft,
    Message,
    Receipt,
    RevokedInfo,
    Session,
    ShownConversation,
    TextElem,
    contribution,
    unread,
)

if TYPE_CHECKING:
    from tidemark_sdk._cpython import HttpTransport
    from tidemark_sdk._sqlite import SqliteStore

__all__ = [
    "CACHE_SCHEMA",
    "EVENTS",
    "AlreadyLoggedInError",
    "Applied",
    "AtTextElem",
    "AtUsersInfoItem",
    "AuthError",
    "BadCredentialsError",
    "BodyTooLargeError",
    "BytesFile",
    "CacheMeta",
    "Change",
    "ClientError",
    "Connection",
    "Conversation",
    "ConversationNotFoundError",
    "Draft",
    "ErrorCode",
    "FileEmptyError",
    "FileError",
    "FileSource",
    "FileTooLargeError",
    "FileTypeMismatchError",
    "GroupDismissedError",
    "GroupError",
    "GroupFullError",
    "GroupPermissionDeniedError",
    "HistoryPage",
    "HttpTransport",
    "InvalidJsonError",
    "LoginStatus",
    "MediaMessage",
    "MemoryStore",
    "Message",
    "MessageNotFoundError",
    "MethodNotAllowedError",
    "NetworkError",
    "NoSuchFileError",
    "NotFoundError",
    "NotGroupMemberError",
    "NotLoggedInError",
    "NotRevocableError",
    "ProtocolError",
    "RateLimitedError",
    "Receipt",
    "RequestError",
    "RequestTimeoutError",
    "RevokeError",
    "RevokeNotAllowedError",
    "RevokeTooLateError",
    "RevokedInfo",
    "SdkBootFailedError",
    "SdkError",
    "ServerError",
    "Session",
    "ShownConversation",
    "SqliteStore",
    "StorageError",
    "Store",
    "TextElem",
    "TextMessage",
    "TidemarkClient",
    "TokenExpiredError",
    "Transport",
    "UnauthorizedError",
    "UnavailableError",
    "UnsupportedMediaTypeError",
    "UserError",
    "UserExistsError",
    "UserNotFoundError",
    "ValidationFailedError",
    "contribution",
    "error_from_code",
    "error_from_response",
    "unread",
]

_LAZY = {"HttpTransport": "tidemark_sdk._cpython", "SqliteStore": "tidemark_sdk._sqlite"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tidemark_sdk' has no attribute {name!r}")
