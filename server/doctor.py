"""``tidemark doctor``: check a deployment's settings before serving with them.

It reads the settings as ``tidemark serve`` does (defaults, then ``TIDEMARK_*``
variables), changes nothing (no migration, no write), and prints one line per check:
``ok``, ``warn`` (works, but probably not what you want) or ``FAIL`` (serving would break
or be unsafe). The exit status is 1 when anything failed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from limits import parse_many
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from server.config import DEFAULTS

type Level = Literal["ok", "warn", "FAIL"]

#: TIDEMARK_* variables that are not app settings: the CLI's, and the test suite's.
_OTHER_VARIABLES = {"HOST", "PORT", "WORKERS", "TEST_POSTGRES_URL"}
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    message: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.check}: {self.message}"


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """DEFAULTS overridden by TIDEMARK_* variables, typed like Flask's from_prefixed_env."""
    values = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = environ.get(f"TIDEMARK_{name}")
        if raw is not None:
            values[name] = _typed(raw, default)
    return values


def _typed(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int | float):
        try:
            return type(default)(raw)
        except ValueError:
            return raw  # reported by _check_types
    return raw


def diagnose(environ: Mapping[str, str] | None = None, workers: int = 1) -> list[Finding]:
    env = os.environ if environ is None else environ
    config = settings(env)
    checks: list[Callable[[], Iterator[Finding]]] = [
        lambda: _check_variables(env),
        lambda: _check_types(env),
        lambda: _check_database(str(config["DATABASE_URL"])),
        lambda: _check_redis(str(config["REDIS_URL"]), workers),
        lambda: _check_origin(config, env.get("TIDEMARK_HOST", "127.0.0.1")),
        lambda: _check_rate_limits(config),
        lambda: _check_security(config),
        lambda: _check_assets(Path(str(config["WEB_ROOT"]))),
    ]
    return [finding for check in checks for finding in check()]


def _check_variables(env: Mapping[str, str]) -> Iterator[Finding]:
    unknown = sorted(
        name
        for name in env
        if name.startswith("TIDEMARK_")
        and name.removeprefix("TIDEMARK_") not in DEFAULTS
        and name.removeprefix("TIDEMARK_") not in _OTHER_VARIABLES
    )
    for name in unknown:
        yield Finding("warn", "settings", f"{name} is not a Tidemark setting (a typo?): ignored")
    if not unknown:
        yield Finding("ok", "settings", "every TIDEMARK_* variable is a known setting")


def _check_types(env: Mapping[str, str]) -> Iterator[Finding]:
    bad = []
    for name, default in DEFAULTS.items():
        raw = env.get(f"TIDEMARK_{name}")
        if raw is None or isinstance(default, bool) or not isinstance(default, int | float):
            continue
        try:
            value = type(default)(raw)
        except ValueError:
            bad.append(f"TIDEMARK_{name}={raw!r} is not a {type(default).__name__}")
            continue
        if value < 0:
            bad.append(f"TIDEMARK_{name}={raw!r} is negative")
    for message in bad:
        yield Finding("FAIL", "numbers", message)
    if not bad:
        yield Finding("ok", "numbers", "every numeric setting parses")


