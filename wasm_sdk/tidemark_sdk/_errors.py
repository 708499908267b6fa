"""The SDK's exceptions: the server's error codes, plus a few of the client's own.

Every failure an SDK call reports is an :class:`SdkError` with the OpenIM-style pair
``(err_code, err_msg)``; the browser facade turns it into ``{errCode, errMsg}``. The codes
come from ``protocol.json`` by name (:data:`ERROR_CODES`, also :class:`ErrorCode`), the
one list the server uses too: server codes are 1xxx, client codes 10xxx. The hierarchy,
so callers can catch a whole family::

    SdkError
    ├── RequestError              1001-1008: the request itself was refused
    │   ├── InvalidJsonError            1001
    │   ├── ValidationFailedError       1002
    │   ├── BodyTooLargeError           1003
    │   ├── NotFoundError               1004
    │   ├── MethodNotAllowedError       1005
    │   ├── RateLimitedError            1006
    │   ├── UnsupportedMediaTypeError   1007  (a body that is not application/json)
    │   └── RequestTimeoutError         1008  (the body did not arrive in time)
    ├── AuthError                 11xx: who you are
    │   ├── UnauthorizedError           1101  (missing, unknown or revoked token)
    │   ├── TokenExpiredError           1102
    │   └── BadCredentialsError         1103
    ├── UserError                 12xx
    │   ├── UserExistsError             1201
    │   └── UserNotFoundError           1202
    ├── ConversationNotFoundError 1301  (also: not a member)
    ├── GroupError                1302-1305: the group refused (you are in it, or were)
    │   ├── NotGroupMemberError         1302  (you, or the user named, left or were removed)
    │   ├── GroupPermissionDeniedError  1303  (only the owner, or an admin, may do this)
    │   ├── GroupDismissedError         1304
    │   └── GroupFullError              1305
    ├── MessageNotFoundError      1401  (no such message, or not one you can see)
    ├── RevokeError               1402-1404: the revoke was refused
    │   ├── RevokeNotAllowedError       1402  (not your message; owners and admins excepted)
    │   ├── RevokeTooLateError          1403  (the revoke window has passed)
    │   └── NotRevocableError           1404  (a notification, or revoked already)
    ├── FileError                 1601-1604: an upload or a download was refused
    │   ├── FileTooLargeError           1601  (over the server's upload limit)
    │   ├── FileEmptyError              1602
    │   ├── FileTypeMismatchError       1603  (the bytes are not the type declared)
    │   └── NoSuchFileError             1604  (or not one you may fetch)
    ├── ServerError               1500, and any code this SDK does not know
    │   └── UnavailableError            1503  (database unreachable: try again shortly)
    └── ClientError               10xxx: raised by the SDK, not by the server
        ├── NetworkError               10000  (server unreachable, connection lost)
        ├── NotLoggedInError           10001
        ├── AlreadyLoggedInError       10002  (login while logging in or logged in)
        ├── ProtocolError              10003  (the server's answer is not what README says)
        ├── StorageError               10004  (the cache refused a read or a write)
        └── SdkBootFailedError         10005  (the browser could not boot the SDK: the page
                                               reports it, never the SDK itself)

A code the protocol lists that has no class here gets one made at import, named after
the code (``NOT_GROUP_MEMBER`` → ``NotGroupMemberError``) under its family (10xx
RequestError, 11xx AuthError, 12xx UserError, 15xx ServerError, 10xxx ClientError, else
SdkError), so :func:`error_from_code` knows every code without a second list.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from tidemark_sdk._protocol import ERROR_CODES

#: Every code by name, from ``protocol.json``: the server's (1xxx) and the SDK's (10xxx).
ErrorCode = IntEnum("ErrorCode", ERROR_CODES)  # type: ignore[misc]


class SdkError(Exception):
    """Base class: every SDK failure carries an error code and a message."""

    code: int = ErrorCode["INTERNAL"]

    def __init__(self, err_msg: str, err_code: int | None = None) -> None:
        super().__init__(err_msg)
        self.err_code = int(self.code if err_code is None else err_code)
        self.err_msg = err_msg

    def to_json(self) -> dict[str, Any]:
        """The OpenIM shape the browser facade rejects with."""
        return {"errCode": self.err_code, "errMsg": self.err_msg}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.err_msg!r}, err_code={self.err_code})"


class RequestError(SdkError):
    code = ErrorCode["VALIDATION_FAILED"]


class InvalidJsonError(RequestError):
    code = ErrorCode["INVALID_JSON"]


class ValidationFailedError(RequestError):
    code = ErrorCode["VALIDATION_FAILED"]


class BodyTooLargeError(RequestError):
    code = ErrorCode["BODY_TOO_LARGE"]


class NotFoundError(RequestError):
    code = ErrorCode["NOT_FOUND"]


class MethodNotAllowedError(RequestError):
    code = ErrorCode["METHOD_NOT_ALLOWED"]


class RateLimitedError(RequestError):
    code = ErrorCode["RATE_LIMITED"]


class UnsupportedMediaTypeError(RequestError):
    code = ErrorCode["UNSUPPORTED_MEDIA_TYPE"]


class RequestTimeoutError(RequestError):
    code = ErrorCode["REQUEST_TIMEOUT"]


class AuthError(SdkError):
    code = ErrorCode["UNAUTHORIZED"]


class UnauthorizedError(AuthError):
    code = ErrorCode["UNAUTHORIZED"]


class TokenExpiredError(AuthError):
    code = ErrorCode["TOKEN_EXPIRED"]


class BadCredentialsError(AuthError):
    code = ErrorCode["BAD_CREDENTIALS"]


class UserError(SdkError):
    code = ErrorCode["USER_NOT_FOUND"]


class UserExistsError(UserError):
    code = ErrorCode["USER_EXISTS"]


class UserNotFoundError(UserError):
    code = ErrorCode["USER_NOT_FOUND"]


class ConversationNotFoundError(SdkError):
    code = ErrorCode["CONVERSATION_NOT_FOUND"]


class GroupError(SdkError):
    code = ErrorCode["GROUP_PERMISSION_DENIED"]


class NotGroupMemberError(GroupError):
    """The group is read-only for you (you left or were removed), or the user named is
    not in it."""

    code = ErrorCode["NOT_GROUP_MEMBER"]


class GroupPermissionDeniedError(GroupError):
    code = ErrorCode["GROUP_PERMISSION_DENIED"]


class GroupDismissedError(GroupError):
    code = ErrorCode["GROUP_DISMISSED"]


class GroupFullError(GroupError):
    code = ErrorCode["GROUP_FULL"]


class MessageNotFoundError(SdkError):
    code = ErrorCode["MESSAGE_NOT_FOUND"]


class RevokeError(SdkError):
    """A revoke the server refused: see the subclasses."""


class RevokeNotAllowedError(RevokeError):
    code = ErrorCode["REVOKE_NOT_ALLOWED"]


class RevokeTooLateError(RevokeError):
    code = ErrorCode["REVOKE_TOO_LATE"]


class NotRevocableError(RevokeError):
    code = ErrorCode["NOT_REVOCABLE"]


class FileError(SdkError):
    """An upload or a download the server refused: see the subclasses."""


class FileTooLargeError(FileError):
    code = ErrorCode["FILE_TOO_LARGE"]


class FileEmptyError(FileError):
    code = ErrorCode["FILE_EMPTY"]


class FileTypeMismatchError(FileError):
    code = ErrorCode["FILE_TYPE_MISMATCH"]


class NoSuchFileError(FileError):
    code = ErrorCode["FILE_NOT_FOUND"]


class ServerError(SdkError):
    code = ErrorCode["INTERNAL"]


class UnavailableError(ServerError):
    code = ErrorCode["UNAVAILABLE"]


class ClientError(SdkError):
    code = ErrorCode["PROTOCOL_ERROR"]


class NetworkError(ClientError):
    code = ErrorCode["NETWORK_ERROR"]


class NotLoggedInError(ClientError):
    code = ErrorCode["NOT_LOGGED_IN"]


class AlreadyLoggedInError(ClientError):
    code = ErrorCode["ALREADY_LOGGED_IN"]


class ProtocolError(ClientError):
    code = ErrorCode["PROTOCOL_ERROR"]


class StorageError(ClientError):
    """The store (IndexedDB, SQLite) refused a read or a write; never swallowed."""

    code = ErrorCode["STORAGE_ERROR"]


class SdkBootFailedError(ClientError):
    """The page could not boot the SDK (assets missing, the worker or Pyodide failed)."""

    code = ErrorCode["SDK_BOOT_FAILED"]


_BY_CODE: dict[int, type[SdkError]] = {
    int(cls.code): cls
    for cls in (
        InvalidJsonError,
        ValidationFailedError,
        BodyTooLargeError,
        NotFoundError,
        MethodNotAllowedError,
        RateLimitedError,
        UnsupportedMediaTypeError,
        RequestTimeoutError,
        UnauthorizedError,
        TokenExpiredError,
        BadCredentialsError,
        UserExistsError,
        UserNotFoundError,
        ConversationNotFoundError,
        NotGroupMemberError,
        GroupPermissionDeniedError,
        GroupDismissedError,
        GroupFullError,
        MessageNotFoundError,
        RevokeNotAllowedError,
        RevokeTooLateError,
        NotRevocableError,
        FileTooLargeError,
        FileEmptyError,
        FileTypeMismatchError,
        NoSuchFileError,
        ServerError,
        UnavailableError,
        NetworkError,
        NotLoggedInError,
        AlreadyLoggedInError,
        ProtocolError,
        StorageError,
        SdkBootFailedError,
    )
}


def error_from_code(err_code: int, err_msg: str) -> SdkError:
    """The exception for a code; unknown codes become a :class:`ServerError` keeping it."""
    return _BY_CODE.get(err_code, ServerError)(err_msg, err_code)


def error_from_response(status: int, payload: Any) -> SdkError:
    """Map a failed HTTP answer (``{"errCode", "errMsg", "error"}``) to an exception.

    Transports call this, so every transport reports server errors the same way.
    """
    if isinstance(payload, dict) and isinstance(payload.get("errCode"), int):
        return error_from_code(payload["errCode"], str(payload.get("errMsg", "")))
    return ServerError(f"HTTP {status} without an error body", ERROR_CODES["INTERNAL"])
