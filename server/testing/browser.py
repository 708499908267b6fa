"""The browser that tests and benchmarks drive."""

from __future__ import annotations

from pathlib import Path

# The browser the tests and benchmarks drive: Debian's Chromium when installed. The flags
# keep it from reaching for Google's services, which this closed network refuses.
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
