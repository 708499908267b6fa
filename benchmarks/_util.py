"""Shared pieces: percentiles, logging in as a seeded user."""

from __future__ import annotations

import statistics
from typing import Any

import httpx

from server.testing.seed import PASSWORD


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pct(p: int) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "runs": len(samples),
        "median": statistics.median(samples),
        "p90": pct(90),
        "p99": pct(99),
    }


def login(base_url: str, user_id: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base_url}/api/auth/login", json={"userID": user_id, "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}
