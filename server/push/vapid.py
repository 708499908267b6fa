"""The server's VAPID key pair (RFC 8292): made on first start, kept in ``secrets``.

Every server process signs with the same key, so a browser subscribed through one
process receives pushes sent by any other.
"""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]

from server.storage import Database
from server.storage import push as push_store

SECRET_NAME = "vapid_private_key"
# A signed token is valid for 12 hours (the push services' limit is 24): one is made per
# push service origin and reused for an hour.
_TOKEN_LIFETIME = 12 * 3600
_TOKEN_REUSE = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _new_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


class VapidKeys:
    """The key pair and the ``Authorization`` headers it signs."""

    def __init__(self, private_raw: str, contact: str) -> None:
        self._vapid = Vapid02.from_raw(private_raw.encode())
        self.contact = contact
        point = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        #: base64url of the uncompressed P-256 point: the page's applicationServerKey.
        self.public_key = b64url(point)
        self._headers: dict[str, tuple[float, dict[str, str]]] = {}

    @classmethod
    def load(cls, db: Database, contact: str) -> VapidKeys:
        """The stored pair, or a new one stored now (insert-or-read: safe when several
        processes start at once)."""
        with db.write() as tx:
            private_raw = push_store.secret(tx.conn, SECRET_NAME, _new_private_key)
        return cls(private_raw, contact)

    def authorization(self, audience: str) -> dict[str, str]:
        """The VAPID header for a push service's origin (``https://host``)."""
        now = time.time()
        cached = self._headers.get(audience)
        if cached is not None and now - cached[0] < _TOKEN_REUSE:
            return cached[1]
        claims = {"aud": audience, "sub": self.contact, "exp": int(now) + _TOKEN_LIFETIME}
        headers: dict[str, str] = self._vapid.sign(claims)
        self._headers[audience] = (now, headers)
        return headers
