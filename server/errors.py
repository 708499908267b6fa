"""One error vocabulary for the whole API.

Every failure a client can see is an :class:`ApiError` carrying an :class:`ErrorCode`,
turned into ``{"errCode", "errMsg", "error"}`` JSON with the code's HTTP status by the
one handler installed in :func:`init_app`. The codes, their HTTP statuses and the
SDK's own (10xxx) are described once, in ``protocol.json``.
"""

from __future__ import annotations

from enum import IntEnum, auto
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from server.protocol import HTTP_STATUS, SERVER_ERROR_CODES


class ErrorCode(IntEnum):
    """The server's error codes. Members are named here (for typing); their values and
    HTTP statuses come from ``protocol.json`` by name, and the two name sets must match."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> int:
        return SERVER_ERROR_CODES[name]

    INVALID_JSON = auto()
    VALIDATION_FAILED = auto()
    BODY_TOO_LARGE = auto()
    NOT_FOUND = auto()
    METHOD_NOT_ALLOWED = auto()
    RATE_LIMITED = auto()
    UNSUPPORTED_MEDIA_TYPE = auto()
    REQUEST_TIMEOUT = auto()
    UNAUTHORIZED = auto()
    TOKEN_EXPIRED = auto()
    BAD_CREDENTIALS = auto()
    USER_EXISTS = auto()
    USER_NOT_FOUND = auto()
    CONVERSATION_NOT_FOUND = auto()
    NOT_GROUP_MEMBER = auto()
    GROUP_PERMISSION_DENIED = auto()
    GROUP_DISMISSED = auto()
    GROUP_FULL = auto()
    MESSAGE_NOT_FOUND = auto()
    REVOKE_NOT_ALLOWED = auto()
    REVOKE_TOO_LATE = auto()
    NOT_REVOCABLE = auto()
    FILE_TOO_LARGE = auto()
    FILE_EMPTY = auto()
    FILE_TYPE_MISMATCH = auto()
    FILE_NOT_FOUND = auto()
    INTERNAL = auto()
    UNAVAILABLE = auto()

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.name]


if {code.name for code in ErrorCode} != set(SERVER_ERROR_CODES):
    raise RuntimeError(
        "server/errors.py ErrorCode and protocol.json's errors.server name different codes:"
        " add or remove members of ErrorCode to match protocol.json"
    )

_FROM_HTTP_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_JSON,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
}


class ApiError(Exception):
    """A failure reported to the client; nothing was written (``UNAVAILABLE``: maybe).

    ``retry_after``: seconds the client should wait before asking again (``Retry-After``).
    """

    def __init__(self, code: ErrorCode, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        return {"errCode": int(self.code), "errMsg": self.message, "error": self.code.name}


def error_response(error: ApiError) -> Response:
    response = jsonify(error.to_json())
    response.status_code = error.code.http_status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _FROM_HTTP_STATUS.get(status, ErrorCode.INTERNAL)
        return error_response(ApiError(code, error.description or code.name))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error", exc_info=error)
        return error_response(ApiError(ErrorCode.INTERNAL, "internal server error"))