def _check_database(url: str) -> Iterator[Finding]:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        yield Finding("FAIL", "database", f"DATABASE_URL is not a database URL: {error}")
        return
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        yield Finding("FAIL", "database", f"{backend} is not supported: use sqlite or postgresql")
        return
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            yield Finding("FAIL", "database", "an in-memory SQLite database loses everything")
            return
        folder = Path(parsed.database).resolve().parent
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not os.access(existing, os.W_OK):
            yield Finding("FAIL", "database", f"{existing} is not writable")
            return
        if not Path(parsed.database).exists():
            yield Finding("ok", "database", f"{parsed.database} will be created on start")
            return
    elif parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    try:
        engine = create_engine(parsed, connect_args=_connect_timeout(backend))
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        engine.dispose()
    except (SQLAlchemyError, ImportError) as error:
        first = str(error).strip().splitlines()[0]
        yield Finding("FAIL", "database", f"cannot connect to {_safe(parsed)}: {first}")
        return
    known = {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        yield Finding(
            "FAIL", "database", f"schema {current} is newer than this Tidemark ({head}): upgrade"
        )
    elif current != head:
        yield Finding(
            "warn",
            "database",
            f"schema at {current or 'nothing'}, {head} is current: `tidemark serve` migrates"
            " it on start (back it up first)",
        )
    else:
        yield Finding("ok", "database", f"{_safe(parsed)} reachable, schema current ({head})")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _connect_timeout(backend: str) -> dict[str, Any]:
    return {"connect_timeout": 3} if backend == "postgresql" else {}


def _safe(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def _check_redis(url: str, workers: int) -> Iterator[Finding]:
    if not url:
        if workers > 1:
            yield Finding("FAIL", "redis", "--workers above 1 needs REDIS_URL for the fan-out")
        else:
            yield Finding("ok", "redis", "not used: one process, in-process fan-out")
        return
    try:
        import redis
    except ImportError:
        yield Finding("FAIL", "redis", "REDIS_URL is set but the redis package is missing")
        return
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as error:
        yield Finding("FAIL", "redis", f"cannot reach {url}: {error}")
        return
    yield Finding("ok", "redis", f"{url} answers")


def _check_origin(config: Mapping[str, Any], host: str) -> Iterator[Finding]:
    origin = str(config["PUBLIC_ORIGIN"])
    if not origin:
        if host not in ("127.0.0.1", "localhost", "::1"):
            yield Finding(
                "warn",
                "origin",
                f"listening on {host} without PUBLIC_ORIGIN: behind a proxy, WebSockets from"
                " the page are refused unless the proxy keeps the Host header",
            )
        else:
            yield Finding("ok", "origin", "local: the WebSocket Origin must match the Host")
        return
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        yield Finding(
            "FAIL", "origin", f"PUBLIC_ORIGIN {origin!r} is not an origin like https://chat.example"
        )
        return
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        yield Finding("warn", "origin", f"{origin} is plain http: tokens travel in clear")
        return
    yield Finding("ok", "origin", f"WebSockets accepted from {origin}")


def _check_rate_limits(config: Mapping[str, Any]) -> Iterator[Finding]:
    bad = []
    for name, value in config.items():
        if name.endswith("RATE_LIMIT"):
            try:
                parse_many(str(value))
            except ValueError as error:
                bad.append(f"{name}={value!r}: {error}")
    for message in bad:
        yield Finding("FAIL", "rate limits", message)
    if not bad:
        yield Finding("ok", "rate limits", "every *_RATE_LIMIT parses")


def _check_security(config: Mapping[str, Any]) -> Iterator[Finding]:
    if config["FAST_PASSWORD_HASHING"]:
        yield Finding("FAIL", "passwords", "FAST_PASSWORD_HASHING is for tests: hashes are weak")
    else:
        yield Finding("ok", "passwords", "argon2 with its default cost")
    hsts = config["HSTS_SECONDS"]
    https = str(config["PUBLIC_ORIGIN"]).startswith("https://")
    if isinstance(hsts, int) and hsts > 0 and not https:
        yield Finding("FAIL", "tls", "HSTS_SECONDS is set but PUBLIC_ORIGIN is not https://")
    elif https and not hsts:
        yield Finding("warn", "tls", "served over https without HSTS: set HSTS_SECONDS")
    else:
        yield Finding("ok", "tls", "HSTS matches the origin")


def _check_assets(web_root: Path) -> Iterator[Finding]:
    manifest = web_root / "dist" / "manifest.json"
    if not (web_root / "index.html").is_file():
        yield Finding("FAIL", "assets", f"no page at {web_root}/index.html (WEB_ROOT)")
    elif not manifest.is_file():
        yield Finding("FAIL", "assets", f"{manifest} missing: build with `python web/build.py`")
    else:
        yield Finding("ok", "assets", f"page and built assets in {web_root}")


def run(environ: Mapping[str, str] | None = None, workers: int = 1) -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    findings = diagnose(environ, workers)
    for finding in findings:
        print(finding.line())
    failed = sum(f.level == "FAIL" for f in findings)
    warned = sum(f.level == "warn" for f in findings)
    print(f"{failed} failed, {warned} warnings, {len(findings) - failed - warned} ok")
    return 1 if failed else 0
