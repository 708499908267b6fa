"""Figures measured by a probe: printed (``pytest -s`` / ``-rA``) and appended as one JSON
line to ``artifacts/probe/figures.jsonl``, written before the probe asserts anything so a
failing probe still leaves its numbers."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "artifacts" / "probe" / "figures.jsonl"


def _revision() -> str:
    root = os.environ.get("TIDEMARK_PROBE_SERVER_ROOT")
    if root:
        return f"root:{root}"
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "server"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty-server" if dirty else "")


def record(probe: str, **figures: Any) -> dict[str, Any]:
    line = {
        "probe": probe,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "server": _revision(),
        **figures,
    }
    print(f"\n[probe] {probe}: {json.dumps(figures, default=str)}", flush=True)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(json.dumps(line, default=str) + "\n")
    return line


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def summary_ms(samples: list[float]) -> dict[str, Any]:
    """median / p99 / max of durations in seconds, as milliseconds."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": ms(statistics.median(ordered)),
        "p99_ms": ms(p99),
        "max_ms": ms(ordered[-1]),
    }
