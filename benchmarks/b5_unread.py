"""B5: the unread total's query latency must not grow with the number of messages."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from server.storage import Database
from server.storage import conversations as conversation_store
from server.testing import scratch_database, seed

FULL_SIZES = [
    (10, 10_000),
    (10, 1_000_000),
    (1_000, 10_000),
    (1_000, 1_000_000),
    (10_000, 10_000),
    (10_000, 1_000_000),
]
TINY_SIZES = [(10, 100), (100, 1_000)]


def run(tiny: bool, postgres_url: str | None = None) -> list[dict[str, Any]]:
    results = []
    for conversation_count, message_count in TINY_SIZES if tiny else FULL_SIZES:
        engines = [("sqlite", None)] + ([("postgres", postgres_url)] if postgres_url else [])
        for engine, url in engines:
            with (
                tempfile.TemporaryDirectory() as folder,
                scratch_database(url, folder) as database_url,
            ):
                db = Database(database_url)
                db.migrate()
                seeded = seed(db, conversation_count, message_count)
                samples = _time_total(db, seeded.user_id, seeded.total_unread, 50 if tiny else 300)
                db.dispose()
            results.append(
                {
                    "engine": engine,
                    "conversations": conversation_count,
                    "messages": message_count,
                    "runs": len(samples),
                    "median_ms": statistics.median(samples),
                    "p90_ms": _pct(samples, 90),
                    "p99_ms": _pct(samples, 99),
                }
            )
    return results


def _time_total(db: Database, user_id: str, expected: int, runs: int) -> list[float]:
    samples = []
    with db.read() as conn:
        for _ in range(runs):
            start = time.perf_counter()
            total = conversation_store.total_unread(conn, user_id)
            samples.append((time.perf_counter() - start) * 1000)
            assert total == expected, (total, expected)
    return samples


def _pct(samples: list[float], p: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
