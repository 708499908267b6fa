"""The client: one user's session, and OpenIM's calls, over a :class:`Store` and a
:class:`Transport` (DESIGN.md rules 2-10).

Sans-I/O: this module and the ones it composes import neither ``js`` nor any network or
database library, start no thread and never block; they only await the store and the
transport and use asyncio primitives that Pyodide's event loop provides (tasks, locks,
events, ``wait_for``). The parts, one job each:

- :mod:`~tidemark_sdk._events`: the event names and the emitter;
- :mod:`~tidemark_sdk._state`: what is held of the server's state, and the rules
  (versions, gaps, unread, what to announce), without awaiting anything;
- :mod:`~tidemark_sdk._sync`: every write to the store: syncs, answers, events;
- :mod:`~tidemark_sdk._connection`: the WebSocket, its heartbeats, requests and reconnects;
- :mod:`~tidemark_sdk._ephemeral`: the frames that are not state (group receipts, typing);
- this module: login, logout and the restored session, requests, and the queries.

How state moves (rule 4): a request goes to the server; the server answers with the
absolute state it committed; that state is written to the store in one version-guarded
transaction; only then are events emitted. WebSocket events and syncs go the same way.

Sends and mark-reads can travel as request frames on the WebSocket while it is open (no
HTTP round trip per message, as OpenIM's SDK does), over HTTP otherwise; both are
idempotent on the server, so one that loses its socket midway is asked again over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as _random
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from enum import IntEnum
from typing import Any, TypedDict, cast
from urllib.parse import quote, urlencode

from tidemark_sdk._connection import Link
from tidemark_sdk._ephemeral import EPHEMERAL_FRAMES, Ephemera
from tidemark_sdk._errors import (
    AlreadyLoggedInError,
    AuthError,
    ConversationNotFoundError,
    MessageNotFoundError,
    NetworkError,
    NotLoggedInError,
    ProtocolError,
    SdkError,
    ValidationFailedError,
)
from tidemark_sdk._events import EVENTS, Emitter, Listener
from tidemark_sdk._files import RASTER_TYPES, FileSource, checked_name, declared_type, file_path
from tidemark_sdk._interfaces import Store, Transport
from tidemark_sdk._models import (
    GROUP_CHAT,
    SINGLE_CHAT,
    AtTextElem,
    AtUsersInfoItem,
    Conversation,
    Draft,
    FileElem,
    GroupItem,
    GroupMemberItem,
    Message,
    Picture,
    PictureElem,
    PublicUser,
    ReceiptCount,
    Session,
    ShownConversation,
    TextElem,
    group_conversation_id,
    is_tombstone,
    single_conversation_id,
)
from tidemark_sdk._protocol import (
    AT_ALL_TAG,
    CONTENT_TYPES,
    OPS,
    RECV_MSG_OPTS,
    SERVER_EVENT_TYPES,
)
from tidemark_sdk._state import ClientState, conversation_list, parse_state
from tidemark_sdk._sync import EVENT_FRAMES, Replica

__all__ = [
    "EVENTS",
    "HistoryPage",
    "LoginStatus",
    "MediaMessage",
    "TextMessage",
    "TidemarkClient",
]

logger = logging.getLogger("tidemark_sdk")

#: OpenIM's roleLevel values that setGroupMemberRoleLevel sets.
ADMIN_ROLE = 60
MEMBER_ROLE = 20
#: The most seqs the server counts receipts for in one request.
RECEIPT_BATCH = 100
#: The server's limits on an @ message (protocol.json, AtTextElem; README).
MAX_TEXT = 4000
MAX_MENTIONS = 100
MAX_GROUP_NICKNAME = 64
AT_TEXT = CONTENT_TYPES["AT_TEXT"]
PICTURE = CONTENT_TYPES["PICTURE"]
FILE = CONTENT_TYPES["FILE"]
USER_UPDATED = SERVER_EVENT_TYPES["USER_UPDATED"]
#: The most user IDs the server takes in one getUsersInfo request.
USERS_BATCH = 100
#: Files held for messages created but not sent yet (the oldest go first beyond this).
MAX_PENDING_FILES = 100


class LoginStatus(IntEnum):
    """OpenIM's values for ``getLoginStatus``."""

    LOGGED_OUT = 1
    LOGGING_IN = 2
    LOGGED_IN = 3


class TextMessage(TypedDict):
    """A message created locally, before ``send_message`` gives it a seq: a text message
    (contentType 101, ``textElem``) or an @ message (106, ``atTextElem``; the other elem
    is None)."""

    clientMsgID: str
    sendID: str
    contentType: int
    textElem: TextElem | None
    atTextElem: AtTextElem | None
    createTime: int


class MediaMessage(TypedDict):
    """An image (contentType 102, ``pictureElem``) or file (105, ``fileElem``) message
    created locally from a file, before ``send_message`` uploads it and sends it. Its
    elem says what the client knows (uuid and url "" until sent); the file itself is held
    by the client that made it, by clientMsgID."""

    clientMsgID: str
    sendID: str
    contentType: int
    textElem: None
    atTextElem: None
    pictureElem: PictureElem | None
    fileElem: FileElem | None
    createTime: int


class HistoryPage(TypedDict):
    messageList: list[Message]  # oldest first
    isEnd: bool
    lastMinSeq: int


