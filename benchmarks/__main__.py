"""Run the benchmarks: ``.venv/bin/python -m benchmarks [--tiny] [--only B4,B5]``.

Prints one table and writes ``benchmarks/results/results.json`` plus PNG plots. ``--tiny``
is the smoke size CI runs; figures worth quoting come from the default (full) size.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    b1_reload,
    b2_markread,
    b3_throughput,
    b4_sync,
    b5_unread,
    b6_longtasks,
    b7_connections,
    b10_group_read,
    b11_read_all,
    b12_upload,
    b13_search,
    plots,
)

RESULTS = Path(__file__).resolve().parent / "results"


def _b1(args: argparse.Namespace) -> Any:
    return b1_reload.run(args.tiny)


def _b2(args: argparse.Namespace) -> Any:
    return b2_markread.run(args.tiny)


def _b3(args: argparse.Namespace) -> Any:
    return b3_throughput.run(args.tiny, args.postgres_url, args.server_workers)


def _b4(args: argparse.Namespace) -> Any:
    return b4_sync.run(args.tiny)


def _b5(args: argparse.Namespace) -> Any:
    return b5_unread.run(args.tiny, args.postgres_url)


def _b6(args: argparse.Namespace) -> Any:
    return b6_longtasks.run(args.tiny)


def _b7(args: argparse.Namespace) -> Any:
    return b7_connections.run(args.tiny)


def _b10(args: argparse.Namespace) -> Any:
    return b10_group_read.run(args.tiny)


def _b11(args: argparse.Namespace) -> Any:
    return b11_read_all.run(args.tiny, args.postgres_url)


BENCHMARKS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "B1": _b1,
    "B2": _b2,
    "B3": _b3,
    "B4": _b4,
    "B5": _b5,
    "B6": _b6,
    "B7": _b7,
    "B10": _b10,
    "B11": _b11,
    "B12": lambda args: b12_upload.run(args.tiny),
    "B13": lambda args: b13_search.run(args.tiny, args.postgres_url),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="smoke-test sizes (CI)")
    parser.add_argument("--only", help="comma-separated subset, e.g. B4,B5")
    parser.add_argument(
        "--postgres-url", help="also run B3, B5 and B11 on this PostgreSQL database"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--server-workers", type=int, default=1, help="B3: tidemark serve --workers N (Redis)"
    )
    args = parser.parse_args(argv)
    chosen = args.only.upper().split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; known: {sorted(BENCHMARKS)}")

    results: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "size": "tiny" if args.tiny else "full",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    for name in chosen:
        print(f"== {name} …", flush=True)
        results[name] = BENCHMARKS[name](args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    plots.write(results, args.out)
    print(table(results))
    print(f"\nwrote {args.out / 'results.json'}")
    return 0


def table(results: dict[str, Any]) -> str:
    rows = [("bench", "case", "median", "p90", "p99", "runs", "notes")]
    if "B1" in results:
        r = results["B1"]
        n = r["conversations"]
        for case in ("warm", "cold"):
            c = r[case]
            source = "cached list" if c["list_from_cache"] else "list (no cache: after sync)"
            targets = (
                {"list": "target ≤ 300 ms", "total": "target ≤ 1.5 s"} if case == "warm" else {}
            )
            for key, label in (
                ("list", f"(a) {source} painted"),
                ("total", "(b) true total shown"),
            ):
                s = c[f"{key}_ms"]
                rows.append(
                    (
                        "B1",
                        f"{case} reload {label}, {n} convs",
                        f"{s['median']:.0f} ms",
                        f"{s['p90']:.0f} ms",
                        f"{s['p99']:.0f} ms",
                        str(s["runs"]),
                        targets.get(key, ""),
                    )
                )
            steps = " · ".join(f"{k} {v:.0f}" for k, v in c["steps_median_ms"].items())
            rows.append(("B1", f"{case} (b) split, median ms", "", "", "", "", steps))
    for r in results.get("B3", []):
        d = r["delivery_ms"] or {"median": float("nan"), "p90": float("nan"), "p99": float("nan")}
        label = f"{r['engine']} x{r['workers']}, {r['clients']} clients"
        rows.append(
            (
                "B3",
                f"sends/s, {label}",
                f"{r['sends_per_s']:.0f}",
                "",
                "",
                "",
                f"server cpu {r['server_cpu_cores']:.2f} cores, "
                f"{r['server_cpu_ms_per_op']:.1f} ms/op, peak {r['server_peak_rss_mb']:.0f} MB",
            )
        )
        rows.append(
            (
                "B3",
                f"mark-reads/s, {label}",
                f"{r['mark_reads_per_s']:.0f}",
                "",
                "",
                "",
                f"load generator cpu {r['load_generator_cpu_ms_per_op']:.1f} ms/op",
            )
        )
        rows.append(
            (
                "B3",
                f"delivery, {label}",
                f"{d['median']:.1f} ms",
                f"{d['p90']:.1f} ms",
                f"{d['p99']:.1f} ms",
                str(r["delivered"]),
                f"of {r['sent']} sent",
            )
        )
        if r["steady_delivery_ms"]:
            d = r["steady_delivery_ms"]
            rows.append(
                (
                    "B3",
                    f"delivery at {r['steady_sends_per_s']:.0f} sends/s offered, {label}",
                    f"{d['median']:.1f} ms",
                    f"{d['p90']:.1f} ms",
                    f"{d['p99']:.1f} ms",
                    str(d["runs"]),
                    f"{r['steady_lost']} not delivered",
                )
            )
    if "B7" in results:
        r = results["B7"]
        n = r["devices"]
        rows.append(
            (
                "B7",
                f"server RSS, {n} sockets connected",
                f"{r['server_rss_mb_connected']:.0f} MB",
                "",
                "",
                "",
                f"{r['rss_mb_per_1000_sockets']:.1f} MB per 1,000; target ≤ 1 GiB; "
                f"RLIMIT_NOFILE raised {r['nofile_limit_before']} → {r['nofile_limit']}",
            )
        )
        rows.append(
            (
                "B7",
                f"server CPU idle, {n} sockets ({r['pings_per_s']:.0f} pings/s)",
                f"{r['idle_cpu_percent_of_core']:.1f} %",
                "",
                "",
                "",
                f"of one core; target ≤ 5 %; {r['still_open']} of {n} still open at the end",
            )
        )
        d = r["delivery_ms"] or {"median": float("nan"), "p90": float("nan"), "p99": float("nan")}
        rows.append(
            (
                "B7",
                f"delivery while {n} connected",
                f"{d['median']:.1f} ms",
                f"{d['p90']:.1f} ms",
                f"{d['p99']:.1f} ms",
                str(r["delivered"]),
                f"of {r['sends']} sent; target p99 ≤ 100 ms",
            )
        )
    if "B4" in results:
        r = results["B4"]
        for case in ("full", "catchup"):
            s = r[f"{case}_ms"]
            rows.append(
                (
                    "B4",
                    f"{case} sync, {r['conversations']} convs",
                    f"{s['median']:.1f} ms",
                    f"{s['p90']:.1f} ms",
                    f"{s['p99']:.1f} ms",
                    str(s["runs"]),
                    f"{r[f'{case}_bytes']:,} bytes",
                )
            )
        rows.append(
            ("B4", "catch-up / full bytes", f"{r['bytes_ratio']:.2%}", "", "", "", "target ≤ 5%")
        )
    for r in results.get("B5", []):
        rows.append(
            (
                "B5",
                f"{r['engine']} {r['conversations']:,} convs {r['messages']:,} msgs",
                f"{r['median_ms']:.2f} ms",
                f"{r['p90_ms']:.2f} ms",
                f"{r['p99_ms']:.2f} ms",
                str(r["runs"]),
                "target ≤ 5 ms at 10,000 convs",
            )
        )
    if "B2" in results:
        r = results["B2"]
        for key, label, note in (
            ("same_tab_ms", "same tab: call → badge cleared", "target p99 ≤ 50 ms"),
            ("same_tab_painted_ms", "same tab: call → next frame painted", ""),
            ("second_device_ms", "second device: call → badge cleared", "target p99 ≤ 100 ms"),
            ("second_device_painted_ms", "second device: call → next frame", ""),
            ("resolved_ms", "call → its Promise resolved", ""),
        ):
            s = r[key]
            rows.append(
                (
                    "B2",
                    f"mark-read, {label}",
                    f"{s['median']:.1f} ms",
                    f"{s['p90']:.1f} ms",
                    f"{s['p99']:.1f} ms",
                    str(s["runs"]),
                    note,
                )
            )
    if "B6" in results:
        r = results["B6"]
        for case in ("login", "reload"):
            for phase, label in (
                ("boot", "before Pyodide booted"),
                ("sync", "after (sync, render)"),
            ):
                s = r[case][phase]
                rows.append(
                    (
                        "B6",
                        f"{case}, {r['conversations']:,} convs: longest task {label}",
                        f"{s['max_ms']:.0f} ms",
                        "",
                        "",
                        str(s["count"]),
                        f"{s['count']} long tasks, {s['total_ms']:.0f} ms"
                        + (" (target: none > 50 ms)" if phase == "sync" else ""),
                    )
                )
    if "B10" in results:
        r = results["B10"]
        for case in ("one sender", f"{r['senders']} senders"):
            c = r[case]
            s = c["cpu_ms_per_mark_read"]
            rows.append(
                (
                    "B10",
                    f"group of {r['members']}: mark-read of {c['messages_read_per_mark_read']}"
                    f" msgs, {case}",
                    f"{s['median']:.2f} ms",
                    f"{s['p90']:.2f} ms",
                    "",
                    str(s["runs"]),
                    f"server cpu per op; {c['events_per_mark_read']:.0f} events per op; receipt"
                    f" flush {c['receipt_flush']['events']} events,"
                    f" {c['receipt_flush']['cpu_ms']:.1f} ms",
                )
            )
    for r in results.get("B11", []):
        rows.append(
            (
                "B11",
                f"{r['engine']} mark-all-read, {r['conversations']:,} convs",
                f"{r['wall_ms']:.1f} ms",
                "",
                "",
                str(r["runs"]),
                f"cpu {r['cpu_ms']:.1f} ms, {r['statements']:.0f} statements, answer"
                f" {r['answer_bytes']:,.0f} B, event to the user {r['user_event_bytes']:,.0f} B,"
                f" {r['peer_events']:.0f} peer receipts {r['peer_event_bytes']:,.0f} B;"
                f" group receipt flush {r['receipt_flush_events']:.0f} events"
                f" {r['receipt_flush_bytes']:,.0f} B",
            )
        )
    rows += b12_upload.rows(results.get("B12", []))
    rows += b13_search.rows(results.get("B13", []))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
