"""B12: upload throughput, PUT /api/files, 1 MiB and 10 MiB files, local folder and S3.

A real ``tidemark serve`` process (SQLite) receives uploads of distinct random bytes (no
deduplication helps) from one client, one after another, over HTTP on 127.0.0.1: the
ASGI layer spools and hashes each body, the route sniffs it and writes the blob (folder:
temporary file, fsync, rename; S3: one PUT) and its rows. Per run: MiB/s and uploads/s
over the run's uploads; medians over the runs. S3 is moto's server in this process — an
S3-compatible service in Python, in memory — so its figures bound the server's S3 path
and moto together, not what a real S3 would do.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from server.testing import ServerProcess, free_port

MIB = 1024 * 1024
FULL = {"sizes": [1 * MIB, 10 * MIB], "uploads": {1 * MIB: 30, 10 * MIB: 6}, "runs": 5}
TINY = {"sizes": [64 * 1024, 1 * MIB], "uploads": {64 * 1024: 3, 1 * MIB: 2}, "runs": 1}
BUCKET = "tidemark-bench"


def run(tiny: bool) -> list[dict[str, Any]]:
    size = TINY if tiny else FULL
    results = []
    with _moto() as endpoint:
        backends = {
            "local": "",
            "s3-moto": f"s3://{BUCKET}?endpoint_url={endpoint}&region=us-east-1",
        }
        for backend, storage_url in backends.items():
            with tempfile.TemporaryDirectory() as folder, _server(folder, storage_url) as url:
                headers = _user(url)
                for file_size in size["sizes"]:
                    results.append(
                        {
                            "backend": backend,
                            "size_mib": file_size / MIB,
                            **_measure(
                                url, headers, file_size, size["uploads"][file_size], size["runs"]
                            ),
                        }
                    )
    print(table(results))
    return results


def _measure(
    url: str, headers: dict[str, str], file_size: int, uploads: int, runs: int
) -> dict[str, Any]:
    source = random.Random(file_size)
    mib_per_s, uploads_per_s, latencies = [], [], []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        _upload(client, source.randbytes(file_size))  # warm: connection, first blob folder
        for _ in range(runs):
            bodies = [source.randbytes(file_size) for _ in range(uploads)]
            started = time.perf_counter()
            for body in bodies:
                began = time.perf_counter()
                _upload(client, body)
                latencies.append((time.perf_counter() - began) * 1000)
            elapsed = time.perf_counter() - started
            mib_per_s.append(uploads * file_size / MIB / elapsed)
            uploads_per_s.append(uploads / elapsed)
    return {
        "uploads_per_run": uploads,
        "runs": runs,
        "mib_per_s": statistics.median(mib_per_s),
        "uploads_per_s": statistics.median(uploads_per_s),
        "upload_ms_median": statistics.median(latencies),
        "upload_ms_max": max(latencies),
    }


def _upload(client: httpx.Client, body: bytes) -> None:
    answer = client.put("/api/files", params={"name": "bench.bin"}, content=body)
    if answer.status_code != 201:
        raise RuntimeError(f"upload failed: {answer.status_code} {answer.text}")


def _user(url: str) -> dict[str, str]:
    account = {"userID": "bench", "password": "correct horse"}
    httpx.post(f"{url}/api/users", json={**account, "nickname": "Bench"}, timeout=30)
    login = httpx.post(f"{url}/api/auth/login", json=account, timeout=30)
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['token']}"}


@contextmanager
def _server(folder: str, storage_url: str) -> Iterator[str]:
    saved = {
        k: os.environ.get(k) for k in ("TIDEMARK_FILE_STORAGE_URL", "TIDEMARK_UPLOAD_RATE_LIMIT")
    }
    os.environ["TIDEMARK_FILE_STORAGE_URL"] = storage_url
    os.environ["TIDEMARK_UPLOAD_RATE_LIMIT"] = "100000 per minute"
    server = ServerProcess(f"sqlite:///{folder}/tidemark.db", Path(folder) / "server.log")
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _moto() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's line per request

    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=BUCKET
        )
        yield endpoint
    finally:
        server.stop()


def rows(results: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The benchmark table's rows (``python -m benchmarks``)."""
    return [
        (
            "B12",
            f"upload {r['size_mib']:g} MiB, {r['backend']}",
            f"{r['mib_per_s']:.1f} MiB/s",
            "",
            "",
            str(r["runs"]),
            f"{r['uploads_per_s']:.1f} uploads/s; per upload median"
            f" {r['upload_ms_median']:.0f} ms, max {r['upload_ms_max']:.0f} ms"
            f" ({r['uploads_per_run']} per run)",
        )
        for r in results
    ]


def table(results: list[dict[str, Any]]) -> str:
    lines = [("backend", "size", "MiB/s", "uploads/s", "median ms", "max ms", "runs")]
    for r in results:
        lines.append(
            (
                r["backend"],
                f"{r['size_mib']:g} MiB",
                f"{r['mib_per_s']:.1f}",
                f"{r['uploads_per_s']:.1f}",
                f"{r['upload_ms_median']:.0f}",
                f"{r['upload_ms_max']:.0f}",
                f"{r['runs']} x {r['uploads_per_run']}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results = run(args.tiny)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "b12_upload.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / 'b12_upload.json'}")
