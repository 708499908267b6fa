from __future__ import annotations

from typing import Any

from flask import Blueprint

from server.actions import conversations, messages, read_state, receipts, revocation, sync, typing
from server.actions.users import CurrentUser
from server.api import operation, services
from server.schemas import (
    Empty,
    HistoryQuery,
    HistoryResponse,
    MarkReadRequest,
    MarkReadResponse,
    ReadAllRequest,
    ReadersQuery,
    ReadersResponse,
    ReceiptCountsResponse,
    ReceiptsQuery,
    RevokeRequest,
    RevokeResponse,
    SendMessageRequest,
    SendMessageResponse,
    SettingsRequest,
    SyncQuery,
    SyncResponse,
    TypingRequest,
)

bp = Blueprint("conversations", __name__, url_prefix="/api")


@operation(bp, "GET", "/sync", query=SyncQuery, response=SyncResponse)
def get_sync(user: CurrentUser, query: SyncQuery) -> dict[str, Any]:
    """Everything changed since (epoch, version), or a full snapshot."""
    return sync.sync(services().db, user, query)


@operation(bp, "POST", "/messages", body=SendMessageRequest, response=SendMessageResponse)
def send_message(user: CurrentUser, body: SendMessageRequest) -> dict[str, Any]:
    """Send a text or @ message; resending a clientMsgID returns the original."""
    services().rate_limits.check(user.user_id)
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
    """Move the read position forward (never back), clear a mark-unread flag the client
    had seen, and answer the resulting state."""
    return read_state.mark_read(
        services().db, services().hub, user, conversation_id, body, services().receipts
    )


@operation(bp, "POST", "/conversations/read-all", body=ReadAllRequest, response=MarkReadResponse)
def read_all(user: CurrentUser, body: ReadAllRequest) -> dict[str, Any]:
    """markAllConversationMessageAsRead: every conversation read, one version, one event."""
    return read_state.read_all(services().db, services().hub, user, body, services().receipts)


@operation(
    bp,
    "POST",
    "/conversations/<conversation_id>/settings",
    body=SettingsRequest,
    response=MarkReadResponse,
)
def set_settings(user: CurrentUser, conversation_id: str, body: SettingsRequest) -> dict[str, Any]:
    """Mute (recvMsgOpt 0 or 2), pin, or reset the @ mentions (groupAtType 0)."""
    return conversations.set_settings(
        services().db, services().hub, user.user_id, conversation_id, body
    )


@operation(
    bp, "POST", "/conversations/<conversation_id>/unread", body=Empty, response=MarkReadResponse
)
def mark_unread(user: CurrentUser, conversation_id: str, body: Empty) -> dict[str, Any]:
    """markConversationAsUnread: a flag counting 1 while nothing is unread (rule 15)."""
    return conversations.mark_unread(services().db, services().hub, user.user_id, conversation_id)


@operation(
    bp, "POST", "/conversations/<conversation_id>/hide", body=Empty, response=MarkReadResponse
)
def hide(user: CurrentUser, conversation_id: str, body: Empty) -> dict[str, Any]:
    """hideConversation: read it, then leave it out of the list until a new message."""
    return read_state.hide(
        services().db, services().hub, user, conversation_id, services().receipts
    )


@operation(
    bp,
    "POST",
    "/conversations/<conversation_id>/revoke",
    body=RevokeRequest,
    response=RevokeResponse,
)
def revoke(user: CurrentUser, conversation_id: str, body: RevokeRequest) -> dict[str, Any]:
    """revokeMessage: the message becomes a tombstone with the same seq, everywhere."""
    return revocation.revoke(
        services().db,
        services().hub,
        user,
        conversation_id,
        body.clientMsgID,
        services().revoke_window_seconds,
    )


@operation(
    bp,
    "GET",
    "/conversations/<conversation_id>/receipts",
    query=ReceiptsQuery,
    response=ReceiptCountsResponse,
)
def receipt_counts(user: CurrentUser, conversation_id: str, query: ReceiptsQuery) -> dict[str, Any]:
    """Groups: "read by N of M" for the messages at these seqs, from read positions."""
    return receipts.counts(services().db, user, conversation_id, query.seq_list)


@operation(
    bp,
    "GET",
    "/conversations/<conversation_id>/readers",
    query=ReadersQuery,
    response=ReadersResponse,
)
def readers(user: CurrentUser, conversation_id: str, query: ReadersQuery) -> dict[str, Any]:
    """Groups: the members at a message's seq who have (filter 0) or have not (1) read it."""
    return receipts.readers(
        services().db,
        user,
        conversation_id,
        query.seq,
        read=query.filter == 0,
        offset=query.offset,
        count=query.count,
    )


@operation(
    bp, "POST", "/conversations/<conversation_id>/typing", body=TypingRequest, response=Empty
)
def change_input_states(
    user: CurrentUser, conversation_id: str, body: TypingRequest
) -> dict[str, Any]:
    """Tell the other members this user is typing (focus) or stopped; never stored."""
    typing.change_input_states(services().db, services().hub, user, conversation_id, body.focus)
    return {}
