"""``tidemark serve``: API, WebSocket and the page in one process."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from werkzeug.serving import make_server

from server.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=os.environ.get("TIDEMARK_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("TIDEMARK_PORT", "8000")))
    serve.add_argument("--database-url", help="default: TIDEMARK_DATABASE_URL or an SQLite file")
    serve.add_argument("--redis-url", help="Redis pub/sub fan-out between server processes")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    overrides = {}
    if args.database_url:
        overrides["DATABASE_URL"] = args.database_url
    if args.redis_url:
        overrides["REDIS_URL"] = args.redis_url
    app = create_app(overrides)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Tidemark serving on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
