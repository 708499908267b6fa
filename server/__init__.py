"""Tidemark's server: the source of truth for messages and read state."""

from server.app import create_app

__all__ = ["create_app"]
