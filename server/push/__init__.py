"""Web Push (RFC 8030, 8291, 8292): VAPID keys, subscriptions, and delivery after commit.

``init_app`` loads (or makes) the VAPID key pair, registers the routes and observes the
hub, so pushes follow from what is published without the actions knowing of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from server.push.delivery import PushDelivery
from server.push.vapid import VapidKeys


@dataclass
class PushService:
    keys: VapidKeys
    delivery: PushDelivery


def init_app(app: Flask) -> PushService:
    from server.push import routes  # the routes import the API layer, which imports actions

    services = app.extensions["tidemark"]
    config = app.config
    keys = VapidKeys.load(services.db, str(config["PUSH_CONTACT"]))
    delivery = PushDelivery(
        services.db,
        keys,
        ttl_seconds=int(config["PUSH_TTL_SECONDS"]),
        timeout_seconds=float(config["PUSH_TIMEOUT_SECONDS"]),
        workers=int(config["PUSH_WORKERS"]),
        queue_size=int(config["PUSH_QUEUE_SIZE"]),
    )
    services.hub.add_observer(delivery.observe)
    push = PushService(keys, delivery)
    app.extensions["tidemark_push"] = push
    app.register_blueprint(routes.bp)
    return push
