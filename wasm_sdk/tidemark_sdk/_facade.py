"""OpenIM's browser API over the client, in plain Python: ``{userID, password}`` and the
other argument shapes parsed and checked, ``{errCode, errMsg, data}`` envelopes out,
events forwarded to one listener.

No ``js`` here: the same facade runs under CPython (tests) and, wrapped by
:mod:`tidemark_sdk._browser` which converts JS values at the boundary, in the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from tidemark_sdk._client import EVENTS, LoginStatus, MediaMessage, TextMessage, TidemarkClient
from tidemark_sdk._errors import (
    MethodNotAllowedError,
    SdkError,
    ValidationFailedError,
)
from tidemark_sdk._files import file_source
from tidemark_sdk._models import Conversation, Draft, Session, contribution
from tidemark_sdk._protocol import AT_ALL_TAG, CONTENT_TYPES, ERROR_CODES
from tidemark_sdk._state import conversation_list, with_draft

__all__ = ["CacheReader", "EventListener", "OpenIMFacade"]

logger = logging.getLogger("tidemark_sdk")

_INTERNAL = ERROR_CODES["INTERNAL"]
#: The elem of the messages made from files, by content type.
_MEDIA_ELEMS = {CONTENT_TYPES["PICTURE"]: "pictureElem", CONTENT_TYPES["FILE"]: "fileElem"}

EventListener = Callable[[str, Any], None]

#: Methods that answer at once, even while the SDK restores the saved session: the ones
#: a page paints from before the first sync (rule 9 marks what they say as syncing).
_ANSWER_AT_ONCE = frozenset({"getLoginStatus", "getCachedConversationList", "getAtAllTag"})


class CacheReader(Protocol):
    """Reading the cache without the client: for painting before (or without) a sync."""

    async def peek_session(self) -> Session | None:
        """The saved session, changing nothing."""
        ...

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        """``user_id``'s cached conversations (empty if none), changing nothing."""
        ...

    async def cached_drafts(self, user_id: str) -> list[Draft]:
        """``user_id``'s drafts on this device (empty if none), changing nothing."""
        ...


Handler = Callable[[Any], Awaitable[Any]]


