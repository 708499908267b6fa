"""The application factory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify

from server import api, errors, observability, push, web
from server.actions.receipts import ReceiptBatcher
from server.actions.users import PasswordHashing, password_hasher
from server.config import DEFAULTS
from server.fanout import Hub, create_hub
from server.ratelimit import KeyedRateLimit
from server.routes import accounts, conversations, groups, health
from server.routes import files as file_routes
from server.routes import search as search_routes
from server.storage import Database


@dataclass
class Services:
    db: Database
    hub: Hub
    hasher: PasswordHashing
    rate_limits: KeyedRateLimit
    receipts: ReceiptBatcher
    revoke_window_seconds: int


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("TIDEMARK")
    if config:
        app.config.from_mapping(config)

    db = Database(str(app.config["DATABASE_URL"]))
    db.migrate()
    _ = db.epoch  # fail at start, not on the first request, if the schema is wrong
    services = Services(
        db=db,
        hub=create_hub(str(app.config["REDIS_URL"]), str(app.config["REDIS_CHANNEL"])),
        hasher=PasswordHashing(
            password_hasher(_flag(app.config["FAST_PASSWORD_HASHING"])),
            int(app.config["PASSWORD_HASH_CONCURRENCY"]),
            float(app.config["PASSWORD_HASH_WAIT_SECONDS"]),
        ),
        rate_limits=KeyedRateLimit(
            str(app.config["SEND_RATE_LIMIT"]), str(app.config["REDIS_URL"]) or "memory://"
        ),
        # The hub is looked up at each flush: tests wrap it after the app is made.
        receipts=ReceiptBatcher(db, lambda: services.hub),
        revoke_window_seconds=int(app.config["REVOKE_WINDOW_SECONDS"]),
    )
    app.extensions["tidemark"] = services

    observability.init_app(app)  # first: it times and logs the whole request
    errors.init_app(app)
    api.init_app(app)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(conversations.bp)
    app.register_blueprint(groups.bp)
    app.register_blueprint(health.bp)
    push.init_app(app)  # Web Push: its routes, and pushes from what the hub publishes
    app.register_blueprint(file_routes.bp)
    app.register_blueprint(search_routes.bp)

    @app.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(api.openapi_document())

    web.init_app(app)
    return app


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
