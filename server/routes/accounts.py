from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from server.actions import users
from server.api import operation, services
from server.schemas import Empty, LoginRequest, LoginResponse, RegisterRequest, UserResponse

bp = Blueprint("accounts", __name__, url_prefix="/api")


def _login_key() -> str:
    body = request.get_json(silent=True)
    user_id = body.get("userID") if isinstance(body, dict) else None
    return f"{request.remote_addr}/{user_id}"


@operation(
    bp,
    "POST",
    "/users",
    body=RegisterRequest,
    response=UserResponse,
    auth=False,
    status=201,
    rate_limit=lambda: str(current_app.config["REGISTER_RATE_LIMIT"]),
)
def register(body: RegisterRequest) -> dict[str, Any]:
    """Create an account."""
    return users.register(services().db, services().hasher, body)


@operation(
    bp,
    "POST",
    "/auth/login",
    body=LoginRequest,
    response=LoginResponse,
    auth=False,
    rate_limit=lambda: str(current_app.config["LOGIN_RATE_LIMIT"]),
    limit_key=_login_key,
)
def login(body: LoginRequest) -> dict[str, Any]:
    """Log in: returns a bearer token."""
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    return users.login(services().db, services().hasher, body, ttl)


@operation(bp, "POST", "/auth/logout", response=Empty)
def logout(user: users.CurrentUser) -> dict[str, Any]:
    """Revoke the token used for this request."""
    users.logout(services().db, services().hub, user)
    return {}
