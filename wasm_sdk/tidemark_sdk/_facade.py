"""OpenIM's browser API over the client, in plain Python: ``{userID, password}`` and the
other argument shapes parsed and checked, ``{errCode, errMsg, data}`` envelopes out,
events forwarded to one listener.

No ``js`` here: the same facade runs under CPython (tests) and, wrapped by
:mod:`tidemark_sdk._browser` which converts JS values at the boundary, in the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from tidemark_sdk._client import EVENTS, LoginStatus, TextMessage, TidemarkClient
from tidemark_sdk._errors import (
    MethodNotAllowedError,
    SdkError,
    ValidationFailedError,
)
from tidemark_sdk._models import Conversation, Session, unread
from tidemark_sdk._protocol import ERROR_CODES

__all__ = ["CacheReader", "EventListener", "OpenIMFacade"]

logger = logging.getLogger("tidemark_sdk")

_INTERNAL = ERROR_CODES["INTERNAL"]

EventListener = Callable[[str, Any], None]


class CacheReader(Protocol):
    """Reading the cache without the client: for painting before (or without) a sync."""

    async def peek_session(self) -> Session | None:
        """The saved session, changing nothing."""
        ...

    async def cached_conversations(self, user_id: str) -> list[Conversation]:
        """``user_id``'s cached conversations (empty if none), changing nothing."""
        ...


Handler = Callable[[Any], Awaitable[Any]]


class OpenIMFacade:
    """The client with OpenIM's browser API: what ``window.IMSDK`` calls, in plain Python.

    :meth:`call` takes an OpenIM method name and its one argument (JSON-shaped) and
    returns ``{errCode: 0, errMsg: "", data}`` or ``{errCode, errMsg}``: it never raises
    for an SDK error (the worker turns errCode ≠ 0 into a rejection). ``cache``: the
    client's store (every store of this package is a :class:`CacheReader`).
    """

    def __init__(self, client: TidemarkClient, cache: CacheReader) -> None:
        self._client = client
        self._cache = cache
        self._listener: EventListener | None = None
        self._syncing = False
        # True until start() has restored the saved session (or found none). Set from the
        # beginning: a call may reach this object before start()'s coroutine has run.
        self._restoring = True
        for event in sorted(EVENTS):
            client.on(event, self._forwarder(event))
        self._methods: dict[str, Handler] = {
            "register": self._register,
            "login": self._login,
            "logout": self._no_arg(client.logout),
            "getLoginStatus": self._no_arg(client.get_login_status),
            "createGroup": self._create_group,
            "createTextMessage": self._create_text_message,
            "sendMessage": self._send_message,
            "getAllConversationList": self._no_arg(client.get_all_conversation_list),
            "getConversationListSplit": self._conversation_list_split,
            "getOneConversation": self._one_conversation,
            "getTotalUnreadMsgCount": self._no_arg(client.get_total_unread_msg_count),
            "markConversationMessageAsRead": self._mark_read,
            "getAdvancedHistoryMessageList": self._history,
            # Tidemark extensions (documented in web/imsdk.js).
            "getCachedConversationList": self._cached_conversation_list,
            "getSelfUserInfo": self._self_user_info,
        }

    # -- the API -----------------------------------------------------------------------

    def set_listener(self, listener: EventListener | None) -> None:
        """``listener(event, data)`` receives every SDK event."""
        self._listener = listener

    async def start(self) -> dict[str, Any]:
        """Log back in from the saved session, if any. Resolves after its first sync (rule
        9) to ``{errCode: 0, errMsg: "", data: {loginStatus, userID, restoreError}}``;
        ``restoreError`` is ``{errCode, errMsg}`` if the restore failed, else null."""
        failure: dict[str, Any] | None = None
        try:
            await self._client.restore_session()
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
        return await self._client.login(_string(fields, "userID"), _string(fields, "password"))

    async def _create_group(self, arg: Any) -> Any:
        fields = _object(arg)
        members = fields.get("memberUserIDs", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ValidationFailedError("memberUserIDs must be a list of user IDs")
        return await self._client.create_group(_string(fields, "groupName"), members)

    async def _create_text_message(self, arg: Any) -> Any:
        if not isinstance(arg, str):
            raise ValidationFailedError("createTextMessage(text): text must be a string")
        return await self._client.create_text_message(arg)

    async def _send_message(self, arg: Any) -> Any:
        fields = _object(arg)
        message = fields.get("message")
        if not (
            isinstance(message, dict)
            and isinstance(message.get("clientMsgID"), str)
            and isinstance(message.get("textElem"), dict)
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
        # The same order as getAllConversationList: newest activity first, then by ID.
        records.sort(key=lambda c: c["conversationID"])
        records.sort(key=lambda c: c["latestMsgSendTime"], reverse=True)
        return {
            "userID": user or "",
            "syncing": status == LoginStatus.LOGGING_IN or self._syncing,
            "totalUnreadCount": sum(unread(record) for record in records),
            "conversationList": records,
        }


def _object(arg: Any) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise ValidationFailedError("expected an object argument")
    return arg


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
