"""``tidemark serve``: API, WebSocket and the page in one process (or several)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from server.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=os.environ.get("TIDEMARK_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("TIDEMARK_PORT", "8000")))
    serve.add_argument("--database-url", help="default: TIDEMARK_DATABASE_URL or an SQLite file")
    serve.add_argument("--redis-url", help="Redis pub/sub fan-out between server processes")
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("TIDEMARK_WORKERS", "1")),
        help="server processes sharing the port (more than one needs --redis-url)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["DATABASE_URL"] = args.database_url
    if args.redis_url:
        overrides["REDIS_URL"] = args.redis_url
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and not (args.redis_url or os.environ.get("TIDEMARK_REDIS_URL")):
        parser.error("--workers above 1 needs --redis-url: events must reach every process")
    # The first app creates or migrates the schema before any worker starts.
    app = create_app(overrides)
    if args.workers == 1:
        _serve(
            make_server(args.host, args.port, app, threaded=True, request_handler=_RequestHandler)
        )
        return 0
    services = app.extensions["tidemark"]
    services.hub.close()
    services.db.dispose()
    return _prefork(args.host, args.port, args.workers, overrides)


class _RequestHandler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        # Answers and pushed events are small writes: without this, Nagle's algorithm
        # holds each one back until the client's delayed ACK (tens of milliseconds).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _serve(server: Any) -> None:
    print(f"Tidemark serving on http://{server.host}:{server.port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _prefork(host: str, port: int, workers: int, overrides: dict[str, Any]) -> int:
    """Bind once, then fork workers that all accept on that socket."""
    listener = socket.create_server((host, port), backlog=1024)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            # Each worker has its own app: its own database pool and Redis subscriber.
            _serve(
                make_server(
                    host,
                    port,
                    create_app(overrides),
                    threaded=True,
                    request_handler=_RequestHandler,
                    fd=listener.fileno(),
                )
            )
            os._exit(0)
        children.append(pid)

    def stop(signum: int, _frame: Any) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return 0 if status in (0, -signal.SIGTERM) else 1


if __name__ == "__main__":
    sys.exit(main())
