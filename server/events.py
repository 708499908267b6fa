"""Every WebSocket event type, described once.

Events carry absolute state and the receiving user's version after the change, so a
client can apply them twice, late or out of order without harm (rule 6). Tests validate
every pushed event against :data:`EVENT_ADAPTER`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from server.schemas import Conversation, Message


class _Event(BaseModel):
    version: int
    epoch: str
    totalUnreadCount: Annotated[int, Field(ge=0)]


class MessageNew(_Event):
    type: Literal["message.new"]
    conversation: Conversation
    message: Message


class ConversationChanged(_Event):
    type: Literal["conversation.changed"]
    conversations: list[Conversation]


class Receipt(BaseModel):
    conversationID: str
    userID: str
    hasReadSeq: int


class ReceiptC2C(_Event):
    type: Literal["receipt.c2c"]
    conversation: Conversation
    receipt: Receipt


Event = Annotated[MessageNew | ConversationChanged | ReceiptC2C, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[MessageNew | ConversationChanged | ReceiptC2C] = TypeAdapter(Event)


def message_new(state: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    (conversation,) = state["conversations"]
    return {"type": "message.new", **_head(state), "conversation": conversation, "message": message}


def conversation_changed(state: dict[str, Any]) -> dict[str, Any]:
    return {"type": "conversation.changed", **_head(state), "conversations": state["conversations"]}


def receipt_c2c(state: dict[str, Any], reader_id: str, has_read_seq: int) -> dict[str, Any]:
    (conversation,) = state["conversations"]
    receipt = {
        "conversationID": conversation["conversationID"],
        "userID": reader_id,
        "hasReadSeq": has_read_seq,
    }
    return {"type": "receipt.c2c", **_head(state), "conversation": conversation, "receipt": receipt}


def _head(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": state["version"],
        "epoch": state["epoch"],
        "totalUnreadCount": state["totalUnreadCount"],
    }
