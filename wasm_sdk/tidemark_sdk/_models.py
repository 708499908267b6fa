"""The data the SDK stores and hands out: plain dicts with OpenIM's field names.

They are ``TypedDict`` s rather than classes because they cross two boundaries as they
are: JSON from the server, and JS objects to IndexedDB and the page (STYLE.md point 9).
"""

from __future__ import annotations

from typing import TypedDict

from tidemark_sdk._protocol import CONTENT_ELEMS, CONTENT_TYPES, RECV_MSG_OPTS, SESSION_TYPES

#: Bump when the cached records change shape: a cache with another schema is dropped.
#: 2: conversation records gained recvMsgOpt … isHidden, messages atTextElem (issue 11).
#: 3: records gained faceURL and joinSeq, messages pictureElem and fileElem (issue 12).
CACHE_SCHEMA = 3

SINGLE_CHAT = SESSION_TYPES["SINGLE"]
GROUP_CHAT = SESSION_TYPES["GROUP"]


class TextElem(TypedDict):
    content: str


class AtUsersInfoItem(TypedDict):
    """OpenIM's AtUsersInfoItem: how a mentioned user is shown."""

    atUserID: str
    groupNickname: str


class AtTextElem(TypedDict):
    """An @ message's content (contentType 106): OpenIM's atTextElem, without isAtSelf
    (compute it: ``my user ID in atUserList``)."""

    text: str
    atUserList: list[str]  # user IDs, or AT_ALL_TAG for everyone
    atUsersInfo: list[AtUsersInfoItem]


class Picture(TypedDict):
    """One stored image (the original or its thumbnail), measured by the server."""

    uuid: str  # sha256 of the bytes
    type: str  # MIME type, sniffed by the server
    size: int
    width: int
    height: int
    url: str  # /api/files/<uuid>, fetched with the bearer token


class PictureElem(TypedDict):
    """An image message's content (contentType 102): OpenIM's pictureElem."""

    sourcePath: str  # always ""
    sourcePicture: Picture
    bigPicture: Picture  # the original again
    snapshotPicture: Picture  # the thumbnail


class FileElem(TypedDict):
    """A file message's content (contentType 105): OpenIM's fileElem, plus fileType."""

    filePath: str  # always ""
    uuid: str
    sourceUrl: str
    fileName: str
    fileSize: int
    fileType: str  # MIME type, sniffed by the server


class PublicUser(TypedDict):
    """OpenIM's PublicUserItem."""

    userID: str
    nickname: str
    faceURL: str
    ex: str


class NotificationElem(TypedDict):
    detail: str  # JSON: opUser and what changed; a tombstone's: RevokedInfo (protocol.json)


class RevokedInfo(TypedDict):
    """OpenIM's RevokedInfo (a tombstone's ``notificationElem.detail``), plus the
    ``conversationID``: the data of OnNewRecvMessageRevoked."""

    revokerID: str
    revokerRole: int  # 100 owner, 60 admin, 20 member in a group; 0 in a single chat
    revokerNickname: str
    clientMsgID: str
    revokeTime: int
    sourceMessageSendTime: int
    sourceMessageSendID: str
    sourceMessageSenderNickname: str
    sessionType: int
    seq: int
    ex: str
    conversationID: str


class Draft(TypedDict):
    """A draft, kept per device (per user) in the store, never sent to the server."""

    conversationID: str
    draftText: str
    draftTextTime: int  # ms


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
    pictureElem: PictureElem | None
    fileElem: FileElem | None
    atTextElem: AtTextElem | None
    notificationElem: NotificationElem | None
    sendTime: int


class Conversation(TypedDict):
    conversationID: str
    conversationType: int
    userID: str
    groupID: str
    showName: str
    faceURL: str  # the peer's avatar (single chats)
    unreadCount: int
    hasReadSeq: int
    maxSeq: int
    joinSeq: int  # groups: seqs at or below it are outside this user's window (rule 11)
    peerHasReadSeq: int
    latestMsg: Message | None
    latestMsgSendTime: int
    version: int
    isNotInGroup: bool
    recvMsgOpt: int  # 0 normal, 2 muted (rule 13)
    isPinned: bool
    groupAtType: int  # 0 none, 1 me, 2 all, 3 all and me (rule 14)
    mentionCount: int
    isMarkedUnread: bool  # rule 15
    isHidden: bool


class ShownConversation(Conversation):
    """A record as handed to the page: the server's, plus this device's draft (OpenIM's
    names; never stored in the record, never sent to the server)."""

    draftText: str  # "" none
    draftTextTime: int  # ms, 0 none


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


def contribution(conversation: Conversation) -> int:
    """A record's share of the total unread count, the one definition (the server's too):
    0 when muted (rule 13); else its unread count; else 1 if marked unread (rule 15).
    A left group adds 0 already: its read position is at its last visible seq, and it
    cannot be marked unread (rule 11)."""
    if conversation.get("recvMsgOpt", RECV_MSG_OPTS["NORMAL"]) != RECV_MSG_OPTS["NORMAL"]:
        return 0
    count = unread(conversation)
    if count > 0:
        return count
    return 1 if conversation.get("isMarkedUnread", False) else 0


def is_notification(message: Message) -> bool:
    """A membership notification (rule 12): join, leave, kick, rename, roles, dismissal."""
    return CONTENT_ELEMS.get(message["contentType"]) == "notificationElem" and not is_tombstone(
        message
    )


REVOKED = CONTENT_TYPES["REVOKED"]


def is_tombstone(message: Message) -> bool:
    """A revoked message's tombstone (contentType 2101): same seq, no text."""
    return bool(message.get("contentType") == REVOKED)


def rejoin_cut(old: Conversation | None, new: Conversation) -> int | None:
    """The rejoin rule (rule 11): when a stored record is replaced by one whose joinSeq
    grew, the messages cached at or below the new joinSeq belong to an earlier window —
    one that a later revocation may not reach (the server keeps one window per member) —
    so the store drops them in the same transaction, before writing the messages given
    with the record (the join's own notification, at joinSeq, may be one of them).
    Returns that joinSeq, or None when nothing is to be dropped."""
    if old is None:
        return None
    join_seq = int(new.get("joinSeq", 0) or 0)
    return join_seq if join_seq > int(old.get("joinSeq", 0) or 0) else None


def single_conversation_id(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"si_{first}_{second}"


def group_conversation_id(group_id: str) -> str:
    return f"sg_{group_id}"
