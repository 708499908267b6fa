"""Accounts and sessions: register, log in, authenticate a token, log out."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.schemas import LoginRequest, RegisterRequest
from server.storage import Database
from server.storage import push as push_store
from server.storage import users as user_store


@dataclass(frozen=True)
class CurrentUser:
    user_id: str
    nickname: str
    token_hash: str
    expires_at: int  # ms


def password_hasher(fast: bool) -> PasswordHasher:
    # "fast" is for tests and load generators only: it makes hashes cheap to break.
    return PasswordHasher.from_parameters(profiles.CHEAPEST) if fast else PasswordHasher()


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool: ...


class PasswordHashing:
    """A hasher that runs at most ``concurrency`` hashes at once.

    argon2's default takes 64 MiB per hash: unbounded, 16 wrong-password logins at once
    took a server from 73 to 1,099 MiB. A caller that cannot start within
    ``wait_seconds`` is refused with RATE_LIMITED.
    """

    def __init__(self, hasher: Hasher, concurrency: int, wait_seconds: float) -> None:
        self.hasher = hasher
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(concurrency)
        self._unknown_hash: str | None = None

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise ApiError(
                ErrorCode.RATE_LIMITED, "too many logins at once: try again", retry_after=1
            )
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._slot():
            return self.hasher.verify(password_hash, password)

    def verify_unknown(self, password: str) -> None:
        """Spend a wrong password's time on a user ID that does not exist, so the answer's
        timing does not tell which user IDs do."""
        if self._unknown_hash is None:
            self._unknown_hash = self.hash(secrets.token_urlsafe(16))
        with contextlib.suppress(VerificationError, InvalidHashError):
            self.verify(self._unknown_hash, password)


def now_ms() -> int:
    return int(time.time() * 1000)


def register(db: Database, hasher: PasswordHashing, request: RegisterRequest) -> dict[str, Any]:
    password_hash = hasher.hash(request.password)
    with db.write() as tx:
        created = user_store.insert_user(
            tx.conn, request.userID, request.nickname, password_hash, now_ms()
        )
    if not created:
        raise ApiError(ErrorCode.USER_EXISTS, f"user {request.userID!r} already exists")
    return {"userID": request.userID, "nickname": request.nickname}


def login(
    db: Database, hasher: PasswordHashing, request: LoginRequest, ttl_seconds: int
) -> dict[str, Any]:
    with db.read() as conn:
        user = user_store.get_user(conn, request.userID)
    if user is None:
        hasher.verify_unknown(request.password)
    if user is None or not _verify(hasher, user.password_hash, request.password):
        raise ApiError(ErrorCode.BAD_CREDENTIALS, "wrong user ID or password")
    token = secrets.token_urlsafe(32)
    expires_at = now_ms() + ttl_seconds * 1000
    with db.write() as tx:
        user_store.insert_token(tx.conn, _hash_token(token), user.user_id, expires_at)
    return {
        "token": token,
        "userID": user.user_id,
        "nickname": user.nickname,
        "expiresAt": expires_at,
    }


def _verify(hasher: PasswordHashing, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(db: Database, token: str) -> CurrentUser:
    token_hash = _hash_token(token)
    with db.read() as conn:
        owner = user_store.token_owner(conn, token_hash)
    if owner is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, "unknown or revoked token")
    user_id, nickname, expires_at = owner
    if expires_at <= now_ms():
        raise ApiError(ErrorCode.TOKEN_EXPIRED, "token expired: log in again")
    return CurrentUser(user_id, nickname, token_hash, expires_at)


def logout(db: Database, hub: Hub, user: CurrentUser) -> None:
    with db.write() as tx:
        user_store.delete_token(tx.conn, user.token_hash)
        # That session's browser gets no more pushes (a later session subscribes anew).
        push_store.delete_for_token(tx.conn, user.token_hash)
        # Sockets opened with this token end at once, not at their next heartbeat.
        tx.on_commit(lambda: hub.revoke(user.user_id, user.token_hash))


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()
