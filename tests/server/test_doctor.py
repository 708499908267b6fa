"""``tidemark doctor`` tells a deployment's mistakes apart from a sound setup, and
changes nothing while it looks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server import doctor
from server.config import REPO_ROOT
from server.storage import Database


def levels(env: dict[str, str], workers: int = 1) -> dict[str, set[str]]:
    """check -> the levels it reported."""
    found: dict[str, set[str]] = {}
    for finding in doctor.diagnose(env, workers):
        found.setdefault(finding.check, set()).add(finding.level)
    return found


@pytest.fixture
def sound(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'tidemark.db'}"
    db = Database(url)
    db.migrate()
    db.dispose()
    return {"TIDEMARK_DATABASE_URL": url, "TIDEMARK_WEB_ROOT": str(REPO_ROOT / "web")}


def test_a_sound_setup_passes_every_check(sound: dict[str, str]) -> None:
    findings = doctor.diagnose(sound)
    assert [f.line() for f in findings if f.level != "ok"] == []
    assert {f.check for f in findings} >= {"database", "redis", "passwords", "assets", "tls"}


def test_a_migrated_database_is_current_and_a_new_one_is_announced(
    sound: dict[str, str], tmp_path: Path
) -> None:
    (database,) = [f for f in doctor.diagnose(sound) if f.check == "database"]
    assert database.level == "ok" and "schema current" in database.message
    fresh = {**sound, "TIDEMARK_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'x.db'}"}
    (database,) = [f for f in doctor.diagnose(fresh) if f.check == "database"]
    assert (database.level, "created on start" in database.message) == ("ok", True)
    assert not (tmp_path / "new" / "x.db").exists()  # looking created nothing


def test_an_old_schema_is_a_warning_and_the_doctor_does_not_migrate_it(
    tmp_path: Path, sound: dict[str, str]
) -> None:
    from alembic import command
    from alembic.config import Config

    from server.storage import _MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.connect().execution_options(tidemark_write=True) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
        conn.commit()
    db.dispose()
    env = {**sound, "TIDEMARK_DATABASE_URL": url}
    assert levels(env)["database"] == {"warn"}
    assert levels(env)["database"] == {"warn"}  # still 0004: nothing was migrated


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        ("TIDEMARK_FAST_PASSWORD_HASHING", "true", "passwords"),
        ("TIDEMARK_SEND_RATE_LIMIT", "lots", "rate limits"),
        ("TIDEMARK_TOKEN_TTL_SECONDS", "a month", "numbers"),
        ("TIDEMARK_HSTS_SECONDS", "31536000", "tls"),  # without an https origin
        ("TIDEMARK_PUBLIC_ORIGIN", "chat.example.com", "origin"),  # no scheme
        ("TIDEMARK_REDIS_URL", "redis://127.0.0.1:1", "redis"),  # nothing listens
        ("TIDEMARK_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none", "database"),
        ("TIDEMARK_DATABASE_URL", "mysql://root@127.0.0.1/test", "database"),
        ("TIDEMARK_DATABASE_URL", "sqlite://", "database"),  # in memory
        ("TIDEMARK_WEB_ROOT", "/nonexistent", "assets"),
    ],
)
def test_each_unsafe_setting_fails_its_check(
    sound: dict[str, str], variable: str, value: str, check: str
) -> None:
    assert levels({**sound, variable: value})[check] == {"FAIL"}


def test_workers_without_redis_fail_and_warnings_do_not(sound: dict[str, str]) -> None:
    assert levels(sound, workers=2)["redis"] == {"FAIL"}
    typo = levels({**sound, "TIDEMARK_DATABASE_ULR": "sqlite:///x.db"})
    assert typo["settings"] == {"warn"}
    https = levels({**sound, "TIDEMARK_PUBLIC_ORIGIN": "https://chat.example.com"})
    assert https["tls"] == {"warn"}  # https without HSTS
    assert https["origin"] == {"ok"}


def test_the_command_exits_1_on_failure_and_0_when_sound(sound: dict[str, str]) -> None:
    def doctor_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "doctor"],
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=60,
        )

    good = doctor_exit(sound)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "0 failed" in good.stdout
    bad = doctor_exit({**sound, "TIDEMARK_FAST_PASSWORD_HASHING": "1"})
    assert bad.returncode == 1
    assert "FAIL  passwords" in bad.stdout
