"""Files the SDK uploads (images and files, issue 12): one shape for every side.

A :class:`FileSource` is what ``createImageMessageByFile``, ``createFileMessageByFile`` and
``uploadFile`` take: a name, the type its maker believes (``""``: no claim), a size, and
its bytes on demand. In the browser it is a ``File`` (``JsFile`` in
:mod:`tidemark_sdk._jsbridge`, whose bytes never cross into Python: ``fetch``/XHR send the
``File`` itself); under CPython a :class:`BytesFile` (bytes and a name, or a path's
contents). :func:`file_source` turns what a caller gave into one. No ``js`` here.

The server judges an upload by its bytes alone (sniffed type, sizes, the limit); the SDK
only says what it believes: ``Content-Type`` = the file's type, or
``application/octet-stream`` (no claim) when it has none.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tidemark_sdk._errors import ValidationFailedError

__all__ = [
    "NO_CLAIM",
    "RASTER_TYPES",
    "BytesFile",
    "FileSource",
    "checked_name",
    "declared_type",
    "file_path",
    "file_source",
]

#: The Content-Type that claims nothing: the server sniffs the type either way.
NO_CLAIM = "application/octet-stream"
#: The image types the server shows inline and thumbnails (kind=image).
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: What ``getFileURL`` takes: a file's URL as the server gives it (``Picture.url``,
#: ``FileElem.sourceUrl``, ``UploadedFile.url``, a ``faceURL``), ``?download=1`` allowed.
_FILE_URL = re.compile(r"^/api/files/[0-9a-f]{64}(\?download=1)?$")
_MAX_NAME = 255


@runtime_checkable
class FileSource(Protocol):
    """A file to upload: its name, believed type ("" none) and size in bytes."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def size(self) -> int: ...

    async def read(self) -> bytes:
        """Its bytes (a CPython transport sends them; the browser's sends the File)."""
        ...


class BytesFile:
    """A file held in memory (CPython, tests, bots): ``BytesFile(data, "a.png",
    "image/png")``, or :meth:`from_path`."""

    def __init__(self, data: bytes, name: str, type: str = "") -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationFailedError("file: the bytes must be bytes")
        self._data = bytes(data)
        self._name = checked_name(name)
        self._type = type if isinstance(type, str) else ""

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], type: str = "") -> BytesFile:
        """The file at ``path`` (read now), named after it."""
        source = Path(path)
        try:
            data = source.read_bytes()
        except OSError as error:
            raise ValidationFailedError(f"file: cannot read {str(source)!r}: {error}") from None
        return cls(data, source.name, type)

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def data(self) -> bytes:
        return self._data

    async def read(self) -> bytes:
        return self._data

    def __repr__(self) -> str:
        return f"BytesFile(<{self.size} bytes>, {self._name!r}, {self._type!r})"


def file_source(value: Any, name: str = "", type: str = "") -> FileSource:
    """A :class:`FileSource` from what a caller gave as ``file``: one already (a browser
    ``File`` as the worker converted it, a :class:`BytesFile`), bytes (named ``name``,
    of type ``type``), or a path object (``pathlib.Path``; a string is not taken as a
    path: it may come from a page)."""
    if isinstance(value, FileSource):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return BytesFile(bytes(value), name or "file", type)
    if isinstance(value, os.PathLike):
        return BytesFile.from_path(value, type)
    raise ValidationFailedError(
        "file must be a File (in the browser), or bytes or a path (in Python)"
    )


def declared_type(source: FileSource, override: str = "") -> str:
    """The upload's Content-Type: what the caller or the file says, else no claim."""
    claimed = override or source.type
    return claimed if claimed else NO_CLAIM


def file_path(url: Any) -> str:
    """The path to fetch for a file URL the server gave; anything else is refused (the
    worker fetches it with the user's token: it must stay on the server's file route)."""
    if not isinstance(url, str) or not _FILE_URL.match(url):
        raise ValidationFailedError(
            "url must be a file's URL as the server gives it: /api/files/<uuid>"
        )
    return url


def checked_name(name: Any) -> str:
    """A file name as the server takes it: 1-255 characters, no control characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= _MAX_NAME:
        raise ValidationFailedError(f"file name must be 1-{_MAX_NAME} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ValidationFailedError("file name must not hold control characters")
    return name
