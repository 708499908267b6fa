from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from server.actions.users import CurrentUser
from server.api import operation, services
from server.push import subscriptions
from server.push.vapid import VapidKeys
from server.schemas import (
    Empty,
    PushKeyResponse,
    PushSubscriptionRequest,
    PushSubscriptionResponse,
    PushUnsubscribeRequest,
)

bp = Blueprint("push", __name__, url_prefix="/api/push")


def _keys() -> VapidKeys:
    keys: VapidKeys = current_app.extensions["tidemark_push"].keys
    return keys


@operation(bp, "GET", "/key", response=PushKeyResponse)
def public_key(user: CurrentUser) -> dict[str, Any]:
    """The VAPID public key: the applicationServerKey for PushManager.subscribe."""
    return {"publicKey": _keys().public_key}


@operation(
    bp,
    "POST",
    "/subscriptions",
    body=PushSubscriptionRequest,
    response=PushSubscriptionResponse,
    status=201,
)
def subscribe(user: CurrentUser, body: PushSubscriptionRequest) -> dict[str, Any]:
    """Subscribe this browser (this session) to Web Push; upserted by endpoint."""
    config = current_app.config
    return subscriptions.subscribe(
        services().db,
        user,
        body,
        subscriptions.insecure_hosts(str(config["PUSH_INSECURE_HOSTS"])),
        int(config["PUSH_MAX_SUBSCRIPTIONS_PER_USER"]),
    )


@operation(bp, "DELETE", "/subscriptions", body=PushUnsubscribeRequest, response=Empty)
def unsubscribe(user: CurrentUser, body: PushUnsubscribeRequest) -> dict[str, Any]:
    """Remove one of your subscriptions by its endpoint."""
    subscriptions.unsubscribe(services().db, user, body)
    return {}
