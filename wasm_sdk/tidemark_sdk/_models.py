"""The data the SDK stores and hands out: plain dicts with OpenIM's field names.

They are ``TypedDict`` s rather than classes because they cross two boundaries as they
are: JSON from the server, and JS objects to IndexedDB and the page (STYLE.md point 9).
"""

from __future__ import annotations

from typing import TypedDict

from tidemark_sdk._protocol import CONTENT_ELEMS, SESSION_TYPES

#: Bump when the cached records change shape: a cache with another schema is dropped.
CACHE_SCHEMA = 1

SINGLE_CHAT = SESSION_TYPES["SINGLE"]
GROUP_CHAT = SESSION_TYPES["GROUP"]


class TextElem(TypedDict):
    content: str


class NotificationElem(TypedDict):
    detail: str  # JSON: opUser and what changed (see protocol.json)


class Message(TypedDict):
    serverMsgID: str
    clientMsgID: str
    conversationID: str
    seq: int
    sendID: str
    recvID: str
    groupID: str
    sessionType: int
    contentType: int
    textElem: TextElem | None
    notificationElem: NotificationElem | None
    sendTime: int


class Conversation(TypedDict):
    conversationID: str
    conversationType: int
    userID: str
    groupID: str
    showName: str
    unreadCount: int
    hasReadSeq: int
    maxSeq: int
    peerHasReadSeq: int
    latestMsg: Message | None
    latestMsgSendTime: int
    version: int
    isNotInGroup: bool


class CacheMeta(TypedDict):
    """Whose cache this is and how far it is synced: (epoch, version) of rule 5."""

    userID: str
    epoch: str  # "" until the first sync: the next sync is then a full snapshot
    version: int
    schema: int


class Session(TypedDict):
    """A login kept across reloads."""

    userID: str
    nickname: str
    token: str
    expiresAt: int


class Change(TypedDict):
    """A conversation record the store actually replaced: ``old`` is None when new."""

    old: Conversation | None
    new: Conversation


class Applied(TypedDict):
    """What :meth:`Store.apply` did: the stored version, the records it replaced and
    the messages it stored (those it did not have yet)."""

    version: int
    changes: list[Change]
    messages: list[Message]


class Receipt(TypedDict):
    """OnRecvC2CReadReceipt's items: the peer ``userID`` read up to ``hasReadSeq``."""

    conversationID: str
    userID: str
    hasReadSeq: int


class GroupReader(TypedDict):
    """One member's read position in a group (``receipt.group``, OnRecvGroupReadReceipt)."""

    userID: str
    hasReadSeq: int


class GroupItem(TypedDict):
    """OpenIM's GroupItem, the fields Tidemark has (getJoinedGroupList, createGroup)."""

    groupID: str
    groupName: str
    ownerUserID: str
    memberCount: int
    status: int  # 0 normal, 2 dismissed
    createTime: int


class GroupMemberItem(TypedDict):
    """OpenIM's GroupMemberItem, the fields Tidemark has, plus the seq they joined at."""

    groupID: str
    userID: str
    nickname: str
    roleLevel: int  # 100 owner, 60 admin, 20 member
    joinTime: int
    joinSeq: int


class ReceiptCount(TypedDict):
    """ "Read by hasReadCount of groupMemberCount" for the group message at ``seq``."""

    seq: int
    hasReadCount: int
    groupMemberCount: int


def unread(conversation: Conversation) -> int:
    """Rule 2's one definition, the same as the server's."""
    return max(0, conversation["maxSeq"] - conversation["hasReadSeq"])


def is_notification(message: Message) -> bool:
    """A membership notification (rule 12): join, leave, kick, rename, roles, dismissal."""
    return CONTENT_ELEMS.get(message["contentType"]) == "notificationElem"


def single_conversation_id(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"si_{first}_{second}"


def group_conversation_id(group_id: str) -> str:
    return f"sg_{group_id}"
