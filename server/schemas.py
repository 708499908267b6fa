"""Request and response models: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from server.protocol import AT_ALL_TAG, CONTENT_TYPES, PROTOCOL, RECV_MSG_OPTS, SESSION_TYPES

MAX_SEQ = 2**53 - 1
MAX_GROUP_MEMBERS = 500

UserID = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,31}$"),
    Field(description="1-32 of a-z 0-9 . - starting with a letter or digit"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]


class Body(BaseModel):
    """A JSON request body: exact types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query-string parameters arrive as text, so they are parsed leniently."""

    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Body):
    userID: UserID
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]
    nickname: Name


class LoginRequest(Body):
    userID: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


GroupID = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,32}$")]
MemberIDs = Annotated[list[UserID], Field(max_length=MAX_GROUP_MEMBERS - 1)]


class GroupInfo(Body):
    """OpenIM's ``groupInfo``: only the name is used (other fields are refused)."""

    groupName: Name


class CreateGroupRequest(Body):
    """Tidemark's ``{groupName, memberUserIDs}`` or OpenIM's
    ``{groupInfo: {groupName}, memberUserIDs, adminUserIDs}``; the caller owns the group."""

    groupName: Name | None = None
    groupInfo: GroupInfo | None = None
    memberUserIDs: MemberIDs
    adminUserIDs: MemberIDs = []

    @model_validator(mode="after")
    def _one_name(self) -> CreateGroupRequest:
        if (self.groupName is None) == (self.groupInfo is None):
            raise ValueError("give exactly one of groupName and groupInfo.groupName")
        if not set(self.adminUserIDs) <= set(self.memberUserIDs):
            raise ValueError("adminUserIDs must be among memberUserIDs")
        return self

    @property
    def name(self) -> str:
        if self.groupInfo is not None:
            return self.groupInfo.groupName
        assert self.groupName is not None
        return self.groupName


class UserListRequest(Body):
    """inviteUserToGroup / kickGroupMember: OpenIM's ``{userIDList, reason}``."""

    userIDList: Annotated[list[UserID], Field(min_length=1, max_length=MAX_GROUP_MEMBERS)]
    reason: Annotated[str, StringConstraints(max_length=255)] = ""


class TransferGroupRequest(Body):
    newOwnerUserID: UserID


class SetGroupInfoRequest(Body):
    groupName: Name


class SetRoleRequest(Body):
    userID: UserID
    roleLevel: Literal[60, 20] = Field(description="60 admin, 20 member (OpenIM's roleLevel)")


class SpecifiedGroupsRequest(Body):
    groupIDList: Annotated[list[GroupID], Field(min_length=1, max_length=100)]


class MemberListQuery(Query):
    offset: Annotated[int, Field(ge=0, le=MAX_GROUP_MEMBERS)] = 0
    count: Annotated[int, Field(ge=1, le=MAX_GROUP_MEMBERS)] = 100
    filter: Annotated[int, Field(ge=0, le=5, description="OpenIM's GroupMemberFilter")] = 0


class ReceiptsQuery(Query):
    seqs: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,16}(,[0-9]{1,16}){0,99}$")] = Field(
        description="comma-separated seqs, at most 100"
    )

    @property
    def seq_list(self) -> list[int]:
        return [int(part) for part in self.seqs.split(",")]


class ReadersQuery(Query):
    seq: Seq
    filter: Annotated[int, Field(ge=0, le=1, description="0 read, 1 not read (OpenIM)")] = 0
    offset: Annotated[int, Field(ge=0, le=MAX_GROUP_MEMBERS)] = 0
    count: Annotated[int, Field(ge=1, le=MAX_GROUP_MEMBERS)] = 100


class TypingRequest(Body):
    focus: bool


class SocketTypingRequest(TypingRequest):
    conversationID: Annotated[str, StringConstraints(min_length=1, max_length=80)]


MAX_MENTIONS = 100
# A mentioned member's user ID, or OpenIM's AtAllTag for everyone.
AtUserID = Annotated[
    str,
    StringConstraints(pattern=rf"^([a-z0-9][a-z0-9.-]{{0,31}}|{AT_ALL_TAG})$"),
    Field(description=f"a current member's user ID, or {AT_ALL_TAG!r} for everyone"),
]


class AtUserInfo(Body):
    """OpenIM's AtUsersInfoItem: how a mentioned user is shown."""

    atUserID: AtUserID
    groupNickname: Annotated[str, StringConstraints(min_length=1, max_length=64)]


# Images and files (issue 12): what a picture or file message names.

Sha256 = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(description="a file's ID: the sha256 of its bytes, lowercase hex"),
]
FileName = Annotated[
    str,
    StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,255}$"),
    Field(description="1-255 characters, no control characters"),
]


