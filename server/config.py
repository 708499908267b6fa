"""Settings: defaults, then ``TIDEMARK_*`` environment variables, then test overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///data/tidemark.db",
    "REDIS_URL": "",
    # The pub/sub channel of the fan-out: Redis's database number does not separate
    # pub/sub, so deployments sharing one Redis need a channel each.
    "REDIS_CHANNEL": "tidemark:events",
    # The origin browsers load the page from (https://chat.example.com), when it differs
    # from the Host the server sees (behind a proxy). A WebSocket from another origin is
    # refused; empty: the Origin must name the Host the request was sent to.
    "PUBLIC_ORIGIN": "",
    # Strict-Transport-Security max-age, for a server reached over TLS only (behind a
    # TLS-terminating proxy); 0 sends no HSTS (plain http on 127.0.0.1 by default).
    "HSTS_SECONDS": 0,
    "TOKEN_TTL_SECONDS": 30 * 24 * 3600,
    "LOGIN_RATE_LIMIT": "20 per minute",
    "REGISTER_RATE_LIMIT": "60 per minute",
    # Wrong passwords per client address, across all user IDs (password spraying).
    "LOGIN_FAILURE_RATE_LIMIT": "30 per 10 minutes",
    # Messages per sender, over HTTP and the WebSocket alike.
    "SEND_RATE_LIMIT": "100 per 10 seconds;1000 per 10 minutes",
    # argon2 takes 64 MiB and a core per hash: at most this many hash at once, and a
    # request that waits longer than this for its turn is refused (429).
    "PASSWORD_HASH_CONCURRENCY": 2,
    "PASSWORD_HASH_WAIT_SECONDS": 2.0,
    # A sender may revoke their message for this long (a group's owner and admins: always).
    "REVOKE_WINDOW_SECONDS": 24 * 3600,
    # Only for tests and load generators: cheap, weak password hashes.
    "FAST_PASSWORD_HASHING": False,
    "WEB_ROOT": str(REPO_ROOT / "web"),
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "JSON_SORT_KEYS": False,
    # -- images and files (issue 12) --
    # An upload's body is not JSON and not bound by MAX_CONTENT_LENGTH: at most this many
    # bytes (refused from its Content-Length at once, or while it arrives).
    "MAX_UPLOAD_BYTES": 25 * 1024 * 1024,
    # Where blobs are kept: "" a folder files/ beside the SQLite file (./data/files with
    # PostgreSQL), file:///path a folder, s3://bucket[/prefix]?endpoint_url=…&region=…
    # any S3-compatible service (credentials: boto3's usual environment and profiles).
    "FILE_STORAGE_URL": "",
    # Uploads per user (PUT /api/files).
    "UPLOAD_RATE_LIMIT": "120 per minute",
}

# -- people and Web Push (issue 12) --
DEFAULTS.update(
    {
        # The user directory (GET /api/users/search), per user.
        "USER_SEARCH_RATE_LIMIT": "30 per minute",
        # Web Push (server/push/). The VAPID key pair is made on first start and kept in
        # the database (table secrets), shared by every process.
        # The VAPID "sub" claim: how a push service reaches the operator (mailto: or
        # https:). Set a real address: push services may refuse or throttle anonymous ones.
        "PUSH_CONTACT": "mailto:admin@example.com",
        # Comma-separated hosts (names or addresses) a subscription's endpoint may name
        # over plain http, or as an address or localhost. Only for a local push endpoint
        # in tests ("127.0.0.1"): real push services are https to a named host.
        "PUSH_INSECURE_HOSTS": "",
        # How long a push service keeps a push for a device that is offline.
        "PUSH_TTL_SECONDS": 24 * 3600,
        # One POST to a push service, connecting and answering.
        "PUSH_TIMEOUT_SECONDS": 10.0,
        # Threads sending pushes (started on demand, gone when idle), and how many pushes
        # may wait for them; beyond that pushes are dropped (and counted).
        "PUSH_WORKERS": 4,
        "PUSH_QUEUE_SIZE": 10000,
        # Subscriptions kept per user (browsers, devices): the oldest beyond go.
        "PUSH_MAX_SUBSCRIPTIONS_PER_USER": 20,
    }
)
