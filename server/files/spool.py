"""An upload's bytes as they arrive: spooled to a temporary file, hashed while written.

The ASGI layer fills a :class:`Spool` from the socket without a thread (``tidemark
serve``); any other WSGI server (tests, werkzeug) has the route fill one from
``wsgi.input`` with :func:`spool_stream`. Either way the size limit is judged while
reading, and nothing of a refused body outlives the request.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO, Any

CHUNK = 256 * 1024
# Bytes kept in memory before the spool moves to a file on disk.
IN_MEMORY = 1024 * 1024


class TooLarge(Exception):
    """The body grew past the limit."""


class Spool:
    """Bytes written in order, with their size and sha256; read back from the start."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        # Closed by close() (or the with block): it lives as long as the request.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            IN_MEMORY, prefix="tidemark-upload-"
        )

    def write(self, chunk: bytes) -> None:
        """Raises :class:`TooLarge` (and keeps nothing more) past the limit."""
        if self.size + len(chunk) > self.limit:
            raise TooLarge
        self.size += len(chunk)
        self._hash.update(chunk)
        self._file.write(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def file(self) -> IO[bytes]:
        """The bytes, from the start (each call rewinds)."""
        self._file.seek(0)
        return self._file

    def head(self, size: int) -> bytes:
        return self.file().read(size)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def spool_stream(stream: Any, limit: int, length: int | None) -> Spool:
    """Read a WSGI input: ``length`` bytes when given (refused at once above the limit),
    else to the end of the stream. Raises :class:`TooLarge`."""
    if length is not None and length > limit:
        raise TooLarge
    spool = Spool(limit)
    remaining = length
    try:
        while remaining is None or remaining > 0:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            chunk = stream.read(want)
            if not chunk:
                break
            spool.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    except BaseException:
        spool.close()
        raise
    return spool