class FileRef(BaseModel):
    """A file by its uuid; other fields (what the client's elem holds) are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    uuid: Sha256


class PictureElemRequest(BaseModel):
    """A picture message's content: only ``sourcePicture.uuid`` is read; the server fills
    in the rest from the upload."""

    model_config = ConfigDict(extra="ignore", strict=True)

    sourcePicture: FileRef


class FileElemRequest(BaseModel):
    """A file message's content: the upload's uuid, and the name to show (default: the
    name it was uploaded under); other fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    uuid: Sha256
    fileName: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{0,255}$")] = Field(
        default="", description="empty: the upload's name"
    )


class SendMessageRequest(Body):
    clientMsgID: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    recvID: UserID | None = None
    groupID: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,32}$")] | None = None
    contentType: Literal[101, 102, 105, 106] | None = Field(
        default=None,
        description="101 text, 106 @ text, 102 picture (pictureElem), 105 file (fileElem);"
        " default 106 when atUserIDList is given, else 101",
    )
    # "" (the default) is no text: only pictures and files are sent without it.
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        default="", description="101 and 106: required; 102 and 105: not allowed"
    )
    atUserIDList: (
        Annotated[
            list[AtUserID],
            Field(
                min_length=1,
                max_length=MAX_MENTIONS,
                description="groups: the members mentioned (an @ message, contentType 106)",
            ),
        ]
        | None
    ) = None
    atUsersInfo: Annotated[
        list[AtUserInfo],
        Field(max_length=MAX_MENTIONS, description="display names of some of atUserIDList"),
    ] = []
    pictureElem: PictureElemRequest | None = Field(
        default=None, description="102: the uploaded image, {sourcePicture: {uuid}}"
    )
    fileElem: FileElemRequest | None = Field(
        default=None, description="105: the uploaded file, {uuid, fileName?}"
    )

    @property
    def content_type(self) -> int:
        if self.contentType is not None:
            return self.contentType
        return CONTENT_TYPES["AT_TEXT"] if self.atUserIDList is not None else CONTENT_TYPES["TEXT"]

    @model_validator(mode="after")
    def _one_target(self) -> SendMessageRequest:
        if (self.recvID is None) == (self.groupID is None):
            raise ValueError("give exactly one of recvID and groupID")
        self._check_content()
        if self.atUserIDList is None:
            if self.atUsersInfo:
                raise ValueError("atUsersInfo needs atUserIDList")
            return self
        if self.groupID is None:
            raise ValueError("atUserIDList: mentions are for group messages (give groupID)")
        if len(set(self.atUserIDList)) != len(self.atUserIDList):
            raise ValueError("atUserIDList: no user may be listed twice")
        strays = [i.atUserID for i in self.atUsersInfo if i.atUserID not in self.atUserIDList]
        if strays:
            raise ValueError(f"atUsersInfo: {strays[0]!r} is not in atUserIDList")
        return self

    def _check_content(self) -> None:
        """Each content type with its own field: text, mentions, the picture or the file."""
        kind = self.content_type
        elems = {CONTENT_TYPES["PICTURE"]: "pictureElem", CONTENT_TYPES["FILE"]: "fileElem"}
        if kind in elems and getattr(self, elems[kind]) is None:
            raise ValueError(f"{elems[kind]}: required for contentType {kind}")
        for content_type, field in elems.items():
            if kind != content_type and getattr(self, field) is not None:
                raise ValueError(f"{field}: only for contentType {content_type}, not {kind}")
        if kind in elems:
            if "text" in self.model_fields_set:
                raise ValueError(f"text: not allowed for contentType {kind} ({elems[kind]})")
            if self.atUserIDList is not None:
                raise ValueError(f"atUserIDList: not allowed for contentType {kind}")
            return
        if not self.text:
            raise ValueError(f"text: required for contentType {kind}")
        if kind == CONTENT_TYPES["AT_TEXT"] and self.atUserIDList is None:
            raise ValueError("atUserIDList: required for contentType 106")
        if kind == CONTENT_TYPES["TEXT"] and self.atUserIDList is not None:
            raise ValueError("atUserIDList: only for contentType 106 (the default with it)")


class MarkReadRequest(Body):
    seq: Seq | None = Field(
        default=None, description="read up to here; default the max seq at commit"
    )
    version: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = Field(
        default=None,
        description="the version of the record the client holds: a mark-unread flag set"
        " at a later version survives (rule 15); absent: any flag is cleared",
    )


