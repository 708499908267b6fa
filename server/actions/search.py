"""Searching the caller's messages (``POST /api/messages/search``).

OpenIM's ``searchLocalMessages`` shape, answered by the server over the whole history:
``totalCount`` matching messages, and for this page (newest first) the conversations they
are in, newest match first, each with its ``messageCount`` (all its matches, not only
this page's) and its matching messages on the page, newest first.
"""

from __future__ import annotations

from typing import Any

from server.actions.conversations import check_member
from server.actions.users import CurrentUser
from server.errors import ApiError, ErrorCode
from server.schemas import SearchRequest
from server.storage import Database
from server.storage import conversations as conversation_store
from server.storage import search as search_store


def check_keywords(keywords: list[str]) -> None:
    if not any(search_store.words(k) for k in keywords):
        raise ApiError(
            ErrorCode.VALIDATION_FAILED,
            "keywordList: no keyword has a letter or digit to search for",
        )


def search_messages(db: Database, user: CurrentUser, request: SearchRequest) -> dict[str, Any]:
    check_keywords(request.keywordList)
    with db.read() as conn:
        if request.conversationID is not None:
            check_member(conn, user.user_id, request.conversationID)
        found = search_store.search(
            conn,
            user.user_id,
            request.keywordList,
            match_all=request.keywordListMatchType == 1,
            conversation_id=request.conversationID,
            offset=(request.pageIndex - 1) * request.count,
            limit=request.count,
        )
        on_page: dict[str, list[dict[str, Any]]] = {}
        for message in found.messages:  # newest first: so are the conversations
            on_page.setdefault(message["conversationID"], []).append(message)
        records = {
            r["conversationID"]: r
            for r in conversation_store.conversation_records(conn, [user.user_id], list(on_page))[
                user.user_id
            ]
        }
    items = [
        {
            "conversationID": cid,
            "messageCount": found.counts[cid],
            "conversationType": records[cid]["conversationType"],
            "showName": records[cid]["showName"],
            "faceURL": records[cid]["faceURL"],
            "messageList": page,
        }
        for cid, page in on_page.items()
    ]
    return {"totalCount": found.total, "searchResultItems": items}
