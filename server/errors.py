"""One error vocabulary for the whole API.

Every failure a client can see is an :class:`ApiError` carrying an :class:`ErrorCode`,
turned into ``{"errCode", "errMsg", "error"}`` JSON with the code's HTTP status by the
one handler installed in :func:`init_app`. The SDK mirrors these codes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


class ErrorCode(IntEnum):
    INVALID_JSON = 1001
    VALIDATION_FAILED = 1002
    BODY_TOO_LARGE = 1003
    NOT_FOUND = 1004
    METHOD_NOT_ALLOWED = 1005
    RATE_LIMITED = 1006
    UNSUPPORTED_MEDIA_TYPE = 1007
    REQUEST_TIMEOUT = 1008
    UNAUTHORIZED = 1101
    TOKEN_EXPIRED = 1102
    BAD_CREDENTIALS = 1103
    USER_EXISTS = 1201
    USER_NOT_FOUND = 1202
    CONVERSATION_NOT_FOUND = 1301
    INTERNAL = 1500
    UNAVAILABLE = 1503

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.VALIDATION_FAILED: 400,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.BAD_CREDENTIALS: 401,
    ErrorCode.USER_EXISTS: 409,
    ErrorCode.USER_NOT_FOUND: 404,
    ErrorCode.CONVERSATION_NOT_FOUND: 404,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}

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
