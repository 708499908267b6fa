"""Images: decode (only PNG, JPEG, GIF, WebP), measure, and make the thumbnail.

The thumbnail is re-encoded by Pillow from the decoded pixels: at most
:data:`THUMBNAIL_SIZE` px on its longer side, the EXIF orientation applied, no metadata
at all (no EXIF, GPS, comments or ICC profile) — JPEG when opaque, PNG with alpha.
The original is kept as uploaded (its bytes are its address).

Decompression bombs (a small file of a huge picture) are refused before any pixel is
decoded: Pillow's ``MAX_IMAGE_PIXELS``, lowered here, with its warning made an error.
Decoding is bounded to :data:`DECODERS` at once, as argon2 is for logins: a decoded
picture can take hundreds of MiB.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import ExifTags, Image, UnidentifiedImageError

THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85
# 64 megapixels: an 8000 x 8000 picture (a 48 MP phone photo fits).
MAX_PIXELS = 64_000_000
DECODERS = 2

# Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises above; both refuse.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_decoding = threading.BoundedSemaphore(DECODERS)

# EXIF orientation -> the transpose that shows the picture upright (ImageOps' table).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class NotAnImage(Exception):
    """Not a PNG, JPEG, GIF or WebP that decodes, or too many pixels."""


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class Measured:
    mime: str  # from the decoder, one of FORMATS
    width: int  # as shown: after the EXIF orientation
    height: int
    thumbnail: Thumbnail


def measure(data: IO[bytes]) -> Measured:
    """Decode an image and make its thumbnail. Raises :class:`NotAnImage`."""
    with _decoding:
        try:
            with Image.open(data, formats=list(FORMATS)) as image:
                return _measure(image)
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
            OSError,  # truncated or corrupt data
            ValueError,
            SyntaxError,  # some plugins' way of saying "not my format"
        ) as error:
            raise NotAnImage(str(error)) from None


def _measure(image: Image.Image) -> Measured:
    assert image.format is not None
    mime = FORMATS[image.format]
    width, height = image.size
    if width * height > MAX_PIXELS:  # Pillow checks on open too; said here, explicitly
        raise NotAnImage(f"{width} x {height} pixels is over {MAX_PIXELS}")
    orientation = int(image.getexif().get(ExifTags.Base.Orientation, 1))
    alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    # For JPEG, thumbnail() decodes at a reduced scale (draft mode): fast and small.
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    small = image.convert("RGBA" if alpha else "RGB")
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
        if orientation >= 5:  # a quarter turn: the picture is shown the other way up
            width, height = height, width
    small.info = {}  # nothing of the original's metadata is written again
    out = io.BytesIO()
    if alpha:
        small.save(out, "PNG", optimize=True)
        thumb_mime = "image/png"
    else:
        small.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        thumb_mime = "image/jpeg"
    thumbnail = Thumbnail(out.getvalue(), thumb_mime, small.width, small.height)
    return Measured(mime, width, height, thumbnail)
