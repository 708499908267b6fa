"""Helpers for tests and benchmarks: a real ``tidemark serve`` process, scratch and seeded
databases, and the browser settings they share. Not used by the server itself.
"""

from server.testing.browser import CHROMIUM_ARGS, SYSTEM_CHROMIUM
from server.testing.databases import scratch_database, seeded_server
from server.testing.process import TIDEMARK, ServerProcess, free_port
from server.testing.seed import PASSWORD, Seeded, seed

__all__ = [
    "CHROMIUM_ARGS",
    "PASSWORD",
    "SYSTEM_CHROMIUM",
    "TIDEMARK",
    "Seeded",
    "ServerProcess",
    "free_port",
    "scratch_database",
    "seed",
    "seeded_server",
]
