"""The type of a file, from its bytes (libmagic, through python-magic), never its name.

libmagic is the ``file`` command's engine: it knows thousands of formats from their
content, including the ones a browser would render (HTML, SVG, XML, PDF), which is what
decides whether a file is ever shown inline. What a client declares is only compared.
"""

from __future__ import annotations

import magic

# libmagic looks at most this far into a file (its own default read size).
HEAD = 1024 * 1024

# Raster images a browser may show inline; everything else is a download.
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
NO_CLAIM = "application/octet-stream"

# Names browsers or libmagic versions use for the same type.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
}


def sniff(head: bytes) -> str:
    """The MIME type of a file that starts with ``head`` (its first :data:`HEAD` bytes)."""
    found = str(magic.from_buffer(head, mime=True)).lower()
    return normalize(found) or NO_CLAIM


def normalize(mime: str) -> str:
    """``type/subtype``: lowercase, without parameters, aliases resolved."""
    base = mime.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def contradicts(declared: str, sniffed: str) -> bool:
    """Whether a client's declared type (a Content-Type) differs from the sniffed one;
    no claim (empty, or ``application/octet-stream``) contradicts nothing."""
    claim = normalize(declared)
    return claim not in ("", NO_CLAIM) and claim != sniffed
