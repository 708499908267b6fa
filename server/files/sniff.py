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


# What libmagic answers when it finds no structure: it contradicts no text-like claim.
_GENERIC = frozenset({"text/plain", NO_CLAIM, "application/x-empty", "inode/x-empty"})
_TEXT_LIKE_APPLICATION = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-javascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/sql",
        "application/x-sh",
        "application/x-ndjson",
        "application/csv",
    }
)


def _text_like(mime: str) -> bool:
    return (
        mime.startswith("text/")
        or mime in _TEXT_LIKE_APPLICATION
        or mime.endswith(("+json", "+xml"))
    )


def contradicts(declared: str, sniffed: str) -> bool:
    """Whether a client's declared type (a Content-Type) is a lie about the bytes.

    No claim (empty, or ``application/octet-stream``) contradicts nothing. Browsers name
    text formats by the file's extension (``text/markdown``, ``text/csv``,
    ``application/json``) where libmagic, seeing no structure, says ``text/plain``: a
    text-like claim about text-like bytes is no lie, and the stored type is the sniffed
    one either way. A claim of a binary format (an image, a PDF, an archive) must be what
    the bytes are, and text never passes for binary nor binary for text."""
    claim = normalize(declared)
    if claim in ("", NO_CLAIM) or claim == sniffed:
        return False
    if _text_like(claim):
        return not (_text_like(sniffed) or sniffed in _GENERIC)
    return True