class TidemarkClient:
    """One user's session against one server, with OpenIM's method names in snake_case.

    ``sleep`` and ``random`` drive the reconnect backoff (tests inject fakes);
    ``ping_interval`` and ``receive_timeout`` (seconds) pace the WebSocket heartbeat;
    ``requests_over_socket`` sends messages and mark-reads on the WebSocket when it is open.
    """

    def __init__(
        self,
        transport: Transport,
        store: Store,
        *,
        ping_interval: float = 25.0,
        receive_timeout: float = 70.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        requests_over_socket: bool = True,
    ) -> None:
        self._transport = transport
        self._store = store
        self._ping_interval = ping_interval
        self._receive_timeout = receive_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._random = random
        self._requests_over_socket = requests_over_socket
        self._events = Emitter()
        self._status = LoginStatus.LOGGED_OUT
        self._session: Session | None = None
        self._state = ClientState()
        self._replica = Replica(store, self._state, self._request, self._events.emit, self._spawn)
        self._ephemera = Ephemera(self._events.emit)
        # Set once the first sync after login/restore has ended, however it ended (rule 9).
        self._synced = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._link: Link | None = None
        # clientMsgID -> the file of a media message not sent yet, and the uuid its
        # upload got (a send that failed after the upload does not upload it again).
        self._pending_files: dict[str, FileSource] = {}
        self._uploaded: dict[str, str] = {}
        # My PublicUser as last answered or pushed (user.updated): OnSelfInfoUpdated
        # fires when it changes (an answer and its push say the same thing once).
        self._profile: PublicUser | None = None

    # -- events ------------------------------------------------------------------------

    def on(self, event: str, listener: Listener) -> None:
        """Call ``listener(data)`` on ``event`` (one of :data:`EVENTS`)."""
        self._events.on(event, listener)

    def off(self, event: str, listener: Listener) -> None:
        self._events.off(event, listener)

    # -- session -----------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The user logged in or logging in (once the login was answered), else None."""
        return self._session["userID"] if self._session is not None else None

    async def get_self_user_info(self) -> dict[str, Any]:
        """OpenIM's getSelfUserInfo: my PublicUser ``{userID, nickname, faceURL, ex}`` and
        ``createTime``, from the server; when it cannot be reached, what this client
        knows (the last answer or push, else the login's ``{userID, nickname}``, with
        ``faceURL`` "" and ``createTime`` 0)."""
        session = self._session
        if self._status != LoginStatus.LOGGED_IN or session is None:
            raise NotLoggedInError("not logged in")
        try:
            answer = await self._request("GET", "/api/users/me")
        except NetworkError:
            known = self._profile or {
                "userID": session["userID"],
                "nickname": session["nickname"],
                "faceURL": "",
                "ex": "",
            }
            return {"createTime": 0, **known}
        # A first read is not news; a change seen by reading (missed while away) is.
        self._profile_changed(_public_user(answer), news=self._profile is not None)
        return answer

    def session_user(self) -> dict[str, str]:
        """``{userID, nickname}`` of the session (what ``login`` answered; the nickname
        follows OnSelfInfoUpdated), without a request."""
        session = self._session
        if self._status != LoginStatus.LOGGED_IN or session is None:
            raise NotLoggedInError("not logged in")
        return {"userID": session["userID"], "nickname": session["nickname"]}

    async def register(self, user_id: str, password: str, nickname: str) -> dict[str, Any]:
        body = {"userID": user_id, "password": password, "nickname": nickname}
        return await self._transport.request("POST", "/api/users", body)

    async def login(self, user_id: str, password: str) -> dict[str, Any]:
        """Log in; returns ``{userID, nickname}`` once the first sync has ended (rule 9)."""
        self._begin_login()
        try:
            answer = await self._transport.request(
                "POST", "/api/auth/login", {"userID": user_id, "password": password}
            )
            session = Session(
                userID=str(answer["userID"]),
                nickname=str(answer["nickname"]),
                token=str(answer["token"]),
                expiresAt=int(answer["expiresAt"]),
            )
        except BaseException as error:
            self._end_login()
            if isinstance(error, KeyError | TypeError | ValueError):
                raise ProtocolError(f"bad login answer: {error!r}") from None
            raise
        await self._start(session, save=True)
        return {"userID": session["userID"], "nickname": session["nickname"]}

    async def restore_session(self) -> bool:
        """Log back in from the saved session after a reload; True once logged in.

        False when there is no saved session or the server no longer accepts its token
        (then ``OnUserTokenExpired`` has fired). Like :meth:`login`, returns only after
        the first sync has ended.
        """
        self._begin_login()
        try:
            session = await self._store.load_session()
        except BaseException:
            self._end_login()
            raise
        if session is None:
            self._end_login()
            return False
        try:
            await self._start(session, save=False)
        except AuthError:
            return False
        return True

    async def logout(self) -> None:
        """Revoke the token (best effort: offline, the session still ends here)."""
        session = self._session
        await self._stop()
        await self._store.save_session(None)
        if session is not None:
            with contextlib.suppress(SdkError):
                await self._transport.request("POST", "/api/auth/logout", None, session["token"])

    async def close(self) -> None:
        """Stop (connection, syncs) without logging out: the saved session stays, as
        when a tab closes; :meth:`restore_session` on a new client picks it up."""
        await self._stop()

    async def get_login_status(self) -> int:
        return int(self._status)

    def _begin_login(self) -> None:
        if self._status != LoginStatus.LOGGED_OUT:
            raise AlreadyLoggedInError("already logged in or logging in: log out first")
        self._status = LoginStatus.LOGGING_IN
        self._synced.clear()

    def _end_login(self) -> None:
        self._status = LoginStatus.LOGGED_OUT
        self._session = None
        self._synced.set()  # wake waiting queries: they now fail with NotLoggedInError

    async def _start(self, session: Session, *, save: bool) -> None:
        """Open the cache for this user, connect, and run the first sync."""
        self._session = session
        try:
            if save:
                await self._store.save_session(session)
            await self._replica.open(session["userID"])
            self._link = Link(
                self._transport,
                session["token"],
                emit=self._events.emit,
                on_hello=self._on_hello,
                on_event=self._on_frame,
                event_frames=EVENT_FRAMES | EPHEMERAL_FRAMES | {USER_UPDATED},
                token_still_valid=self._token_still_valid,
                ping_interval=self._ping_interval,
                receive_timeout=self._receive_timeout,
                backoff_base=self._backoff_base,
                backoff_max=self._backoff_max,
                sleep=self._sleep,
                random=self._random,
            )
            self._spawn(self._link.run())
            try:
                await self._replica.sync()
            except AuthError:
                raise  # _request already logged out and emitted OnUserTokenExpired
            except SdkError:
                pass  # rule 9: answer from the cache; OnSyncServerFailed has fired
            if self._session is not session:
                raise NotLoggedInError("logged out while logging in")
        except BaseException:
            if self._session is session:
                await self._stop()
            raise
        self._status = LoginStatus.LOGGED_IN
        self._synced.set()

    async def _stop(self) -> None:
        self._end_login()
        self._pending_files.clear()
        self._uploaded.clear()
        self._profile = None
        self._state.close()
        self._ephemera.close()
        self._link = None
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _expire(self, error: AuthError) -> None:
        """The server refused our token (1101/1102): we are logged out."""
        if self._session is None:
            return
        await self._stop()
        await self._store.save_session(None)
        self._events.emit("OnUserTokenExpired", error.to_json())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        """A pushed event: state for the replica, or (no version) receipts and typing,
        which never touch the store nor the cache's version (rules 16, 17)."""
        if frame["type"] in EPHEMERAL_FRAMES:
            self._ephemera.handle(frame)
        elif frame["type"] == USER_UPDATED:
            # Not state either (no version): the latest profile wins.
            try:
                self._profile_changed(_public_user(frame["user"]))
            except (KeyError, ProtocolError) as error:
                logger.warning("dropped a malformed user.updated frame: %r", error)
        else:
            await self._replica.apply_event(frame)

    async def _on_hello(self, hello: dict[str, Any]) -> None:
        """Greeted on the socket: catch up on what changed while we were away (rule 5),
        once the first sync has ended."""
        await self._synced.wait()
        meta = self._state.meta
        if meta is not None and (hello.get("epoch"), hello.get("version")) != (
            meta["epoch"],
            meta["version"],
        ):
            self._replica.schedule_sync()

    async def _token_still_valid(self) -> bool:
        """The socket closes with an auth code for a bad token and for an idle timeout
        alike; an HTTP sync tells them apart (and logs out if the token is bad)."""
        try:
            await self._replica.sync()
        except AuthError:
            return False
        except SdkError:
            pass
        return True

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        op: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """An authenticated request; an auth failure logs us out (OnUserTokenExpired).

        With ``op`` (the socket's name for it, and its body) it goes over the open
        WebSocket if there is one. Only idempotent requests may name an ``op``: one whose
        socket is lost before the answer is asked again over HTTP.
        """
        session = self._session
        if session is None:
            raise NotLoggedInError("not logged in")
        try:
            link = self._link
            if op is not None and link is not None and link.serving and self._requests_over_socket:
                try:
                    return await link.call(*op)
                except NetworkError as error:
                    logger.info("%s: %s; asking again over HTTP", op[0], error)
            return await self._transport.request(method, path, body, session["token"])
        except AuthError as error:
            if self._session is session:
                await self._expire(error)
            raise

    async def _ready(self) -> None:
        """Wait for the first sync (rule 9); fail if not logged in."""
        if self._status == LoginStatus.LOGGING_IN:
            await self._synced.wait()
        if self._status != LoginStatus.LOGGED_IN or self._state.meta is None:
            raise NotLoggedInError("not logged in")

    # -- messages and conversations ---------------------------------------------------

    async def create_text_message(self, text: str) -> TextMessage:
        return TextMessage(
            clientMsgID=uuid.uuid4().hex,
            sendID=self._session["userID"] if self._session else "",
            contentType=CONTENT_TYPES["TEXT"],
            textElem={"content": text},
            atTextElem=None,
            createTime=_now_ms(),
        )

    async def create_text_at_message(
        self,
        text: str,
        at_user_ids: Sequence[str],
        at_users_info: Sequence[AtUsersInfoItem] = (),
        quote: Any = None,
    ) -> TextMessage:
        """An @ message (contentType 106) for a group: ``at_user_ids`` are members, or
        :data:`AT_ALL_TAG` for everyone (1-100, no repeats); ``at_users_info`` names some
        of them (``{atUserID, groupNickname}``). Checked here as the server checks it
        (the server also checks that each is a current member). ``quote`` (OpenIM's
        ``message``, a message to quote) is refused: Tidemark has no quoting."""
        if quote is not None:
            raise ValidationFailedError(
                "createTextAtMessage: quoting a message is not supported (leave out message)"
            )
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise ValidationFailedError(f"text must be 1-{MAX_TEXT} characters")
        ids = list(at_user_ids)
        if not 1 <= len(ids) <= MAX_MENTIONS or not all(isinstance(u, str) and u for u in ids):
            raise ValidationFailedError(
                f"atUserIDList must hold 1-{MAX_MENTIONS} user IDs (or {AT_ALL_TAG!r})"
            )
        if len(set(ids)) != len(ids):
            raise ValidationFailedError("atUserIDList must not repeat a user")
        infos: list[AtUsersInfoItem] = []
        for item in at_users_info:
            if not isinstance(item, dict):
                raise ValidationFailedError("atUsersInfo items must be {atUserID, groupNickname}")
            user, name = item.get("atUserID"), item.get("groupNickname")
            if not isinstance(user, str) or user not in ids:
                raise ValidationFailedError(f"atUsersInfo: {user!r} is not in atUserIDList")
            if not isinstance(name, str) or not 1 <= len(name) <= MAX_GROUP_NICKNAME:
                raise ValidationFailedError(
                    f"atUsersInfo: groupNickname must be 1-{MAX_GROUP_NICKNAME} characters"
                )
            infos.append(AtUsersInfoItem(atUserID=user, groupNickname=name))
        return TextMessage(
            clientMsgID=uuid.uuid4().hex,
            sendID=self._session["userID"] if self._session else "",
            contentType=AT_TEXT,
            textElem=None,
            atTextElem=AtTextElem(text=text, atUserList=ids, atUsersInfo=infos),
            createTime=_now_ms(),
        )

    @staticmethod
    def get_at_all_tag() -> str:
        """OpenIM's AtAllTag: in atUserIDList, a mention of everyone in the group."""
        return AT_ALL_TAG

    async def send_message(
        self, message: TextMessage | MediaMessage, recv_id: str = "", group_id: str = ""
    ) -> Message:
        """Send to a user (``recv_id``) or a group (``group_id``); the stored message.
        An @ message goes to a group only. An image or file message uploads its file
        first (OnProgress), then sends; the answer's elem is the server's."""
        await self._ready()
        content_type = message.get("contentType")
        at = message.get("atTextElem") if content_type == AT_TEXT else None
        text_elem = message.get("textElem")
        if content_type in (PICTURE, FILE):
            if bool(recv_id) == bool(group_id):
                raise ValidationFailedError("give exactly one of recvID and groupID")
            return await self._send_media(cast(MediaMessage, message), recv_id, group_id)
        if at is not None:
            if recv_id or not group_id:
                raise ValidationFailedError("an @ message goes to a group (groupID) only")
            body: dict[str, Any] = {
                "clientMsgID": message["clientMsgID"],
                "text": at["text"],
                "atUserIDList": list(at["atUserList"]),
                "atUsersInfo": [dict(item) for item in at["atUsersInfo"]],
            }
        elif text_elem is not None:
            body = {"clientMsgID": message["clientMsgID"], "text": text_elem["content"]}
        else:
            raise ValidationFailedError("message must come from createTextMessage")
        if recv_id:
            body["recvID"] = recv_id
        if group_id:
            body["groupID"] = group_id
        self._state.sending.add(message["clientMsgID"])
        try:
            answer = await self._request(
                "POST", "/api/messages", body, op=(OPS["SEND_MESSAGE"], body)
            )
            sent = cast(Message, answer.get("message"))
            if not isinstance(sent, dict):
                raise ProtocolError("bad send answer: no message")
            await self._replica.apply_answer(answer.get("state"), [sent])
        finally:
            self._state.sending.discard(message["clientMsgID"])
        return sent

    # -- images and files (issue 12) -------------------------------------------------

    async def create_image_message_by_file(
        self, file: FileSource, *, width: int = 0, height: int = 0
    ) -> MediaMessage:
        """An image message (contentType 102) for ``file``, not sent yet: its pictureElem
        holds what the client knows (type and size; width and height if given; uuid and
        url ""). :meth:`send_message` uploads the file (the server checks it is an image)
        and sends it."""
        picture = Picture(
            uuid="", type=file.type, size=file.size, width=width, height=height, url=""
        )
        elem = PictureElem(
            sourcePath="", sourcePicture=picture, bigPicture=picture, snapshotPicture=picture
        )
        return self._hold(file, PICTURE, picture_elem=elem)

    async def create_file_message_by_file(
        self, file: FileSource, *, file_name: str = "", file_type: str = ""
    ) -> MediaMessage:
        """A file message (contentType 105) for ``file``, not sent yet (uuid and
        sourceUrl ""): named ``file_name`` (default: the file's name)."""
        elem = FileElem(
            filePath="",
            uuid="",
            sourceUrl="",
            fileName=checked_name(file_name or file.name or "file"),
            fileSize=file.size,
            fileType=file_type or file.type,
        )
        return self._hold(file, FILE, file_elem=elem)

    def _hold(
        self,
        file: FileSource,
        content_type: int,
        *,
        picture_elem: PictureElem | None = None,
        file_elem: FileElem | None = None,
    ) -> MediaMessage:
        message = MediaMessage(
            clientMsgID=uuid.uuid4().hex,
            sendID=self._session["userID"] if self._session else "",
            contentType=content_type,
            textElem=None,
            atTextElem=None,
            pictureElem=picture_elem,
            fileElem=file_elem,
            createTime=_now_ms(),
        )
        while len(self._pending_files) >= MAX_PENDING_FILES:
            del self._pending_files[next(iter(self._pending_files))]
        self._pending_files[message["clientMsgID"]] = file
        return message

    async def _send_media(self, message: MediaMessage, recv_id: str, group_id: str) -> Message:
        client_msg_id = message["clientMsgID"]
        picture = message["contentType"] == PICTURE
        elem = message.get("pictureElem") if picture else message.get("fileElem")
        if not isinstance(elem, dict):
            raise ValidationFailedError(
                "message must come from createImageMessageByFile or createFileMessageByFile"
            )
        if picture:
            given: Any = cast(dict[str, Any], elem).get("sourcePicture", {}).get("uuid")
        else:
            given = cast(dict[str, Any], elem).get("uuid")
        file_name = "" if picture else str(elem.get("fileName") or "")
        self._state.sending.add(client_msg_id)
        try:
            file_uuid = self._uploaded.get(client_msg_id, "")
            source = self._pending_files.get(client_msg_id)
            if not file_uuid and source is not None:
                kind = "image" if picture else "file"
                uploaded = await self._upload(
                    source, file_name or source.name or "file", kind, progress_of=client_msg_id
                )
                file_uuid = str(uploaded["uuid"])
                self._uploaded[client_msg_id] = file_uuid
            if not file_uuid:
                file_uuid = given if isinstance(given, str) else ""
            if not file_uuid:
                raise ValidationFailedError(
                    "this message's file is not held here: create it with"
                    " createImageMessageByFile or createFileMessageByFile, then send it"
                )
            body: dict[str, Any] = {
                "clientMsgID": client_msg_id,
                "contentType": message["contentType"],
            }
            if picture:
                body["pictureElem"] = {"sourcePicture": {"uuid": file_uuid}}
            else:
                body["fileElem"] = {
                    "uuid": file_uuid,
                    **({"fileName": file_name} if file_name else {}),
                }
            if recv_id:
                body["recvID"] = recv_id
            if group_id:
                body["groupID"] = group_id
            # Over HTTP only: the socket's sendMessage op carries text messages.
            answer = await self._request("POST", "/api/messages", body)
            sent = cast(Message, answer.get("message"))
            if not isinstance(sent, dict):
                raise ProtocolError("bad send answer: no message")
            await self._replica.apply_answer(answer.get("state"), [sent])
        finally:
            self._state.sending.discard(client_msg_id)
        self._pending_files.pop(client_msg_id, None)
        self._uploaded.pop(client_msg_id, None)
        return sent

    async def upload_file(
        self, file: FileSource, name: str = "", kind: str = "", content_type: str = ""
    ) -> dict[str, Any]:
        """Upload a file (OpenIM's uploadFile, simplified): the server's UploadedFile
        ``{uuid, url, fileName, type, size, width, height, thumbnail}``. ``kind`` "image"
        (the server checks it is one, measures it and makes a thumbnail) or "file";
        default: "image" for a PNG, JPEG, GIF or WebP, else "file"."""
        await self._ready()
        chosen = kind or ("image" if declared_type(file, content_type) in RASTER_TYPES else "file")
        if chosen not in ("image", "file"):
            raise ValidationFailedError(f'kind must be "image" or "file", not {kind!r}')
        return await self._upload(
            file, checked_name(name or file.name or "file"), chosen, content_type=content_type
        )

    async def _upload(
        self,
        file: FileSource,
        name: str,
        kind: str,
        *,
        content_type: str = "",
        progress_of: str = "",
    ) -> dict[str, Any]:
        """PUT /api/files: the UploadedFile. With ``progress_of`` (a clientMsgID),
        OnProgress ``{clientMsgID, progress}``: 0, then as the transport reports, 100 once
        stored; never backwards."""
        session = self._session
        if session is None:
            raise NotLoggedInError("not logged in")
        reached = -1

        def progress(percent: int) -> None:
            nonlocal reached
            percent = max(0, min(100, int(percent)))
            if progress_of and percent > reached:
                reached = percent
                self._events.emit("OnProgress", {"clientMsgID": progress_of, "progress": percent})

        progress(0)
        path = "/api/files?" + urlencode({"name": checked_name(name), "kind": kind})
        try:
            answer = await self._transport.upload(
                path, file, declared_type(file, content_type), session["token"], progress
            )
        except AuthError as error:
            if self._session is session:
                await self._expire(error)
            raise
        if not isinstance(answer.get("uuid"), str):
            raise ProtocolError("bad upload answer: no uuid")
        progress(100)
        return answer

    async def get_file(self, url: str) -> Any:
        """The bytes of a file the server gave a URL for (``/api/files/<uuid>``), fetched
        with the token: ``bytes`` under CPython, a ``JsBlob`` in the browser (the page
        makes an object URL of it). 1604 when it is not one this user may fetch."""
        path = file_path(url)
        session = self._session
        if session is None:
            raise NotLoggedInError("not logged in")
        try:
            return await self._transport.download(path, session["token"])
        except AuthError as error:
            if self._session is session:
                await self._expire(error)
            raise

    async def create_group(
        self,
        group_name: str,
        member_user_ids: Sequence[str],
        admin_user_ids: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Create a group that I own (``admin_user_ids``, among the members, are admins).

        Returns OpenIM's GroupItem (``groupID, groupName, ownerUserID, memberCount,
        status, createTime``) plus its ``conversationID``, all from the server's answer.
        """
        await self._ready()
        body: dict[str, Any] = {"groupName": group_name, "memberUserIDs": list(member_user_ids)}
        if admin_user_ids:
            body["adminUserIDs"] = list(admin_user_ids)
        answer = await self._request("POST", "/api/groups", body)
        group_id, conversation_id = _group_ids(answer)
        await self._replica.apply_answer(answer.get("state"), [])
        record = _record_in(answer.get("state"), conversation_id)
        me = self._state.user_id
        return {
            "groupID": group_id,
            "conversationID": conversation_id,
            "groupName": record["showName"] if record else group_name,
            "ownerUserID": me,
            "memberCount": len({me, *member_user_ids}),
            "status": 0,
            "createTime": record["latestMsgSendTime"] if record else 0,
        }

    async def mark_conversation_message_as_read(self, conversation_id: str) -> None:
        """Mark everything read, server first (rule 4).

        Always asks the server, even when the cache shows nothing unread: the cache may
        be the stale one. A failure raises and leaves the cache and the page untouched.
        """
        await self._ready()
        # The version of the record held: a mark-unread flag set after it (on another
        # device, not seen here yet) survives this mark-read (rule 15).
        body = {"version": self._state.version_of(conversation_id)}
        answer = await self._request(
            "POST",
            f"/api/conversations/{_segment(conversation_id)}/read",
            body,
            op=(OPS["MARK_READ"], {"conversationID": conversation_id, **body}),
        )
        await self._replica.apply_answer(answer.get("state"), [])

    async def mark_all_conversation_message_as_read(self) -> None:
        """Every conversation read, in one server transaction (one version, one event).
        Mark-unread flags set after this cache's version (not seen here) survive it."""
        await self._ready()
        meta = self._state.meta
        body = {"version": meta["version"] if meta is not None else 0}
        answer = await self._request("POST", "/api/conversations/read-all", body)
        await self._replica.apply_answer(answer.get("state"), [])

    async def set_conversation_recv_message_opt(self, conversation_id: str, opt: int) -> None:
        """Mute (2, OpenIM's "receive without notification") or unmute (0): a muted
        conversation keeps its unreadCount, out of the total (rule 13). OpenIM's 1 (not
        receive) is refused: it would lose messages."""
        if opt not in RECV_MSG_OPTS.values():
            raise ValidationFailedError(
                "recvMsgOpt 1 (not receive) is not supported: it would lose messages"
                if opt == 1
                else f"recvMsgOpt must be 0 (normal) or 2 (no notification), not {opt!r}"
            )
        await self._settings(conversation_id, {"recvMsgOpt": opt})

    async def pin_conversation(self, conversation_id: str, is_pinned: bool) -> None:
        """Pinned conversations come first in the list, on every device."""
        await self._settings(conversation_id, {"isPinned": bool(is_pinned)})

    async def reset_conversation_group_at_type(self, conversation_id: str) -> None:
        """The unread mentions count as seen: groupAtType and mentionCount become 0."""
        await self._settings(conversation_id, {"groupAtType": 0})

    async def _settings(self, conversation_id: str, body: dict[str, Any]) -> None:
        await self._conversation_change(conversation_id, "settings", body)

    async def mark_conversation_as_unread(self, conversation_id: str) -> None:
        """A flag, never a step back (rules 3, 15): counts 1 in the total while nothing
        is unread, until a later mark-read (from any device). Tidemark's extension."""
        await self._conversation_change(conversation_id, "unread", {})

    async def hide_conversation(self, conversation_id: str) -> None:
        """OpenIM's "delete chat for me": read it, then out of the list until a new
        message arrives in it."""
        await self._conversation_change(conversation_id, "hide", {})

    async def _conversation_change(
        self, conversation_id: str, route: str, body: dict[str, Any]
    ) -> None:
        await self._ready()
        answer = await self._request(
            "POST", f"/api/conversations/{_segment(conversation_id)}/{route}", body
        )
        await self._replica.apply_answer(answer.get("state"), [])

    async def set_conversation_draft(self, conversation_id: str, draft_text: str) -> None:
        """Keep a draft on this device (per user; never sent to the server); "" clears
        it. OnConversationChanged gives the record with its draftText/draftTextTime."""
        await self._ready()
        if not isinstance(draft_text, str):
            raise ValidationFailedError("draftText must be a string")
        await self._replica.save_draft(
            Draft(
                conversationID=conversation_id,
                draftText=draft_text,
                draftTextTime=_now_ms() if draft_text else 0,
            )
        )

    async def revoke_message(self, conversation_id: str, client_msg_id: str) -> Message:
        """Revoke a message: the server makes it a tombstone (same seq) everywhere; the
        tombstone has replaced the cached message (and OnNewRecvMessageRevoked has
        fired, unless a push came first) when this returns it."""
        await self._ready()
        answer = await self._request(
            "POST",
            f"/api/conversations/{_segment(conversation_id)}/revoke",
            {"clientMsgID": client_msg_id},
        )
        tombstone = answer.get("message")
        if not isinstance(tombstone, dict) or not is_tombstone(cast(Message, tombstone)):
            raise ProtocolError("bad revoke answer: no tombstone")
        await self._replica.apply_answer(answer.get("state"), [cast(Message, tombstone)])
        return cast(Message, tombstone)

    async def get_all_conversation_list(self) -> list[ShownConversation]:
        """Every record but the hidden ones, pinned first, then newest activity first;
        each with this device's draft."""
        await self._ready()
        return conversation_list([self._state.shown(r) for r in await self._store.conversations()])

    async def get_conversation_list_split(self, offset: int, count: int) -> list[ShownConversation]:
        return (await self.get_all_conversation_list())[max(0, offset) : max(0, offset) + count]

    async def get_one_conversation(self, source_id: str, session_type: int) -> ShownConversation:
        await self._ready()
        if session_type == SINGLE_CHAT:
            wanted = single_conversation_id(self._state.user_id, source_id)
        elif session_type == GROUP_CHAT:
            wanted = group_conversation_id(source_id)
        else:
            raise ValidationFailedError(f"sessionType must be 1 or 3, not {session_type!r}")
        for record in await self._store.conversations():
            if record["conversationID"] == wanted:
                return self._state.shown(record)  # a hidden one too
        raise ConversationNotFoundError(f"no conversation {wanted!r}")

    async def get_total_unread_msg_count(self) -> int:
        await self._ready()
        # The records this client stored or loaded, as its events reported them: no
        # reading every record back from the store (O(conversations)) for one number.
        return self._state.total

    async def get_advanced_history_message_list(
        self, conversation_id: str, count: int = 20, last_min_seq: int = 0
    ) -> HistoryPage:
        """A page of history below ``last_min_seq`` (0: the newest), oldest first.

        Asks the server and caches what it answers; offline, answers from the cache.
        """
        await self._ready()
        query: dict[str, int] = {"count": count}
        if last_min_seq > 0:
            query["beforeSeq"] = last_min_seq
        path = f"/api/conversations/{_segment(conversation_id)}/messages?{urlencode(query)}"
        try:
            answer = await self._request("GET", path)
        except NetworkError:
            cached = await self._store.messages(conversation_id, last_min_seq or None, count)
            first = cached[0]["seq"] if cached else last_min_seq
            return HistoryPage(messageList=cached, isEnd=first <= 1, lastMinSeq=first)
        try:
            page = list(reversed(cast(list[Message], answer["messages"])))
            is_end = bool(answer["isEnd"])
        except (KeyError, TypeError) as error:
            raise ProtocolError(f"bad history answer: {error!r}") from None
        if page:
            await self._replica.store_history(page)
        first = page[0]["seq"] if page else last_min_seq
        return HistoryPage(messageList=page, isEnd=is_end, lastMinSeq=first)

    # -- search, people and push (issue 12) -----------------------------------------

    async def search_local_messages(
        self,
        keyword_list: Sequence[str],
        conversation_id: str = "",
        keyword_list_match_type: int = 0,
        page_index: int = 1,
        count: int = 20,
    ) -> dict[str, Any]:
        """OpenIM's searchLocalMessages, answered by the server over the whole history
        this user sees (rule 11; never revoked messages): ``{totalCount,
        searchResultItems: [{conversationID, messageCount, conversationType, showName,
        faceURL, messageList (newest first)}]}``. ``keyword_list_match_type`` 0: any
        keyword, 1: all. The results are not cached."""
        await self._ready()
        body: dict[str, Any] = {
            "keywordList": list(keyword_list),
            "keywordListMatchType": keyword_list_match_type,
            "pageIndex": page_index,
            "count": count,
        }
        if conversation_id:
            body["conversationID"] = conversation_id
        answer = await self._request("POST", "/api/messages/search", body)
        if not isinstance(answer.get("totalCount"), int):
            raise ProtocolError("bad search answer: no totalCount")
        _list_in(answer, "searchResultItems")
        return answer

    async def set_self_info(
        self, nickname: str | None = None, face_url: str | None = None
    ) -> PublicUser:
        """Change my nickname and/or avatar (``face_url``: "" none, or the url of an
        image I uploaded); the fields not given stay. The server changes every single
        chat's record of me for the peers; my devices get ``user.updated``:
        OnSelfInfoUpdated (here once, from the answer or the push, whichever is first)."""
        await self._ready()
        body: dict[str, Any] = {}
        if nickname is not None:
            body["nickname"] = nickname
        if face_url is not None:
            body["faceURL"] = face_url
        if not body:
            raise ValidationFailedError("give nickname or faceURL")
        user = _public_user(await self._request("POST", "/api/users/me", body))
        self._profile_changed(user)
        return user

    def _profile_changed(self, user: PublicUser, *, news: bool = True) -> None:
        session = self._session
        if session is None or user["userID"] != session["userID"] or user == self._profile:
            return
        self._profile = user
        # The session's nickname follows (what a restored login answers); the saved
        # session is left alone: another tab may have saved another user's since.
        session["nickname"] = user["nickname"]  # in place: its identity is the login's
        if news:
            self._events.emit("OnSelfInfoUpdated", dict(user))

    async def get_users_info(self, user_ids: Sequence[str]) -> list[PublicUser]:
        """OpenIM's getUsersInfo: the PublicUser of each known ID (unknown ones are left
        out), in the server's order, asked 100 at a time."""
        await self._ready()
        wanted = list(dict.fromkeys(user_ids))
        found: list[PublicUser] = []
        for start in range(0, len(wanted), USERS_BATCH):
            query = urlencode({"userIDs": ",".join(wanted[start : start + USERS_BATCH])})
            found += _list_in(await self._request("GET", f"/api/users?{query}"), "users")
        return found

    async def search_users(self, keyword: str, count: int = 20) -> list[PublicUser]:
        """Users whose ID or nickname starts with ``keyword`` (case-insensitive, exact
        matches first): Tidemark's directory, for starting a chat."""
        await self._ready()
        query = urlencode({"keyword": keyword, "count": count})
        return _list_in(await self._request("GET", f"/api/users/search?{query}"), "users")

    async def get_push_public_key(self) -> str:
        """The server's VAPID public key (base64url): PushManager.subscribe's
        applicationServerKey."""
        await self._ready()
        key = (await self._request("GET", "/api/push/key")).get("publicKey")
        if not isinstance(key, str):
            raise ProtocolError("bad push key answer")
        return key

    async def subscribe_push(
        self, endpoint: str, keys: dict[str, str], previews: bool = False
    ) -> dict[str, Any]:
        """Tie a browser's PushSubscription (``endpoint``, ``keys`` {p256dh, auth}) to
        this session; ``previews``: pushes may carry the message text. ``{endpoint,
        previews}``. The server drops it when this session logs out."""
        await self._ready()
        body = {"endpoint": endpoint, "keys": dict(keys), "previews": bool(previews)}
        return await self._request("POST", "/api/push/subscriptions", body)

    async def unsubscribe_push(self, endpoint: str) -> None:
        await self._ready()
        await self._request("DELETE", "/api/push/subscriptions", {"endpoint": endpoint})

    # -- groups (server first, rule 4: the answer's state, then the events) -----------

    async def get_joined_group_list(self) -> list[GroupItem]:
        """The groups I am a member of now (OpenIM's GroupItem fields Tidemark has)."""
        await self._ready()
        return _list_in(await self._request("GET", "/api/groups"), "groups")

    async def get_specified_groups_info(self, group_ids: Sequence[str]) -> list[GroupItem]:
        """Of these groups, the ones I am or was in (others are not disclosed)."""
        await self._ready()
        if not group_ids:
            return []
        body = {"groupIDList": list(group_ids)}
        return _list_in(await self._request("POST", "/api/groups/info", body), "groups")

    async def get_group_member_list(
        self, group_id: str, filter: int = 0, offset: int = 0, count: int = 100
    ) -> list[GroupMemberItem]:
        """The current members, owner first; ``filter`` is OpenIM's GroupMemberFilter
        (0 all, 1 owner, 2 admins, 3 members, 4 admins and members, 5 owner and admins)."""
        await self._ready()
        query = urlencode({"filter": filter, "offset": offset, "count": count})
        answer = await self._request("GET", f"/api/groups/{_segment(group_id)}/members?{query}")
        return _list_in(answer, "members")

    async def invite_user_to_group(
        self, group_id: str, user_ids: Sequence[str], reason: str = ""
    ) -> None:
        """Add members (owner, admins): they see the group from the invitation's seq on."""
        body = {"userIDList": list(user_ids), "reason": reason}
        await self._group_change("POST", group_id, "/members", body)

    async def kick_group_member(
        self, group_id: str, user_ids: Sequence[str], reason: str = ""
    ) -> None:
        """Remove members (owner; admins remove plain members): read-only for them."""
        body = {"userIDList": list(user_ids), "reason": reason}
        await self._group_change("POST", group_id, "/kick", body)

    async def quit_group(self, group_id: str) -> None:
        """Leave (not the owner): the conversation stays, read-only, adding 0 unread."""
        await self._group_change("POST", group_id, "/quit", {})

    async def dismiss_group(self, group_id: str) -> None:
        """End the group for everyone (owner): it stays, read-only, for every member."""
        await self._group_change("POST", group_id, "/dismiss", {})

    async def transfer_group_owner(self, group_id: str, new_owner_user_id: str) -> None:
        """Make a member the owner (owner); I become a plain member."""
        await self._group_change(
            "POST", group_id, "/transfer", {"newOwnerUserID": new_owner_user_id}
        )

    async def set_group_info(self, group_id: str, group_name: str) -> None:
        """Rename the group (owner, admins)."""
        await self._group_change("PATCH", group_id, "", {"groupName": group_name})

    async def set_group_member_role_level(
        self, group_id: str, user_id: str, role_level: int
    ) -> None:
        """Make a member an admin (60) or a plain member (20) (owner)."""
        if role_level not in (ADMIN_ROLE, MEMBER_ROLE):
            raise ValidationFailedError("roleLevel must be 60 (admin) or 20 (member)")
        body = {"userID": user_id, "roleLevel": role_level}
        await self._group_change("POST", group_id, "/role", body)

    async def _group_change(
        self, method: str, group_id: str, tail: str, body: dict[str, Any]
    ) -> None:
        """A membership change: the server stores it as a notification message (rule
        12) and answers my state; that is written to the store once, then announced —
        the notification too (OnRecvNewMessages), as no one hands it to the page."""
        await self._ready()
        answer = await self._request(method, f"/api/groups/{_segment(group_id)}{tail}", body)
        _, conversation_id = _group_ids(answer)
        record = _record_in(answer.get("state"), conversation_id)
        latest = record["latestMsg"] if record is not None else None
        await self._replica.apply_answer(
            answer.get("state"), [latest] if latest is not None else [], announce=True
        )

    async def get_group_message_reader_list(
        self,
        conversation_id: str,
        *,
        seq: int = 0,
        client_msg_id: str = "",
        filter: int = 0,
        offset: int = 0,
        count: int = 100,
    ) -> list[dict[str, Any]]:
        """The members who have (``filter`` 0) or have not (1) read my group message,
        named by ``seq`` or by ``client_msg_id`` (found in the cache): ``[{groupID,
        userID, nickname, roleLevel}]``, derived from read positions (rule 16)."""
        await self._ready()
        if seq <= 0:
            seq = await self._seq_of(conversation_id, client_msg_id)
        query = urlencode({"seq": seq, "filter": filter, "offset": offset, "count": count})
        path = f"/api/conversations/{_segment(conversation_id)}/readers?{query}"
        return _list_in(await self._request("GET", path), "members")

    async def get_group_message_receipt_counts(
        self, conversation_id: str, seqs: Sequence[int]
    ) -> list[ReceiptCount]:
        """``[{seq, hasReadCount, groupMemberCount}]`` for the group messages at ``seqs``
        (any number: asked 100 at a time), in seq order; seqs I cannot see are left out."""
        await self._ready()
        wanted = sorted({int(seq) for seq in seqs if int(seq) > 0})
        counts: list[ReceiptCount] = []
        for start in range(0, len(wanted), RECEIPT_BATCH):
            batch = ",".join(str(seq) for seq in wanted[start : start + RECEIPT_BATCH])
            path = f"/api/conversations/{_segment(conversation_id)}/receipts?seqs={batch}"
            counts += _list_in(await self._request("GET", path), "receipts")
        return counts

    async def change_input_states(self, conversation_id: str, focus: bool) -> None:
        """Tell the other members I am typing (``focus``) or stopped. Ephemeral (rule
        17): nothing is stored or versioned; the indicator expires on its own."""
        await self._ready()
        body = {"focus": bool(focus)}
        await self._request(
            "POST",
            f"/api/conversations/{_segment(conversation_id)}/typing",
            body,
            op=(OPS["CHANGE_INPUT_STATES"], {"conversationID": conversation_id, **body}),
        )

    async def _seq_of(self, conversation_id: str, client_msg_id: str) -> int:
        """The seq of a message the cache holds, by its clientMsgID."""
        if not client_msg_id:
            raise ValidationFailedError("give the message's seq or clientMsgID")
        before: int | None = None
        while True:
            page = await self._store.messages(conversation_id, before, 200)
            for message in page:
                if message["clientMsgID"] == client_msg_id:
                    return message["seq"]
            if not page or page[0]["seq"] <= 1:
                raise MessageNotFoundError(
                    f"no message {client_msg_id!r} in {conversation_id!r} in the cache:"
                    " give its seq"
                )
            before = page[0]["seq"]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _segment(conversation_id: str) -> str:
    return quote(conversation_id, safe="")


def _group_ids(answer: dict[str, Any]) -> tuple[str, str]:
    group_id, conversation_id = answer.get("groupID"), answer.get("conversationID")
    if not isinstance(group_id, str) or not isinstance(conversation_id, str):
        raise ProtocolError("bad group answer: no groupID or conversationID")
    return group_id, conversation_id


def _record_in(state: Any, conversation_id: str) -> Conversation | None:
    _, _, records = parse_state(state)
    return next((r for r in records if r["conversationID"] == conversation_id), None)


def _public_user(value: Any) -> PublicUser:
    """A PublicUser from an answer or a push: its four fields, checked."""
    if not isinstance(value, dict):
        raise ProtocolError("bad user: not an object")
    fields = {key: value.get(key, "") for key in ("userID", "nickname", "faceURL", "ex")}
    if not all(isinstance(v, str) for v in fields.values()) or not fields["userID"]:
        raise ProtocolError("bad user: userID, nickname, faceURL and ex are strings")
    return cast(PublicUser, fields)


def _list_in(answer: dict[str, Any], key: str) -> list[Any]:
    items = answer.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ProtocolError(f"bad answer: {key} is not a list of objects")
    return items
