"""Subscribing a browser to Web Push, and unsubscribing it.

The server POSTs to whatever endpoint a client names, so endpoints are checked: https
only, to a named host (no IP literal, no ``localhost``), without credentials in the URL.
Hosts listed in ``PUSH_INSECURE_HOSTS`` are exempt (plain http allowed): a local push
endpoint in tests, nothing else.
"""

from __future__ import annotations

import binascii
import ipaddress
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.push.vapid import b64url_decode
from server.schemas import PushSubscriptionRequest, PushUnsubscribeRequest
from server.storage import Database
from server.storage import push as push_store


def subscribe(
    db: Database,
    user: CurrentUser,
    request: PushSubscriptionRequest,
    insecure_hosts: Collection[str],
    keep_per_user: int,
) -> dict[str, Any]:
    check_endpoint(request.endpoint, insecure_hosts)
    _check_keys(request.keys.p256dh, request.keys.auth)
    subscription = push_store.Subscription(
        request.endpoint, user.user_id, request.keys.p256dh, request.keys.auth, request.previews
    )
    with db.write() as tx:
        push_store.upsert(tx.conn, subscription, user.token_hash, now_ms(), keep_per_user)
    return {"endpoint": request.endpoint, "previews": request.previews}


def unsubscribe(db: Database, user: CurrentUser, request: PushUnsubscribeRequest) -> None:
    """Remove the caller's subscription with this endpoint (nothing if there is none)."""
    with db.write() as tx:
        push_store.delete_mine(tx.conn, user.user_id, request.endpoint)


def insecure_hosts(setting: str) -> frozenset[str]:
    """``PUSH_INSECURE_HOSTS``: comma-separated host names or addresses."""
    return frozenset(host.strip().lower() for host in setting.split(",") if host.strip())


def check_endpoint(endpoint: str, insecure: Collection[str]) -> None:
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises ValueError when it is not a number
    except ValueError:
        raise _invalid("endpoint: not a URL") from None
    if not host or parts.username is not None or parts.password is not None:
        raise _invalid("endpoint: an https URL with a host and no user or password")
    if host in insecure:
        if parts.scheme not in ("https", "http"):
            raise _invalid("endpoint: an http or https URL")
        return
    if parts.scheme != "https":
        raise _invalid("endpoint: must be an https URL")
    if host == "localhost" or host.endswith(".localhost") or _is_address(host):
        raise _invalid("endpoint: the push service must be named, not an address or localhost")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_keys(p256dh: str, auth: str) -> None:
    """RFC 8291: p256dh is an uncompressed P-256 point, auth a 16-byte secret."""
    try:
        point, secret = b64url_decode(p256dh), b64url_decode(auth)
    except (binascii.Error, ValueError):
        raise _invalid("keys: p256dh and auth are base64url") from None
    if len(secret) != 16:
        raise _invalid("keys.auth: 16 bytes (base64url)")
    if len(point) != 65 or point[0] != 4:
        raise _invalid("keys.p256dh: an uncompressed P-256 point, 65 bytes (base64url)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise _invalid("keys.p256dh: not a point of P-256") from None


def _invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.VALIDATION_FAILED, message)
