"""Profiles (setSelfInfo, getSelfUserInfo, getUsersInfo) and the user directory.

A profile is public: what anyone logged in may see of a user is a ``PublicUser``. A
change shows in every single chat with that user (its ``showName`` and ``faceURL``), so
it is one transaction that updates the user, bumps the version of each peer and stamps
the peers' records; after the commit the peers get ``conversation.changed`` and the
user's own devices ``user.updated``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from server import events
from server.actions.state import peer_states
from server.actions.users import CurrentUser
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.schemas import SetSelfInfoRequest, UserSearchQuery, UsersQuery
from server.storage import Database
from server.storage import users as user_store

FILES_PREFIX = "/api/files/"
MAX_USER_IDS = 100


def self_info(db: Database, user: CurrentUser) -> dict[str, Any]:
    with db.read() as conn:
        info = user_store.self_info(conn, user.user_id)
    if info is None:  # the token outlived its user: no such thing happens today
        raise ApiError(ErrorCode.USER_NOT_FOUND, f"no user {user.user_id!r}")
    return info


class _PeersMoved(Exception):
    """A single chat appeared between reading the peers to lock and taking the locks."""


def set_self_info(
    db: Database, hub: Hub, user: CurrentUser, request: SetSelfInfoRequest
) -> dict[str, Any]:
    for _ in range(3):
        try:
            return _set(db, hub, user, request)
        except _PeersMoved:
            continue  # rolled back: read the peers again
    return _set(db, hub, user, request, wait=True)


def _set(
    db: Database, hub: Hub, user: CurrentUser, request: SetSelfInfoRequest, wait: bool = False
) -> dict[str, Any]:
    with db.write() as tx:
        conn = tx.conn
        # Every writer locks users in user-ID order: the peers are read first, then locked
        # with the user; a chat created in between (it locks the user too) is a newcomer.
        peers = user_store.single_chat_peers(conn, user.user_id)
        user_store.lock_users(conn, [user.user_id, *peers])
        now = user_store.single_chat_peers(conn, user.user_id)
        if not now.keys() <= peers.keys():
            if not wait:
                raise _PeersMoved
            user_store.lock_users(conn, now.keys() - peers.keys())  # out of order, at last
        peers = now
        (before,) = user_store.public_users(conn, [user.user_id])
        if request.faceURL:
            _check_avatar(conn, user.user_id, request.faceURL)
        user_store.set_profile(conn, user.user_id, request.nickname, request.faceURL)
        (after,) = user_store.public_users(conn, [user.user_id])
        if after == before:
            return after  # nothing changed: no versions, no events
        user_store.bump_versions(conn, peers)
        user_store.stamp_peer_records(conn, user.user_id)
        states = peer_states(conn, db.epoch, user.user_id, list(peers.values()))
        pushed = [(peer, events.conversation_changed(state)) for peer, state in states.items()]
        pushed.append((user.user_id, events.user_updated(after)))
        tx.on_commit(lambda: hub.publish(pushed))
    return after


def _check_avatar(conn: Connection, user_id: str, face_url: str) -> None:
    sha256 = face_url.removeprefix(FILES_PREFIX)
    mime = user_store.uploaded_mime(conn, user_id, sha256)
    if mime is None:
        raise ApiError(ErrorCode.FILE_NOT_FOUND, "faceURL: not a file you uploaded")
    if mime not in user_store.IMAGE_TYPES:
        raise ApiError(
            ErrorCode.FILE_TYPE_MISMATCH, f"faceURL: an avatar is a PNG, JPEG, GIF or WebP ({mime})"
        )


def users_info(db: Database, query: UsersQuery) -> dict[str, Any]:
    user_ids = [part.strip() for part in query.userIDs.split(",") if part.strip()]
    if not 1 <= len(user_ids) <= MAX_USER_IDS:
        raise ApiError(
            ErrorCode.VALIDATION_FAILED, f"userIDs: 1 to {MAX_USER_IDS} user IDs, comma-separated"
        )
    with db.read() as conn:
        return {"users": user_store.public_users(conn, user_ids)}


def search(db: Database, query: UserSearchQuery) -> dict[str, Any]:
    with db.read() as conn:
        return {"users": user_store.search_users(conn, query.keyword, query.count)}
