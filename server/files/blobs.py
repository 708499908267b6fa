"""Blob stores: bytes by their sha256, written whole or not at all.

Two backends behind one small interface, picked by ``FILE_STORAGE_URL``:

- ``""`` (default): a folder ``files/`` beside the SQLite database file (``./data/files``
  for PostgreSQL); ``file:///path``: that folder. Blob ``abcdef…`` is ``ab/cdef…``.
  A blob is written to a temporary file in the same folder, flushed to disk, then renamed
  into place: a reader never sees a partial blob, and an acknowledged one survives a
  crash (rule 8).
- ``s3://bucket[/prefix]?endpoint_url=…&region=…``: any S3-compatible service (AWS,
  MinIO, Ceph, moto), through boto3 with its usual credentials (environment, profile,
  instance role). A single PUT: S3 makes an object visible only once it is whole.

Blobs are never deleted here: the same bytes may back many uploads and messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import make_url

_KEY = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 256 * 1024


class BlobStore(Protocol):
    def put(self, key: str, data: IO[bytes], size: int) -> None:
        """Store ``size`` bytes read from ``data`` under ``key``, atomically (an existing
        blob is kept: the key is the sha256 of its bytes)."""

    def open(self, key: str) -> IO[bytes]:
        """The blob's bytes as a binary stream, to be closed by the caller.
        Raises :class:`KeyError` when absent."""

    def exists(self, key: str) -> bool: ...

    def close(self) -> None: ...


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"a blob key is a sha256 in lowercase hex, not {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under ``root``: ``root/ab/cdef…``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)  # made by the first put, not by a server that stores nothing

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:]

    def put(self, key: str, data: IO[bytes], size: int) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # In the blob's own folder, so the rename stays on one file system (atomic).
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                written = 0
                while chunk := data.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                if written != size:
                    raise ValueError(f"blob {key}: read {written} bytes, expected {size}")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_folder(path.parent)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def close(self) -> None:
        pass


def _fsync_folder(folder: Path) -> None:
    """The rename itself reaches the disk (else a crash may lose the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3BlobStore:
    """Blobs as objects ``prefix + key`` of one bucket of an S3-compatible service."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        try:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - boto3 is a dependency
            raise RuntimeError("S3 file storage needs boto3: pip install boto3") from None
        self.bucket = bucket
        self.prefix = prefix
        # boto3 clients are thread-safe: one is shared by every request thread.
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=32,
                # Path-style addressing works with every S3-compatible service.
                s3={"addressing_style": "path"},
            ),
        )
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        self._client_error = ClientError

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: IO[bytes], size: int) -> None:
        if self.exists(key):
            return
        with _exactly(data, size, key) as body:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=body,
                ContentLength=size,
                ContentType="application/octet-stream",
            )

    def open(self, key: str) -> IO[bytes]:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._client_error as error:
            if _status(error) == 404:
                raise KeyError(key) from None
            raise
        body: IO[bytes] = answer["Body"]
        return body

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._client_error as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def _exactly(data: IO[bytes], size: int, key: str) -> Iterator[IO[bytes]]:
    """``data`` as a seekable stream of exactly ``size`` bytes from here; else ValueError.

    S3 would otherwise wait for the bytes a short stream never sends (and botocore retry
    the wait); a stream that cannot seek is copied to a temporary file first."""
    if data.seekable():
        start = data.tell()
        end = data.seek(0, os.SEEK_END)
        data.seek(start)
        if end - start != size:
            raise ValueError(f"blob {key}: {end - start} bytes to read, expected {size}")
        yield data
        return
    with tempfile.SpooledTemporaryFile(CHUNK) as copy:
        while chunk := data.read(CHUNK):
            copy.write(chunk)
        copy.seek(0)
        with _exactly(copy, size, key) as checked:
            yield checked


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def open_store(url: str, database_url: str) -> BlobStore:
    """The store ``FILE_STORAGE_URL`` names (see the module docstring)."""
    if not url:
        database = make_url(database_url)
        if database.get_backend_name() == "sqlite" and database.database:
            return LocalBlobStore(Path(database.database).parent / "files")
        return LocalBlobStore(Path("data") / "files")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"FILE_STORAGE_URL {url!r}: use file:///absolute/path")
        return LocalBlobStore(unquote(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"FILE_STORAGE_URL {url!r}: name the bucket, s3://bucket")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint_url", "region"}
        if unknown:
            raise ValueError(f"FILE_STORAGE_URL: unknown parameters {sorted(unknown)}")
        prefix = parts.path.strip("/")
        return S3BlobStore(
            parts.netloc,
            prefix=f"{prefix}/" if prefix else "",
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
        )
    raise ValueError(f"FILE_STORAGE_URL {url!r}: use '', file:///path or s3://bucket")
