"""Moved to :mod:`server.testing`; kept until the last importers move."""

from server.testing import CHROMIUM_ARGS, SYSTEM_CHROMIUM, TIDEMARK, ServerProcess, free_port

__all__ = ["CHROMIUM_ARGS", "SYSTEM_CHROMIUM", "TIDEMARK", "ServerProcess", "free_port"]
