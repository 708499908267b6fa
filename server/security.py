"""The security headers every HTTP answer carries (page, assets, API, errors alike).

The session token lives in IndexedDB, so a script injected into the page could read it:
the Content-Security-Policy is the defence in depth. It is as strict as Pyodide allows —
scripts, workers, fetches, sockets, images and styles from this origin only, plus
``'wasm-unsafe-eval'``, without which Pyodide cannot compile its WebAssembly. No inline
script runs, nothing may frame the page, and no referrer leaves it.

An answer that sets one of these headers itself keeps its own: a file answer
(``/api/files/…``) has ``Content-Security-Policy: default-src 'none'; sandbox``, which
must replace the page's, not be added to it.
"""

from __future__ import annotations

from typing import Any

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        # 'self' covers ws:// and wss:// to the same host (CSP Level 3).
        "connect-src 'self'",
        # blob: the page shows images the worker fetched with the token (object URLs).
        "img-src 'self' blob:",
        "style-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def security_headers(config: Any) -> list[tuple[bytes, bytes]]:
    """The headers for every answer; HSTS only when ``HSTS_SECONDS`` > 0 (behind TLS)."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    hsts = int(config["HSTS_SECONDS"])
    if hsts > 0:
        headers.append((b"strict-transport-security", f"max-age={hsts}".encode()))
    return headers
