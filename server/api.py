"""Declaring API operations once: parsing, authentication, serialization and OpenAPI.

A route is a plain function of (path arguments, ``user``, ``body``, ``query``) returning
a dict; :func:`operation` parses and validates the request with pydantic models, checks
the bearer token, and records the operation for ``/api/openapi.json``.

Before any of that (and before the rate limiter's key functions), :func:`_read_request`
reads the body once: at most ``MAX_CONTENT_LENGTH`` bytes, JSON only (415 otherwise),
decoded safely (no recursion or integer-size errors escape), kept on ``flask.g``. An
operation declared with ``raw_body`` (a file upload) reads its own body instead, and one
declared with ``response=None`` answers bytes (a :class:`flask.Response` of its own).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from server.actions.users import CurrentUser, authenticate
from server.errors import ApiError, ErrorCode
from server.schemas import ErrorResponse

# Storage: Redis when REDIS_URL is set, so the limits hold across worker processes.
limiter = Limiter(get_remote_address, headers_enabled=True)

# A seq is at most 16 digits (2^53 - 1); without a bound, Python refuses to convert
# integers of more than 4,300 digits with a ValueError, and converts shorter ones slowly.
MAX_INT_DIGITS = 20


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    response: type[BaseModel] | None  # None: the answer is bytes (a file), not JSON
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    auth: bool
    raw_body: bool = False  # the body is bytes the view reads itself (a file upload)


OPERATIONS: list[Operation] = []
# The endpoints whose views read their own (non-JSON) request body.
RAW_BODY_ENDPOINTS: set[str] = set()

type View = Callable[..., dict[str, Any] | Response]


def services() -> Any:
    return current_app.extensions["tidemark"]


def operation(
    blueprint: Blueprint,
    method: str,
    rule: str,
    *,
    response: type[BaseModel] | None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: bool = True,
    status: int = 200,
    rate_limit: Callable[[], str] | None = None,
    limit_key: Callable[[], str] | None = None,
    failure_limit: Callable[[], str] | None = None,
    raw_body: bool = False,
) -> Callable[[View], Callable[..., Response]]:
    """``failure_limit``: per client address, counting only answers 401. ``raw_body``:
    the request body is not JSON and is left for the view to read; ``response`` None: the
    view answers with a :class:`flask.Response` of its own (JSON answers are dicts)."""

    def decorator(view: View) -> Callable[..., Response]:
        @functools.wraps(view)
        def handle(**path: str) -> Response:
            refuse_nul(path)

            def run() -> dict[str, Any] | Response:
                kwargs: dict[str, Any] = dict(path)
                if auth:
                    kwargs["user"] = current_user()
                if body is not None:
                    kwargs["body"] = parse(body, json_body())
                if query is not None:
                    kwargs["query"] = parse(query, request.args.to_dict())
                return view(**kwargs)

            result = services().db.retrying(run)
            if isinstance(result, Response):
                return result
            answer = jsonify(result)
            answer.status_code = status
            return answer

        routed: Callable[..., Response] = handle
        if rate_limit is not None:
            routed = limiter.limit(rate_limit, key_func=limit_key)(routed)
        if failure_limit is not None:
            routed = limiter.limit(
                failure_limit,
                key_func=get_remote_address,
                deduct_when=lambda response: response.status_code == 401,
            )(routed)
        blueprint.add_url_rule(rule, view.__name__, routed, methods=[method])
        if raw_body:
            RAW_BODY_ENDPOINTS.add(f"{blueprint.name}.{view.__name__}")
        OPERATIONS.append(
            Operation(
                method.lower(),
                _openapi_path(blueprint.url_prefix or "", rule),
                (view.__doc__ or view.__name__).strip().splitlines()[0],
                response,
                status,
                body,
                query,
                auth,
                raw_body,
            )
        )
        return routed

    return decorator


def current_user() -> CurrentUser:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(ErrorCode.UNAUTHORIZED, "missing bearer token")
    user: CurrentUser = authenticate(services().db, token.strip())
    return user


def json_body() -> Any:
    """The request's JSON body, decoded once by :func:`_read_request` (``{}`` if none)."""
    return g.get("json_body", {})


