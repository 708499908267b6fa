from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from server.actions import profiles, users
from server.api import current_user, json_body, operation, services
from server.schemas import (
    Empty,
    LoginRequest,
    LoginResponse,
    PublicUser,
    PublicUserList,
    RegisterRequest,
    SelfInfo,
    SetSelfInfoRequest,
    UserResponse,
    UserSearchQuery,
    UsersQuery,
)

bp = Blueprint("accounts", __name__, url_prefix="/api")


def _login_key() -> str:
    # The body was decoded (and refused unless it is JSON) before any limit is checked.
    body = json_body()
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
    # Once a limit trips, the right password is refused too (429, not checked): a limit
    # that let the right password through would tell a guesser when it found it, and
    # checking it would cost the hashing the limit is there to save. LOGIN_RATE_LIMIT
    # counts every attempt per (address, user ID); LOGIN_FAILURE_RATE_LIMIT counts wrong
    # passwords per address, whatever the user ID (password spraying).
    rate_limit=lambda: str(current_app.config["LOGIN_RATE_LIMIT"]),
    limit_key=_login_key,
    failure_limit=lambda: str(current_app.config["LOGIN_FAILURE_RATE_LIMIT"]),
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


# --- Profiles and the directory ----------------------------------------------------------


@operation(bp, "GET", "/users/me", response=SelfInfo)
def get_self(user: users.CurrentUser) -> dict[str, Any]:
    """getSelfUserInfo: your public profile and when the account was made."""
    return profiles.self_info(services().db, user)


@operation(bp, "POST", "/users/me", body=SetSelfInfoRequest, response=PublicUser)
def set_self(user: users.CurrentUser, body: SetSelfInfoRequest) -> dict[str, Any]:
    """setSelfInfo: change your nickname and/or avatar (an image you uploaded)."""
    return profiles.set_self_info(services().db, services().hub, user, body)


@operation(bp, "GET", "/users", query=UsersQuery, response=PublicUserList)
def get_users(user: users.CurrentUser, query: UsersQuery) -> dict[str, Any]:
    """getUsersInfo: the public profiles of these users (unknown IDs left out)."""
    return profiles.users_info(services().db, query)


def _user_key() -> str:
    # Per user, not per address: authenticated here (401 before anything is counted).
    return f"user/{current_user().user_id}"


@operation(
    bp,
    "GET",
    "/users/search",
    query=UserSearchQuery,
    response=PublicUserList,
    rate_limit=lambda: str(current_app.config["USER_SEARCH_RATE_LIMIT"]),
    limit_key=_user_key,
)
def search_users(user: users.CurrentUser, query: UserSearchQuery) -> dict[str, Any]:
    """searchUsers: users whose ID or nickname starts with the keyword (exact first)."""
    return profiles.search(services().db, query)
