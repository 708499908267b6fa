"""Message search: parse, authenticate, serialize (see actions/search.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from server.actions import search
from server.actions.users import CurrentUser
from server.api import operation, services
from server.schemas import SearchRequest, SearchResponse

bp = Blueprint("search", __name__, url_prefix="/api")


@operation(bp, "POST", "/messages/search", body=SearchRequest, response=SearchResponse)
def search_messages(user: CurrentUser, body: SearchRequest) -> dict[str, Any]:
    """searchLocalMessages: the caller's messages matching the keywords, by conversation."""
    return search.search_messages(services().db, user, body)
