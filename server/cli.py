"""``tidemark serve``: API, WebSocket and the page in one process (or several);
``tidemark doctor``: check the settings it would run with."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from server import doctor, serve
from server.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the server")
    doctor_command = commands.add_parser(
        "doctor", help="check the settings (TIDEMARK_* and these options) and exit: 1 if unsafe"
    )
    for command in (serve_command, doctor_command):
        command.add_argument("--host", default=os.environ.get("TIDEMARK_HOST", "127.0.0.1"))
        command.add_argument(
            "--port", type=int, default=int(os.environ.get("TIDEMARK_PORT", "8000"))
        )
        command.add_argument(
            "--database-url", help="default: TIDEMARK_DATABASE_URL or an SQLite file"
        )
        command.add_argument("--redis-url", help="Redis pub/sub fan-out between server processes")
        command.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("TIDEMARK_WORKERS", "1")),
            help="server processes sharing the port (more than one needs --redis-url)",
        )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    # Settings reach every worker process through the environment, as TIDEMARK_* variables.
    if args.database_url:
        os.environ["TIDEMARK_DATABASE_URL"] = args.database_url
    if args.redis_url:
        os.environ["TIDEMARK_REDIS_URL"] = args.redis_url
    if args.command == "doctor":
        os.environ["TIDEMARK_HOST"] = args.host
        return doctor.run(workers=args.workers)
    if args.workers > 1 and not os.environ.get("TIDEMARK_REDIS_URL"):
        parser.error("--workers above 1 needs --redis-url: events must reach every process")
    if args.workers > 1:
        # Create or migrate the schema once, before any worker starts.
        services = create_app().extensions["tidemark"]
        services.hub.close()
        services.db.dispose()
    serve.run(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