class OpenIMFacade:
    """The client with OpenIM's browser API: what ``window.IMSDK`` calls, in plain Python.

    :meth:`call` takes an OpenIM method name and its one argument (JSON-shaped) and
    returns ``{errCode: 0, errMsg: "", data}`` or ``{errCode, errMsg}``: it never raises
    for an SDK error (the worker turns errCode ≠ 0 into a rejection). ``cache``: the
    client's store (every store of this package is a :class:`CacheReader`).

    OpenIM apps call ``login()`` as soon as the page has loaded: every method but
    ``getLoginStatus`` and ``getCachedConversationList`` first waits for the restore of
    the saved session (:meth:`start`, begun by the first call if nobody began it). Then
    ``login`` as the user restored answers with that session; as another user it logs
    the restored one out and logs in.
    """

    def __init__(self, client: TidemarkClient, cache: CacheReader) -> None:
        self._client = client
        self._cache = cache
        self._listener: EventListener | None = None
        self._syncing = False
        # True until start() has restored the saved session (or found none). Set from the
        # beginning: a call may reach this object before start()'s coroutine has run.
        self._restoring = True
        self._restore_task: asyncio.Task[dict[str, Any]] | None = None
        # Who the restore logged in, until a login or logout replaces that session.
        self._restored_user: str | None = None
        for event in sorted(EVENTS):
            client.on(event, self._forwarder(event))
        self._methods: dict[str, Handler] = {
            "register": self._register,
            "login": self._login,
            "logout": self._logout,
            "getLoginStatus": self._login_status,
            "createGroup": self._create_group,
            "createTextMessage": self._create_text_message,
            "sendMessage": self._send_message,
            "getAllConversationList": self._no_arg(client.get_all_conversation_list),
            "getConversationListSplit": self._conversation_list_split,
            "getOneConversation": self._one_conversation,
            "getTotalUnreadMsgCount": self._no_arg(client.get_total_unread_msg_count),
            "markConversationMessageAsRead": self._mark_read,
            "getAdvancedHistoryMessageList": self._history,
            "getJoinedGroupList": self._no_arg(client.get_joined_group_list),
            "getSpecifiedGroupsInfo": self._specified_groups,
            "getGroupMemberList": self._member_list,
            "inviteUserToGroup": self._invite,
            "kickGroupMember": self._kick,
            "quitGroup": self._quit,
            "dismissGroup": self._dismiss,
            "transferGroupOwner": self._transfer,
            "setGroupInfo": self._set_info,
            "setGroupMemberRoleLevel": self._set_role,
            "getGroupMessageReaderList": self._reader_list,
            "changeInputStates": self._input_states,
            "setConversationRecvMessageOpt": self._recv_message_opt,
            "pinConversation": self._pin,
            "resetConversationGroupAtType": self._reset_group_at_type,
            "markAllConversationMessageAsRead": self._no_arg(
                client.mark_all_conversation_message_as_read
            ),
            "hideConversation": self._hide,
            "setConversationDraft": self._draft,
            "createTextAtMessage": self._create_text_at_message,
            "getAtAllTag": self._at_all_tag,
            "revokeMessage": self._revoke,
            "markConversationAsUnread": self._mark_unread,
            "createImageMessageByFile": self._create_image_message,
            "createFileMessageByFile": self._create_file_message,
            "uploadFile": self._upload_file,
            "searchLocalMessages": self._search_messages,
            "setSelfInfo": self._set_self_info,
            "getUsersInfo": self._users_info,
            # Tidemark extensions (documented in web/imsdk.js).
            "getGroupMessageReceiptCounts": self._receipt_counts,
            "getCachedConversationList": self._cached_conversation_list,
            "getSelfUserInfo": self._self_user_info,
            "getFileURL": self._file_url,
            "searchUsers": self._search_users,
            "getPushPublicKey": self._no_arg(client.get_push_public_key),
            "subscribePush": self._subscribe_push,
            "unsubscribePush": self._unsubscribe_push,
        }

    # -- the API -----------------------------------------------------------------------

    def set_listener(self, listener: EventListener | None) -> None:
        """``listener(event, data)`` receives every SDK event."""
        self._listener = listener

    async def start(self) -> dict[str, Any]:
        """Log back in from the saved session, if any. Resolves after its first sync (rule
        9) to ``{errCode: 0, errMsg: "", data: {loginStatus, userID, restoreError}}``;
        ``restoreError`` is ``{errCode, errMsg}`` if the restore failed, else null. Runs
        once: later calls (and every method waiting for it) get the same answer."""
        if self._restore_task is None:
            self._restore_task = asyncio.ensure_future(self._restore())
        return await asyncio.shield(self._restore_task)

    async def _restore(self) -> dict[str, Any]:
        failure: dict[str, Any] | None = None
        try:
            if await self._client.restore_session():
                self._restored_user = self._client.user_id
        except SdkError as error:
            failure = error.to_json()
        except Exception as error:
            logger.exception("restoring the session failed")
            failure = SdkError(f"restore: internal error: {error!r}", _INTERNAL).to_json()
        finally:
            self._restoring = False
        status = await self._client.get_login_status()
        user = self._client.user_id if status != LoginStatus.LOGGED_OUT else None
        data = {"loginStatus": int(status), "userID": user or "", "restoreError": failure}
        return {"errCode": 0, "errMsg": "", "data": data}

    async def call(self, method: str, arg: Any = None) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            return MethodNotAllowedError(f"no IMSDK method {method!r}").to_json()
        if method not in _ANSWER_AT_ONCE and method != "login":
            await self.start()  # login waits too, after checking its argument
        return await self._envelope(method, handler, arg)

    # -- plumbing ----------------------------------------------------------------------

    async def _envelope(self, name: str, handler: Handler, arg: Any) -> dict[str, Any]:
        try:
            data = await handler(arg)
        except SdkError as error:
            return error.to_json()
        except Exception as error:
            logger.exception("%s failed", name)  # a bug: keep the traceback in the console
            return SdkError(f"{name}: internal error: {error!r}", _INTERNAL).to_json()
        return {"errCode": 0, "errMsg": "", "data": data}

    def _forwarder(self, event: str) -> Callable[[Any], None]:
        def forward(data: Any) -> None:
            if event == "OnSyncServerStart":
                self._syncing = True
            elif event in ("OnSyncServerFinish", "OnSyncServerFailed"):
                self._syncing = False
            if self._listener is not None:
                self._listener(event, data)

        return forward

    @staticmethod
    def _no_arg(method: Callable[[], Awaitable[Any]]) -> Handler:
        async def handler(_arg: Any) -> Any:
            return await method()

        return handler

    # -- the methods (argument checks; the client does the rest) -----------------------

    async def _register(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.register(
            _string(fields, "userID"), _string(fields, "password"), _string(fields, "nickname")
        )

    async def _login(self, arg: Any) -> Any:
        fields = _object(arg)
        user_id, password = _string(fields, "userID"), _string(fields, "password")
        await self.start()
        client = self._client
        restored = self._restored_user
        if restored is not None and await client.get_login_status() != LoginStatus.LOGGED_OUT:
            if restored == user_id == client.user_id:
                # The page loaded, the SDK logged back in by itself, and the app logs in
                # as on a fresh page (OpenIM's habit): that is this session.
                return client.session_user()
            self._restored_user = None
            await client.logout()
        self._restored_user = None
        return await client.login(user_id, password)

    async def _logout(self, _arg: Any) -> Any:
        self._restored_user = None
        await self._client.logout()

    async def _login_status(self, _arg: Any) -> Any:
        if self._restoring:
            # Until the restore has looked: logging in if a session is saved (it is being
            # restored), else logged out (a login waiting for the restore included).
            if await self._cache.peek_session() is not None:
                return int(LoginStatus.LOGGING_IN)
            return int(LoginStatus.LOGGED_OUT)
        return await self._client.get_login_status()

    async def _create_group(self, arg: Any) -> Any:
        """Tidemark's ``{groupName, memberUserIDs}`` or OpenIM's ``{groupInfo: {groupName},
        memberUserIDs, adminUserIDs}``."""
        fields = _object(arg)
        info = fields.get("groupInfo")
        if info is not None:
            if "groupName" in fields:
                raise ValidationFailedError("give groupName or groupInfo.groupName, not both")
            name = _string(_object(info, "groupInfo"), "groupName")
        else:
            name = _string(fields, "groupName")
        return await self._client.create_group(
            name,
            _string_list(fields, "memberUserIDs", []),
            _string_list(fields, "adminUserIDs", []),
        )

    async def _create_text_message(self, arg: Any) -> Any:
        if not isinstance(arg, str):
            raise ValidationFailedError("createTextMessage(text): text must be a string")
        return await self._client.create_text_message(arg)

    async def _create_text_at_message(self, arg: Any) -> Any:
        """OpenIM's ``{text, atUserIDList, atUsersInfo, message}``; ``message`` (a message
        to quote) is refused: no quoting in Tidemark."""
        fields = _object(arg)
        infos = fields.get("atUsersInfo")
        if infos is None:
            infos = []
        if not isinstance(infos, list) or not all(isinstance(i, dict) for i in infos):
            raise ValidationFailedError("atUsersInfo must be a list of {atUserID, groupNickname}")
        return await self._client.create_text_at_message(
            _string(fields, "text"),
            _string_list(fields, "atUserIDList"),
            infos,
            quote=fields.get("message"),
        )

    async def _at_all_tag(self, _arg: Any) -> Any:
        return AT_ALL_TAG

    async def _send_message(self, arg: Any) -> Any:
        fields = _object(arg)
        message = fields.get("message")
        if not (isinstance(message, dict) and isinstance(message.get("clientMsgID"), str)):
            raise ValidationFailedError("message must come from createTextMessage")
        content_type = message.get("contentType")
        media = _MEDIA_ELEMS.get(content_type) if isinstance(content_type, int) else None
        if media is not None:
            elem = message.get(media)
            if not isinstance(elem, dict):
                raise ValidationFailedError(
                    "message must come from createImageMessageByFile or createFileMessageByFile"
                )
            return await self._client.send_message(
                cast(MediaMessage, message),
                recv_id=_string(fields, "recvID", ""),
                group_id=_string(fields, "groupID", ""),
            )
        if message.get("contentType") == CONTENT_TYPES["AT_TEXT"]:
            at = message.get("atTextElem")
            if not (
                isinstance(at, dict)
                and isinstance(at.get("text"), str)
                and isinstance(at.get("atUserList"), list)
                and isinstance(at.get("atUsersInfo"), list)
            ):
                raise ValidationFailedError("message must come from createTextAtMessage")
        elif not (
            isinstance(message.get("textElem"), dict)
            and isinstance(message["textElem"].get("content"), str)
        ):
            raise ValidationFailedError("message must come from createTextMessage")
        recv_id = _string(fields, "recvID", "")
        group_id = _string(fields, "groupID", "")
        if bool(recv_id) == bool(group_id):
            raise ValidationFailedError("give exactly one of recvID and groupID")
        return await self._client.send_message(
            cast(TextMessage, message), recv_id=recv_id, group_id=group_id
        )

    async def _create_image_message(self, arg: Any) -> Any:
        """OpenIM's ``{file, sourcePicture?, bigPicture?, snapshotPicture?, sourcePath?}``:
        only ``file`` and the width/height of ``sourcePicture`` (or ``bigPicture``) are
        used; their uuids are OpenIM's local keys, not the server's (the file is uploaded
        when sent). Under CPython ``file`` may be bytes (named by ``name``) or a path."""
        fields = _object(arg)
        source = file_source(fields.get("file"), _string(fields, "name", "") or "image")
        size = {"width": 0, "height": 0}
        for key in ("sourcePicture", "bigPicture"):
            given = fields.get(key)
            if isinstance(given, dict) and not any(size.values()):
                size = {k: max(0, _integer(given, k, 0)) for k in size}
        return await self._client.create_image_message_by_file(source, **size)

    async def _create_file_message(self, arg: Any) -> Any:
        """OpenIM's ``{file, fileName?, filePath?, uuid?, sourceUrl?, fileSize?,
        fileType?}``: ``file`` (a File; under CPython bytes or a path), ``fileName`` (the
        file's name by default) and ``fileType``; the rest is the server's to say."""
        fields = _object(arg)
        name = _string(fields, "fileName", "")
        source = file_source(fields.get("file"), name or "file", _string(fields, "fileType", ""))
        return await self._client.create_file_message_by_file(
            source, file_name=name, file_type=_string(fields, "fileType", "")
        )

    async def _upload_file(self, arg: Any) -> Any:
        """OpenIM's uploadFile, simplified: ``{file, name?, contentType?, kind?}`` ->
        the UploadedFile (its ``url`` first of all, as OpenIM answers ``{url}``)."""
        fields = _object(arg)
        name = _string(fields, "name", "")
        content_type = _string(fields, "contentType", "")
        source = file_source(fields.get("file"), name or "file", content_type)
        return await self._client.upload_file(
            source, name, _string(fields, "kind", ""), content_type
        )

    async def _file_url(self, arg: Any) -> Any:
        """Tidemark's ``getFileURL({url})``: the file's bytes fetched with the token (the
        browser's BrowserSDK hands the Blob to imsdk.js, which makes the object URL)."""
        url: Any = arg.get("url") if isinstance(arg, dict) else arg
        return await self._client.get_file(url)

    async def _search_messages(self, arg: Any) -> Any:
        """OpenIM's ``{keywordList, conversationID?, keywordListMatchType?, pageIndex?,
        count?}`` (its sender, type and time filters are not taken), answered by the
        server: ``{totalCount, searchResultItems}``."""
        fields = _object(arg)
        unknown = {"senderUserIDList", "messageTypeList", "searchTimePosition", "searchTimePeriod"}
        used = sorted(k for k in unknown & set(fields) if fields[k] not in (None, [], 0))
        if used:
            raise ValidationFailedError(f"searchLocalMessages: {', '.join(used)} not supported")
        return await self._client.search_local_messages(
            _string_list(fields, "keywordList"),
            _string(fields, "conversationID", ""),
            _integer(fields, "keywordListMatchType", 0),
            _integer(fields, "pageIndex", 1),
            _integer(fields, "count", 20),
        )

    async def _set_self_info(self, arg: Any) -> Any:
        """OpenIM's ``setSelfInfo({nickname?, faceURL?})``: data null (as OpenIM's); the
        profile comes by OnSelfInfoUpdated, on every device."""
        fields = _object(arg)
        nickname = fields.get("nickname")
        face_url = fields.get("faceURL")
        for name, value in (("nickname", nickname), ("faceURL", face_url)):
            if value is not None and not isinstance(value, str):
                raise ValidationFailedError(f"{name} must be a string")
        await self._client.set_self_info(nickname, face_url)
        return None

    async def _users_info(self, arg: Any) -> Any:
        """OpenIM's ``getUsersInfo(userIDList)``; ``{userIDList}`` too."""
        fields = arg if isinstance(arg, dict) else {"userIDList": arg}
        return await self._client.get_users_info(_string_list(fields, "userIDList"))

    async def _search_users(self, arg: Any) -> Any:
        """Tidemark's ``searchUsers({keyword, count?})``; a bare keyword too."""
        fields = arg if isinstance(arg, dict) else {"keyword": arg}
        return await self._client.search_users(
            _string(fields, "keyword"), _integer(fields, "count", 20)
        )

    async def _subscribe_push(self, arg: Any) -> Any:
        """``{endpoint, keys: {p256dh, auth}, previews?}`` (a PushSubscription's JSON plus
        the previews choice): ``{endpoint, previews}``."""
        fields = _object(arg)
        keys = _object(fields.get("keys"), "keys")
        previews = fields.get("previews", False)
        if not isinstance(previews, bool):
            raise ValidationFailedError("previews must be true or false")
        return await self._client.subscribe_push(
            _string(fields, "endpoint"),
            {"p256dh": _string(keys, "p256dh"), "auth": _string(keys, "auth")},
            previews,
        )

    async def _unsubscribe_push(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.unsubscribe_push(_string(fields, "endpoint"))

    async def _conversation_list_split(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_conversation_list_split(
            _integer(fields, "offset", 0), _integer(fields, "count", 20)
        )

    async def _one_conversation(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_one_conversation(
            _string(fields, "sourceID"), _integer(fields, "sessionType")
        )

    async def _mark_read(self, arg: Any) -> Any:
        if not isinstance(arg, str) or not arg:
            raise ValidationFailedError("markConversationMessageAsRead(conversationID)")
        await self._client.mark_conversation_message_as_read(arg)
        return None

    async def _history(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_advanced_history_message_list(
            _string(fields, "conversationID"),
            _integer(fields, "count", 20),
            _integer(fields, "lastMinSeq", 0),
        )

    async def _specified_groups(self, arg: Any) -> Any:
        """OpenIM's ``getSpecifiedGroupsInfo(groupIDList)``; ``{groupIDList}`` too."""
        fields = arg if isinstance(arg, dict) else {"groupIDList": arg}
        return await self._client.get_specified_groups_info(_string_list(fields, "groupIDList"))

    async def _member_list(self, arg: Any) -> Any:
        fields = _object(arg)
        return await self._client.get_group_member_list(
            _string(fields, "groupID"),
            _integer(fields, "filter", 0),
            _integer(fields, "offset", 0),
            _integer(fields, "count", 100),
        )

    async def _invite(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.invite_user_to_group(
            _string(fields, "groupID"),
            _string_list(fields, "userIDList"),
            _string(fields, "reason", ""),
        )

    async def _kick(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.kick_group_member(
            _string(fields, "groupID"),
            _string_list(fields, "userIDList"),
            _string(fields, "reason", ""),
        )

    async def _quit(self, arg: Any) -> Any:
        await self._client.quit_group(_group_id(arg, "quitGroup"))

    async def _dismiss(self, arg: Any) -> Any:
        await self._client.dismiss_group(_group_id(arg, "dismissGroup"))

    async def _transfer(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.transfer_group_owner(
            _string(fields, "groupID"), _string(fields, "newOwnerUserID")
        )

    async def _set_info(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.set_group_info(_string(fields, "groupID"), _string(fields, "groupName"))

    async def _set_role(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.set_group_member_role_level(
            _string(fields, "groupID"), _string(fields, "userID"), _integer(fields, "roleLevel")
        )

    async def _reader_list(self, arg: Any) -> Any:
        """OpenIM's ``{conversationID, clientMsgID, filter, offset, count}``; ``seq``
        instead of (or besides) clientMsgID too."""
        fields = _object(arg)
        seq = _integer(fields, "seq", 0)
        client_msg_id = _string(fields, "clientMsgID", "")
        if seq <= 0 and not client_msg_id:
            raise ValidationFailedError("give the message's clientMsgID or seq")
        return await self._client.get_group_message_reader_list(
            _string(fields, "conversationID"),
            seq=seq,
            client_msg_id=client_msg_id,
            filter=_integer(fields, "filter", 0),
            offset=_integer(fields, "offset", 0),
            count=_integer(fields, "count", 100),
        )

    async def _receipt_counts(self, arg: Any) -> Any:
        fields = _object(arg)
        seqs = fields.get("seqs")
        if not isinstance(seqs, list):
            raise ValidationFailedError("seqs must be a list of seqs")
        numbers = [_integer({"seq": seq}, "seq") for seq in seqs]
        return await self._client.get_group_message_receipt_counts(
            _string(fields, "conversationID"), numbers
        )

    async def _input_states(self, arg: Any) -> Any:
        fields = _object(arg)
        focus = fields.get("focus")
        if not isinstance(focus, bool):
            raise ValidationFailedError("focus must be true or false")
        await self._client.change_input_states(_string(fields, "conversationID"), focus)

    async def _recv_message_opt(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.set_conversation_recv_message_opt(
            _string(fields, "conversationID"), _integer(fields, "opt")
        )

    async def _pin(self, arg: Any) -> Any:
        fields = _object(arg)
        pinned = fields.get("isPinned")
        if not isinstance(pinned, bool):
            raise ValidationFailedError("isPinned must be true or false")
        await self._client.pin_conversation(_string(fields, "conversationID"), pinned)

    async def _reset_group_at_type(self, arg: Any) -> Any:
        await self._client.reset_conversation_group_at_type(
            _conversation_id(arg, "resetConversationGroupAtType")
        )

    async def _mark_unread(self, arg: Any) -> Any:
        await self._client.mark_conversation_as_unread(
            _conversation_id(arg, "markConversationAsUnread")
        )

    async def _hide(self, arg: Any) -> Any:
        await self._client.hide_conversation(_conversation_id(arg, "hideConversation"))

    async def _draft(self, arg: Any) -> Any:
        fields = _object(arg)
        await self._client.set_conversation_draft(
            _string(fields, "conversationID"), _string(fields, "draftText")
        )

    async def _revoke(self, arg: Any) -> Any:
        """Answers the tombstone (OpenIM answers nothing): it has replaced the message."""
        fields = _object(arg)
        return await self._client.revoke_message(
            _string(fields, "conversationID"), _string(fields, "clientMsgID")
        )

    async def _self_user_info(self, _arg: Any) -> Any:
        return await self._client.get_self_user_info()

    async def _cached_conversation_list(self, _arg: Any) -> Any:
        """What the cache holds right now, without waiting for a sync (unlike
        getAllConversationList, rule 9): for painting at once after a reload, marked as
        syncing while ``syncing`` is true."""
        status = await self._client.get_login_status()
        user = self._client.user_id if status != LoginStatus.LOGGED_OUT else None
        if user is None and self._restoring:
            # The restore has not read the saved session yet: read it too.
            session = await self._cache.peek_session()
            user = session["userID"] if session else None
        records = await self._cache.cached_conversations(user) if user else []
        drafts = (
            {d["conversationID"]: d for d in await self._cache.cached_drafts(user)} if user else {}
        )
        shown = [with_draft(r, drafts.get(r["conversationID"])) for r in records]
        return {
            "userID": user or "",
            "syncing": status == LoginStatus.LOGGING_IN or self._syncing,
            # The total's one definition, over every record (hidden ones add 0: read).
            "totalUnreadCount": sum(contribution(record) for record in records),
            # The same list as getAllConversationList: hidden left out, pinned first.
            "conversationList": conversation_list(shown),
        }


def _object(arg: Any, name: str = "the argument") -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise ValidationFailedError(f"{name} must be an object")
    return arg


def _conversation_id(arg: Any, method: str) -> str:
    """OpenIM's bare ``conversationID`` argument (``{conversationID}`` is accepted too)."""
    if isinstance(arg, dict):
        arg = arg.get("conversationID")
    if not isinstance(arg, str) or not arg:
        raise ValidationFailedError(f"{method}(conversationID): conversationID must be a string")
    return arg


def _group_id(arg: Any, method: str) -> str:
    """OpenIM's bare ``groupID`` argument (``{groupID}`` is accepted too)."""
    if isinstance(arg, dict):
        arg = arg.get("groupID")
    if not isinstance(arg, str) or not arg:
        raise ValidationFailedError(f"{method}(groupID): groupID must be a string")
    return arg


def _string_list(fields: dict[str, Any], name: str, default: list[str] | None = None) -> list[str]:
    value = fields.get(name, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationFailedError(f"{name} must be a list of IDs")
    return value


def _string(fields: dict[str, Any], name: str, default: str | None = None) -> str:
    value = fields.get(name, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise ValidationFailedError(f"{name} must be a string")
    return value


def _integer(fields: dict[str, Any], name: str, default: int | None = None) -> int:
    value = fields.get(name, default)
    if value is None:
        value = default
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JS numbers arrive as floats when they went through JSON
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailedError(f"{name} must be an integer")
    return value
