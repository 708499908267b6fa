"""PNG plots for the benchmarks that have a curve to show (B3 and B5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def write(results: dict[str, Any], out: Path) -> None:
    if results.get("B3"):
        _b3(results["B3"], out / "b3_delivery.png")
    if results.get("B5"):
        _b5(results["B5"], out / "b5_unread.png")


def _b3(rows: list[dict[str, Any]], path: Path) -> None:
    """Delivery latency as a cumulative distribution, one curve per server setup."""
    figure, axes = plt.subplots(figsize=(7, 4))
    for row in rows:
        latencies = row["latencies_ms"]
        if not latencies:
            continue
        share = [(i + 1) / len(latencies) for i in range(len(latencies))]
        label = (
            f"{row['engine']} x{row['workers']}: {row['sends_per_s']:.0f} sends/s, "
            f"{row['clients']} clients"
        )
        axes.plot(latencies, share, label=label)
    axes.axvline(100, color="red", linestyle="--", linewidth=1, label="target p99 100 ms")
    axes.set_xscale("log")
    axes.set_xlabel("delivery latency (ms): send start to the partner's OnRecvNewMessages")
    axes.set_ylabel("share of messages delivered")
    axes.set_title("B3: delivery latency under load")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _b5(rows: list[dict[str, Any]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4))
    for engine in sorted({r["engine"] for r in rows}):
        for messages in sorted({r["messages"] for r in rows}):
            points = sorted(
                (r["conversations"], r["median_ms"])
                for r in rows
                if r["engine"] == engine and r["messages"] == messages
            )
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, marker="o", label=f"{engine}, {messages:,} messages")
    axes.axhline(5, color="red", linestyle="--", linewidth=1, label="target 5 ms")
    axes.set_xscale("log")
    axes.set_xlabel("conversations")
    axes.set_ylabel("unread total query, median (ms)")
    axes.set_title("B5: unread total vs conversations and messages")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
