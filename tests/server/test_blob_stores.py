"""One contract for every blob store: the local folder and S3 (moto's server, on a port
of 127.0.0.1, spoken to over HTTP by boto3 as a real S3-compatible service would be)."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from server.files.blobs import BlobStore, LocalBlobStore, S3BlobStore, open_store
from tests.server.conftest import make_app, register

BUCKET = "tidemark-test"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server for this module, with the bucket made."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            env.setenv(name, value)
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(
                Bucket=BUCKET
            )
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        made: BlobStore = LocalBlobStore(tmp_path / "blobs")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        # A prefix of its own per test: the bucket is shared by the module.
        made = S3BlobStore(BUCKET, f"{tmp_path.name}/", endpoint_url=endpoint, region=REGION)
    yield made
    made.close()


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Failing(io.RawIOBase):
    """A stream that gives some bytes, then fails (a client gone mid-copy)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.given = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.given:
            raise OSError("the source went away")
        self.given = True
        return self.data

    def seekable(self) -> bool:
        return False


def test_a_blob_put_is_read_back_whole(store: BlobStore) -> None:
    data = b"bytes " * 100_000  # 600 kB: more than one chunk
    key = _key(data)
    assert not store.exists(key)
    store.put(key, io.BytesIO(data), len(data))
    assert store.exists(key)
    with store.open(key) as stream:
        assert stream.read() == data


def test_putting_the_same_key_again_keeps_the_blob(store: BlobStore) -> None:
    data = b"once"
    key = _key(data)
    store.put(key, io.BytesIO(data), len(data))
    store.put(key, io.BytesIO(data), len(data))
    with store.open(key) as stream:
        assert stream.read() == data


def test_an_absent_blob_is_a_key_error(store: BlobStore) -> None:
    with pytest.raises(KeyError):
        store.open("0" * 64)
    assert not store.exists("0" * 64)


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "A" * 64, "0" * 63, "0" * 64 + "/x"])
def test_a_key_is_a_sha256_and_nothing_else(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(b"x"), 1)
    with pytest.raises(ValueError):
        store.exists(key)


def test_a_failed_put_leaves_nothing_visible(store: BlobStore, tmp_path: Path) -> None:
    data = b"half of it"
    key = _key(data * 2)
    with pytest.raises(OSError):
        store.put(key, _Failing(data), len(data) * 2)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.open(key)
    if isinstance(store, LocalBlobStore):  # not even a partial file in a corner
        assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_a_short_stream_is_not_stored(store: BlobStore) -> None:
    data = b"shorter than declared"
    key = _key(data)
    with pytest.raises(Exception):  # noqa: B017 - each backend says so its own way
        store.put(key, io.BytesIO(data), len(data) + 10)
    assert not store.exists(key)


def test_local_blobs_are_laid_out_by_key(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "files")
    data = b"where am I"
    key = _key(data)
    store.put(key, io.BytesIO(data), len(data))
    assert (tmp_path / "files" / key[:2] / key[2:]).read_bytes() == data


def test_the_storage_url_picks_the_store(tmp_path: Path, s3_endpoint: str) -> None:
    beside = open_store("", f"sqlite:///{tmp_path}/db/tidemark.db")
    assert isinstance(beside, LocalBlobStore) and beside.root == tmp_path / "db" / "files"
    default = open_store("", "postgresql://u@h/db")
    assert isinstance(default, LocalBlobStore) and default.root == Path("data/files")
    folder = open_store(f"file://{tmp_path}/x", "postgresql://u@h/db")
    assert isinstance(folder, LocalBlobStore) and folder.root == tmp_path / "x"
    s3 = open_store(f"s3://{BUCKET}/pre/fix?endpoint_url={s3_endpoint}&region={REGION}", "")
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == (BUCKET, "pre/fix/")
    s3.close()
    for bad in ("ftp://x", "s3://", "s3://b?color=red", "file://host/x"):
        with pytest.raises(ValueError):
            open_store(bad, "")


def test_an_upload_through_the_api_lands_in_s3(database_url: str, s3_endpoint: str) -> None:
    url = f"s3://{BUCKET}/api?endpoint_url={s3_endpoint}&region={REGION}"
    app = make_app(database_url, FILE_STORAGE_URL=url)
    try:
        client = app.test_client()
        alice, bob = register(client), register(client)
        data = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"
        response = client.put("/api/files?name=report.pdf", data=data, headers={**alice.headers})
        assert response.status_code == 201, response.get_json()
        sha = response.get_json()["uuid"]
        assert sha == _key(data)
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
        assert s3.get_object(Bucket=BUCKET, Key=f"api/{sha}")["Body"].read() == data
        body = {
            "clientMsgID": "f1",
            "recvID": bob.user_id,
            "contentType": 105,
            "fileElem": {"uuid": sha},
        }
        assert alice.call("POST", "/api/messages", body)["message"]["fileElem"]["uuid"] == sha
        fetched = client.get(f"/api/files/{sha}", headers=bob.headers, buffered=True)
        assert fetched.status_code == 200
        assert fetched.data == data
        assert fetched.headers["Content-Type"] == "application/octet-stream"
    finally:
        app.extensions["tidemark"].db.dispose()


def test_a_served_download_streams_from_s3(database_url: str, s3_endpoint: str) -> None:
    from server.asgi import TidemarkASGI
    from server.serve import in_thread

    url = f"s3://{BUCKET}/served?endpoint_url={s3_endpoint}&region={REGION}"
    app = make_app(database_url, FILE_STORAGE_URL=url)
    try:
        alice = register(app.test_client())
        data = bytes(range(256)) * 4096  # 1 MiB
        with in_thread(TidemarkASGI(app)) as base:
            auth = {"Authorization": f"Bearer {alice.token}"}
            put = httpx.put(
                f"{base}/api/files", params={"name": "n.bin"}, content=data, headers=auth
            )
            assert put.status_code == 201, put.text
            got = httpx.get(f"{base}{put.json()['url']}", headers=auth)
        assert got.status_code == 200
        assert got.content == data
    finally:
        app.extensions["tidemark"].db.dispose()