def _read_request() -> None:
    """Runs before anything else (rate limits, authentication, the route)."""
    if request.routing_exception is not None:
        return  # a 404 or 405 answers first
    if request.endpoint in RAW_BODY_ENDPOINTS:
        return  # not JSON, and not limited to MAX_CONTENT_LENGTH: the view reads it
    raw = _read_body()
    if not raw:
        return
    if request.mimetype != "application/json":
        # Also what stops a cross-site form or no-cors fetch (text/plain) from posting.
        raise ApiError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "request bodies are JSON: send Content-Type: application/json",
        )
    g.json_body = decode_json(raw)


def _read_body() -> bytes:
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length is not None or not chunked:
        return request.get_data()  # werkzeug answers 413 above the limit
    # Without a Content-Length, werkzeug reads nothing (unless the server says it ends
    # the stream) or cuts the body at the limit: read it here, one byte past the limit.
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ApiError(ErrorCode.BODY_TOO_LARGE, f"request body larger than {limit} bytes")
    return b"".join(chunks)


def decode_json(raw: bytes | str, what: str = "request body") -> Any:
    """JSON from a client: any failure is an :class:`ApiError`, never a 500."""
    try:
        return json.loads(raw, parse_int=_parse_int, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(
            ErrorCode.INVALID_JSON, f"{what} is not valid JSON: nested too deeply"
        ) from None
    except (UnicodeDecodeError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        raise ApiError(ErrorCode.INVALID_JSON, f"{what} is not valid JSON: {error}") from None


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ApiError(
            ErrorCode.VALIDATION_FAILED, f"integers have at most {MAX_INT_DIGITS} digits"
        )
    return int(digits)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def refuse_nul(data: Any) -> None:
    """NUL is in no valid user ID, name or text, and PostgreSQL cannot store it: refused
    in every string (and key) of every request, the same on SQLite and PostgreSQL."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:  # no recursion: the data may be nested as deep as the parser allows
        where, value = stack.pop()
        items: Any = ()
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(
                ErrorCode.VALIDATION_FAILED,
                f"{where or 'value'}: NUL characters (\\u0000) are not allowed",
            )
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                raise ApiError(
                    ErrorCode.VALIDATION_FAILED,
                    f"{where or 'value'}: NUL characters (\\u0000) are not allowed in keys",
                )
            stack.append((f"{where}.{key}" if where else str(key), item))


def parse[M: BaseModel](model: type[M], data: Any) -> M:
    refuse_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(ErrorCode.VALIDATION_FAILED, _describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def _openapi_path(prefix: str, rule: str) -> str:
    return (prefix + rule).replace("<", "{").replace(">", "}")


def openapi_document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorResponse}
    for op in OPERATIONS:
        if op.response is not None:
            models.add(op.response)
        if op.body is not None:
            models.add(op.body)
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _describe_operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tidemark", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _describe_operation(op: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "summary": op.summary,
        "responses": {
            str(op.status): _content(op.response) if op.response else dict(_BYTES),
            "default": {"description": "error", **_content(ErrorResponse)},
        },
    }
    described["responses"][str(op.status)]["description"] = "success"
    if op.auth:
        described["security"] = [{"bearer": []}]
    if op.body is not None:
        described["requestBody"] = {"required": True, **_content(op.body)}
    if op.raw_body:
        described["requestBody"] = {"required": True, **_BYTES}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(op.path)
    ]
    if op.query is not None:
        properties = op.query.model_json_schema()["properties"]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in properties.items()
        ]
    if parameters:
        described["parameters"] = parameters
    return described


def _content(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"content": {"application/json": {"schema": ref}}}


# A body of bytes (a file), described as OpenAPI 3.1 describes binary content.
_BYTES: dict[str, Any] = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def init_app(app: Flask) -> None:
    app.before_request(_read_request)  # first: before the limiter's own hook
    app.config.setdefault("RATELIMIT_STORAGE_URI", str(app.config["REDIS_URL"]) or "memory://")
    # Redis down (restarting) must not refuse logins: count in this process meanwhile
    # (Flask-Limiter logs the switch and goes back when Redis answers again).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
