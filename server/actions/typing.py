"""Typing indicators (rule 17): relayed to the other members' devices, never stored.

No version moves and nothing is written; each indicator expires on its own after
``TYPING_TTL_MS`` unless the typist repeats it, so a lost "stopped" can never leave one
showing for ever.
"""

from __future__ import annotations

from server import events
from server.actions.conversations import not_a_member
from server.actions.users import CurrentUser
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.storage import Database
from server.storage import conversations as conversation_store


def change_input_states(
    db: Database, hub: Hub, user: CurrentUser, conversation_id: str, focus: bool
) -> None:
    with db.read() as conn:
        members = conversation_store.member_ids(conn, conversation_id)
        if user.user_id not in members:
            if conversation_store.window(conn, user.user_id, conversation_id) is None:
                raise not_a_member(conversation_id)
            raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
    event = events.typing(conversation_id, user.user_id, focus)
    # The other members' devices, not the typist's own.
    hub.publish([(member, event) for member in members if member != user.user_id])
