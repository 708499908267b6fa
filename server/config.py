"""Settings: defaults, then ``TIDEMARK_*`` environment variables, then test overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///data/tidemark.db",
    "REDIS_URL": "",
    "TOKEN_TTL_SECONDS": 30 * 24 * 3600,
    "LOGIN_RATE_LIMIT": "20 per minute",
    "REGISTER_RATE_LIMIT": "60 per minute",
    # Only for tests and load generators: cheap, weak password hashes.
    "FAST_PASSWORD_HASHING": False,
    "WEB_ROOT": str(REPO_ROOT / "web"),
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "JSON_SORT_KEYS": False,
}