class SocketMarkReadRequest(MarkReadRequest):
    """Mark read over the WebSocket: the conversation is named in the body."""

    conversationID: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class SettingsRequest(Body):
    """A user's own settings of a conversation: at least one of them."""

    recvMsgOpt: int | None = Field(
        default=None, description="0 normal, 2 receive without notification (muted)"
    )
    isPinned: bool | None = None
    groupAtType: Literal[0] | None = Field(
        default=None, description="only 0: the unread mentions count as seen"
    )

    @field_validator("recvMsgOpt")
    @classmethod
    def _known_opt(cls, value: int | None) -> int | None:
        if value == 1:
            raise ValueError("recvMsgOpt 1 (not receive) is not supported: it would lose messages")
        if value is not None and value not in RECV_MSG_OPTS.values():
            raise ValueError("recvMsgOpt: 0 (normal) or 2 (receive without notification)")
        return value

    @model_validator(mode="after")
    def _something(self) -> SettingsRequest:
        if self.recvMsgOpt is None and self.isPinned is None and self.groupAtType is None:
            raise ValueError("give at least one of recvMsgOpt, isPinned and groupAtType")
        return self


class ReadAllRequest(Body):
    version: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = Field(
        default=None,
        description="the client's cache version: mark-unread flags set after it survive;"
        " absent: every flag is cleared",
    )


class RevokeRequest(Body):
    clientMsgID: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]


class HistoryQuery(Query):
    count: Annotated[int, Field(ge=1, le=100)] = 20
    beforeSeq: Annotated[int, Field(ge=1, le=MAX_SEQ)] | None = None


class SyncQuery(Query):
    epoch: Annotated[str, StringConstraints(max_length=64)] | None = None
    version: Annotated[int, Field(ge=0, le=MAX_SEQ)] | None = None


def _record_model(name: str, known: dict[str, type[BaseModel]]) -> type[BaseModel]:
    """The pydantic model of one of the protocol's records, from its field types."""
    record = PROTOCOL["records"][name]
    fields: dict[str, Any] = {}
    for field, spec in record["fields"].items():
        # A type's name, or an earlier record's: protocol.json lists records in that order.
        kind = spec["type"].removesuffix("[]")
        annotation = _FIELD_TYPES.get(kind) or known[kind]
        if spec["type"].endswith("[]"):
            annotation = list[annotation]  # type: ignore[valid-type]
        if spec.get("nullable"):
            annotation = annotation | None
        fields[field] = (Annotated[annotation, Field(description=spec["description"])], ...)
    model: type[BaseModel] = create_model(name, __doc__=record["description"], **fields)
    return model


_LITERAL: Any = Literal  # the values are the protocol's, known at run time only
_FIELD_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "count": Annotated[int, Field(ge=0)],
    "sessionType": _LITERAL[tuple(SESSION_TYPES.values())],
    "contentType": _LITERAL[tuple(CONTENT_TYPES.values())],
}

#: The protocol's records (``Message``, ``Conversation``, ``Receipt``, ``TextElem`` …):
#: their fields are declared once, in ``protocol.json``, and validated by these models.
RECORD_MODELS: dict[str, type[BaseModel]] = {}
for _name in PROTOCOL["records"]:
    RECORD_MODELS[_name] = _record_model(_name, RECORD_MODELS)

if TYPE_CHECKING:
    # What mypy sees: models without fields (they are built above, at run time).
    class TextElem(BaseModel): ...

    class NotificationElem(BaseModel): ...

    class GroupReader(BaseModel): ...

    class Message(BaseModel): ...

    class Conversation(BaseModel): ...

    class Receipt(BaseModel): ...

else:
    TextElem = RECORD_MODELS["TextElem"]
    NotificationElem = RECORD_MODELS["NotificationElem"]
    GroupReader = RECORD_MODELS["GroupReader"]
    Message = RECORD_MODELS["Message"]
    Conversation = RECORD_MODELS["Conversation"]
    Receipt = RECORD_MODELS["Receipt"]


class State(BaseModel):
    """The caller's absolute state after a write: what changed, and the totals."""

    epoch: str
    version: int
    totalUnreadCount: Annotated[int, Field(ge=0)]
    conversations: list[Conversation]


class SyncResponse(State):
    full: bool
    revokedMessages: list[Message] = Field(
        description="incremental sync: the tombstones of messages revoked since the version"
        " (the stored copies are replaced); a full sync: []"
    )


class UserResponse(BaseModel):
    userID: str
    nickname: str


class LoginResponse(UserResponse):
    token: str
    expiresAt: int


class Empty(BaseModel):
    pass


class GroupResponse(BaseModel):
    groupID: str
    conversationID: str
    state: State


class GroupMember(BaseModel):
    """OpenIM's GroupMemberItem (the fields Tidemark has), plus the seq they joined at."""

    groupID: str
    userID: str
    nickname: str
    roleLevel: int
    joinTime: int
    joinSeq: int


class MemberListResponse(BaseModel):
    members: list[GroupMember]
    total: int


