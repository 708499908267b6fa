"""The page and the built assets, as the browser receives them from ``tidemark serve``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


def fetch(client, url: str):
    """GET and close the file-backed response (an open file would warn)."""
    response = client.get(url)
    response.get_data()  # buffer the body before the file closes
    response.close()
    return response


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = DIST / "manifest.json"
    if not path.is_file():
        pytest.fail("web/dist is not built: run `.venv/bin/python web/build.py`", pytrace=False)
    return json.loads(path.read_text())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_served_wheel_matches_the_lock_and_is_bytecode(client, manifest):
    base = f"/assets/{manifest['buildId']}/pyodide"
    lock = fetch(client, f"{base}/pyodide-lock.json")
    assert lock.status_code == 200
    entry = lock.get_json()["packages"]["tidemark-sdk"]
    wheel = fetch(client, f"{base}/{entry['file_name']}")
    assert wheel.status_code == 200
    assert hashlib.sha256(wheel.data).hexdigest() == entry["sha256"]
    assert entry["file_name"].endswith("-cp313-none-any.whl")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("pyodide/pyodide.asm.wasm", "application/wasm"),
        ("pyodide/pyodide.mjs", "text/javascript"),
        ("pyodide/pyodide-lock.json", "application/json"),
        ("pyodide/python_stdlib.zip", "application/zip"),
        ("vendor/comlink.mjs", "text/javascript"),
    ],
)
def test_versioned_assets_are_immutable_with_the_right_types(client, manifest, name, mime):
    response = fetch(client, f"/assets/{manifest['buildId']}/{name}")
    assert response.status_code == 200
    assert response.mimetype == mime
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stale_build_id_is_not_served(client, manifest):
    response = fetch(client, "/assets/not-the-build/pyodide/pyodide.mjs")
    assert response.status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_page_and_build_info_are_revalidated(client, manifest):
    page = fetch(client, "/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-cache"
    info = fetch(client, "/build.json")
    assert info.get_json()["buildId"] == manifest["buildId"]
    assert info.headers["Cache-Control"] == "no-cache"


def _get(client, url: str, accept_encoding: str):
    response = client.get(url, headers={"Accept-Encoding": accept_encoding})
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("br;q=0.8", "br"),
        ("", None),
        ("identity", None),
    ],
)
def test_assets_go_precompressed_as_the_browser_accepts(client, manifest, accept, encoding):
    import gzip

    import brotli

    name = "pyodide/pyodide.asm.wasm"
    original = (DIST / name).read_bytes()
    response = _get(client, f"/assets/{manifest['buildId']}/{name}", accept)
    assert response.status_code == 200
    assert response.mimetype == "application/wasm"  # the type of what it decodes to
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding]
    assert decode(response.data) == original
    if encoding is not None:
        assert len(response.data) < 0.4 * len(original)  # 8.6 MB of wasm: 2.4 MB as br


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_files_without_a_compressed_copy_go_as_they_are(client, manifest):
    # The stdlib zip is deflated already: the build made no copy, so none is sent.
    name = "pyodide/python_stdlib.zip"
    response = _get(client, f"/assets/{manifest['buildId']}/{name}", "br, gzip")
    assert "Content-Encoding" not in response.headers
    assert response.data == (DIST / name).read_bytes()
    assert not (DIST / f"{name}.br").exists()
