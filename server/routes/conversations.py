from __future__ import annotations

from typing import Any

from flask import Blueprint

from server.actions import conversations, messages, read_state, sync
from server.actions.users import CurrentUser
from server.api import operation, services
from server.schemas import (
    CreateGroupRequest,
    GroupResponse,
    HistoryQuery,
    HistoryResponse,
    MarkReadRequest,
    MarkReadResponse,
    SendMessageRequest,
    SendMessageResponse,
    SyncQuery,
    SyncResponse,
)

bp = Blueprint("conversations", __name__, url_prefix="/api")


@operation(bp, "GET", "/sync", query=SyncQuery, response=SyncResponse)
def get_sync(user: CurrentUser, query: SyncQuery) -> dict[str, Any]:
    """Everything changed since (epoch, version), or a full snapshot."""
    return sync.sync(services().db, user, query)


@operation(bp, "POST", "/groups", body=CreateGroupRequest, response=GroupResponse, status=201)
def create_group(user: CurrentUser, body: CreateGroupRequest) -> dict[str, Any]:
    """Create a group with its members; the creator is always one."""
    return conversations.create_group(services().db, services().hub, user, body)


@operation(bp, "POST", "/messages", body=SendMessageRequest, response=SendMessageResponse)
def send_message(user: CurrentUser, body: SendMessageRequest) -> dict[str, Any]:
    """Send a text message; resending a clientMsgID returns the original."""
    services().rate_limits.check_send(user.user_id)
    return messages.send_message(services().db, services().hub, user, body)


@operation(
    bp,
    "GET",
    "/conversations/<conversation_id>/messages",
    query=HistoryQuery,
    response=HistoryResponse,
)
def history(user: CurrentUser, conversation_id: str, query: HistoryQuery) -> dict[str, Any]:
    """Messages below beforeSeq, newest first."""
    return messages.history(services().db, user, conversation_id, query)


@operation(
    bp,
    "POST",
    "/conversations/<conversation_id>/read",
    body=MarkReadRequest,
    response=MarkReadResponse,
)
def mark_read(user: CurrentUser, conversation_id: str, body: MarkReadRequest) -> dict[str, Any]:
    """Move the read position forward (never back) and answer the resulting state."""
    return read_state.mark_read(services().db, services().hub, user, conversation_id, body)
