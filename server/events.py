"""Every WebSocket event type, described once.

Events carry absolute state and the receiving user's version after the change, so a
client can apply them twice, late or out of order without harm (rule 6). Their types and
field names are the protocol's (``protocol.json``, ``serverEvents``); the models below
are the server's one validator for them, and tests validate every pushed event against
:data:`EVENT_ADAPTER`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, field_validator

from server.protocol import SERVER_EVENT_TYPES, SERVER_EVENTS
from server.schemas import Conversation, GroupReader, Message, PublicUser, Receipt


class _Typed(BaseModel):
    """An event of the protocol: its ``type`` must be this model's."""

    TYPE: ClassVar[str]

    type: str

    @field_validator("type")
    @classmethod
    def _is_this_type(cls, value: str) -> str:
        if value != cls.TYPE:
            raise ValueError(f"expected {cls.TYPE!r}")
        return value


class _Event(_Typed):
    """State: absolute, with the user's version after the change (rules 5 and 6)."""

    version: int
    epoch: str
    totalUnreadCount: Annotated[int, Field(ge=0)]


class MessageNew(_Event):
    TYPE = SERVER_EVENT_TYPES["MESSAGE_NEW"]

    conversation: Conversation
    message: Message


class ConversationChanged(_Event):
    TYPE = SERVER_EVENT_TYPES["CONVERSATION_CHANGED"]

    conversations: list[Conversation]


class ReceiptC2C(_Event):
    TYPE = SERVER_EVENT_TYPES["RECEIPT_C2C"]

    conversation: Conversation
    receipt: Receipt


class MessageRevoked(_Event):
    TYPE = SERVER_EVENT_TYPES["MESSAGE_REVOKED"]

    conversation: Conversation
    message: Message


class _Ephemeral(_Typed):
    """An event that is not state: no version, nothing to store (rules 16 and 17)."""

    conversationID: str


class ReceiptGroup(_Ephemeral):
    TYPE = SERVER_EVENT_TYPES["RECEIPT_GROUP"]

    readers: list[GroupReader]


class Typing(_Ephemeral):
    TYPE = SERVER_EVENT_TYPES["TYPING"]

    userID: str
    focus: bool
    expiresInMs: Annotated[int, Field(gt=0)]


class UserUpdated(_Typed):
    """The user's own profile, to their own devices: the profile is the whole state (no
    version: a later copy simply replaces an earlier one)."""

    TYPE = SERVER_EVENT_TYPES["USER_UPDATED"]

    user: PublicUser


EVENT_MODELS: tuple[type[_Typed], ...] = (
    MessageNew,
    ConversationChanged,
    ReceiptC2C,
    MessageRevoked,
    ReceiptGroup,
    Typing,
    UserUpdated,
)

if {model.TYPE for model in EVENT_MODELS} != set(SERVER_EVENTS):
    raise RuntimeError(
        "server/events.py EVENT_MODELS and protocol.json's serverEvents name different"
        " types: give each serverEvents entry one model here"
    )


def _event_type(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


Event = Annotated[
    Annotated[MessageNew, Tag(MessageNew.TYPE)]
    | Annotated[ConversationChanged, Tag(ConversationChanged.TYPE)]
    | Annotated[ReceiptC2C, Tag(ReceiptC2C.TYPE)]
    | Annotated[MessageRevoked, Tag(MessageRevoked.TYPE)]
    | Annotated[ReceiptGroup, Tag(ReceiptGroup.TYPE)]
    | Annotated[Typing, Tag(Typing.TYPE)]
    | Annotated[UserUpdated, Tag(UserUpdated.TYPE)],
    Discriminator(_event_type),
]
EVENT_ADAPTER: TypeAdapter[
    MessageNew
    | ConversationChanged
    | ReceiptC2C
    | MessageRevoked
    | ReceiptGroup
    | Typing
    | UserUpdated
] = TypeAdapter(Event)


def message_new(state: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    (conversation,) = state["conversations"]
    return _event(MessageNew, state, conversation=conversation, message=message)


def conversation_changed(state: dict[str, Any]) -> dict[str, Any]:
    return _event(ConversationChanged, state, conversations=state["conversations"])


def receipt_c2c(state: dict[str, Any], reader_id: str, has_read_seq: int) -> dict[str, Any]:
    (conversation,) = state["conversations"]
    receipt = {
        "conversationID": conversation["conversationID"],
        "userID": reader_id,
        "hasReadSeq": has_read_seq,
    }
    return _event(ReceiptC2C, state, conversation=conversation, receipt=receipt)


def message_revoked(state: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    (conversation,) = state["conversations"]
    return _event(MessageRevoked, state, conversation=conversation, message=message)


def _event(model: type[_Event], state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": model.TYPE,
        "version": state["version"],
        "epoch": state["epoch"],
        "totalUnreadCount": state["totalUnreadCount"],
        **fields,
    }


def receipt_group(conversation_id: str, positions: dict[str, int]) -> dict[str, Any]:
    readers = [{"userID": u, "hasReadSeq": s} for u, s in sorted(positions.items())]
    return {"type": ReceiptGroup.TYPE, "conversationID": conversation_id, "readers": readers}


TYPING_TTL_MS = 5000  # a typing indicator expires on its own after this (rule 17)


def typing(conversation_id: str, user_id: str, focus: bool) -> dict[str, Any]:
    return {
        "type": Typing.TYPE,
        "conversationID": conversation_id,
        "userID": user_id,
        "focus": focus,
        "expiresInMs": TYPING_TTL_MS,
    }


def user_updated(user: dict[str, Any]) -> dict[str, Any]:
    """``user``: the PublicUser after the change."""
    return {"type": UserUpdated.TYPE, "user": user}
