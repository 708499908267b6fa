"""Declaring API operations once: parsing, authentication, serialization and OpenAPI.

A route is a plain function of (path arguments, ``user``, ``body``, ``query``) returning
a dict; :func:`operation` parses and validates the request with pydantic models, checks
the bearer token, and records the operation for ``/api/openapi.json``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from server.actions.users import CurrentUser, authenticate
from server.errors import ApiError, ErrorCode
from server.schemas import ErrorResponse

limiter = Limiter(get_remote_address, storage_uri="memory://", headers_enabled=True)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    response: type[BaseModel]
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    auth: bool


OPERATIONS: list[Operation] = []


def services() -> Any:
    return current_app.extensions["tidemark"]


def operation(
    blueprint: Blueprint,
    method: str,
    rule: str,
    *,
    response: type[BaseModel],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: bool = True,
    status: int = 200,
    rate_limit: Callable[[], str] | None = None,
    limit_key: Callable[[], str] | None = None,
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., Response]]:
    def decorator(view: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handle(**path: str) -> Response:
            kwargs: dict[str, Any] = dict(path)
            if auth:
                kwargs["user"] = current_user()
            if body is not None:
                kwargs["body"] = parse(body, _json_body())
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict())
            answer = jsonify(view(**kwargs))
            answer.status_code = status
            return answer

        routed: Callable[..., Response] = handle
        if rate_limit is not None:
            routed = limiter.limit(rate_limit, key_func=limit_key)(handle)
        blueprint.add_url_rule(rule, view.__name__, routed, methods=[method])
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


def _json_body() -> Any:
    raw = request.get_data(cache=False)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(ErrorCode.INVALID_JSON, f"request body is not valid JSON: {error}") from None


def parse[M: BaseModel](model: type[M], data: Any) -> M:
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
            str(op.status): _content(op.response),
            "default": {"description": "error", **_content(ErrorResponse)},
        },
    }
    described["responses"][str(op.status)]["description"] = "success"
    if op.auth:
        described["security"] = [{"bearer": []}]
    if op.body is not None:
        described["requestBody"] = {"required": True, **_content(op.body)}
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


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def init_app(app: Flask) -> None:
    limiter.init_app(app)
