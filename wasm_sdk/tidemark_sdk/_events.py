"""The SDK's events: OpenIM's names, and the emitter that calls the page's listeners."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tidemark_sdk._protocol import SDK_EVENTS

logger = logging.getLogger("tidemark_sdk")

#: OpenIM's event names, from ``protocol.json``.
EVENTS = frozenset(SDK_EVENTS)

Listener = Callable[[Any], None]


class Emitter:
    """Listeners by event name; a failing listener is logged, never raised into the SDK."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    def on(self, event: str, listener: Listener) -> None:
        """Call ``listener(data)`` on ``event`` (one of :data:`EVENTS`)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.get(event, []).remove(listener)

    def emit(self, event: str, data: Any) -> None:
        for listener in list(self._listeners.get(event, ())):
            try:
                listener(data)
            except Exception:
                # A page's handler must not break the SDK's state machine.
                logger.exception("listener for %s failed", event)