class GroupItem(BaseModel):
    """OpenIM's GroupItem (the fields Tidemark has)."""

    groupID: str
    groupName: str
    ownerUserID: str
    memberCount: int
    status: int = Field(description="0 normal, 2 dismissed")
    createTime: int


class GroupListResponse(BaseModel):
    groups: list[GroupItem]


class ReceiptCount(BaseModel):
    seq: int
    hasReadCount: int
    groupMemberCount: int


class ReceiptCountsResponse(BaseModel):
    receipts: list[ReceiptCount]


class Reader(BaseModel):
    groupID: str
    userID: str
    nickname: str
    roleLevel: int


class ReadersResponse(BaseModel):
    members: list[Reader]
    total: int


class SendMessageResponse(BaseModel):
    message: Message
    state: State


class MarkReadResponse(BaseModel):
    state: State


class RevokeResponse(BaseModel):
    state: State
    message: Message = Field(description="the tombstone (contentType 2101)")


class HistoryResponse(BaseModel):
    messages: list[Message]
    isEnd: bool


class ErrorResponse(BaseModel):
    errCode: int
    errMsg: str
    error: str


# -- issue 12: message search ----------------------------------------------------------------

if TYPE_CHECKING:

    class SearchResultItem(BaseModel): ...

else:
    SearchResultItem = RECORD_MODELS["SearchResultItem"]

Keyword = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SearchRequest(Body):
    """OpenIM's searchLocalMessages parameters (answered by the server, whole history)."""

    keywordList: Annotated[
        list[Keyword],
        Field(
            min_length=1,
            max_length=5,
            description="words to find; the last word of each matches as a prefix",
        ),
    ]
    conversationID: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    keywordListMatchType: Literal[0, 1] = Field(
        default=0, description="0: any keyword (OpenIM's default), 1: all of them"
    )
    # A bound keeps the offset, (pageIndex - 1) * count, well inside a BIGINT.
    pageIndex: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    count: Annotated[int, Field(ge=1, le=100)] = 20


class SearchResponse(BaseModel):
    totalCount: int = Field(ge=0, description="how many messages matched, on every page")
    searchResultItems: list[SearchResultItem]


# --- People: profiles and the directory (issue 12) ---------------------------------------

if TYPE_CHECKING:

    class PublicUser(BaseModel): ...

else:
    PublicUser = RECORD_MODELS["PublicUser"]

#: An avatar is an image the caller uploaded, by its sha256 (the uuid of UploadedFile).
FACE_URL_PATTERN = r"^(|/api/files/[0-9a-f]{64})$"


class SetSelfInfoRequest(Body):
    """OpenIM's setSelfInfo: the fields given change, the others stay."""

    nickname: Name | None = None
    faceURL: (
        Annotated[
            str,
            StringConstraints(pattern=FACE_URL_PATTERN),
            Field(description='"" (no avatar) or /api/files/<uuid> of an image you uploaded'),
        ]
        | None
    ) = None


class SelfInfo(PublicUser):
    """getSelfUserInfo: the public profile and when the account was made."""

    createTime: int


class UsersQuery(Query):
    userIDs: Annotated[
        str,
        StringConstraints(min_length=1, max_length=100 * 33),
        Field(description="1-100 user IDs, comma-separated"),
    ]


class UserSearchQuery(Query):
    keyword: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    count: Annotated[int, Field(ge=1, le=50)] = 20


class PublicUserList(BaseModel):
    users: list[PublicUser]


# --- Web Push (issue 12) -----------------------------------------------------------------


class PushKeyResponse(BaseModel):
    publicKey: str = Field(
        description="the VAPID public key: base64url of the uncompressed P-256 point"
        " (the applicationServerKey of PushManager.subscribe)"
    )


class PushKeys(Body):
    p256dh: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    auth: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PushSubscriptionRequest(Body):
    """A PushSubscription's JSON (endpoint and keys) and whether pushes may show text."""

    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    keys: PushKeys
    previews: bool = False
    expirationTime: int | None = Field(
        default=None, description="PushSubscription.toJSON() gives it: accepted, unused"
    )


class PushSubscriptionResponse(BaseModel):
    endpoint: str
    previews: bool


class PushUnsubscribeRequest(Body):
    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


# -- images and files (issue 12) -----------------------------------------------------------


class UploadQuery(Query):
    """``PUT /api/files?name=…&kind=…``: the body is the file's bytes."""

    name: FileName
    kind: Literal["image", "file"] = Field(
        default="file", description="image: must be a PNG, JPEG, GIF or WebP that decodes"
    )


class DownloadQuery(Query):
    download: bool = Field(default=False, description="1: always as an attachment")


if TYPE_CHECKING:

    class UploadedFile(BaseModel): ...

else:
    UploadedFile = RECORD_MODELS["UploadedFile"]
