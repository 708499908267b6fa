"""The protocol's constants, loaded from ``protocol.json`` next to this module.

``protocol.json`` is the one description of Tidemark's protocol: the server loads the
same file (``server/protocol.json`` and ``server/protocol.py`` are symlinks to this
package's), ``web/build.py`` generates the page's ``web/protocol.js`` from it, and
``tests/test_protocol.py`` fails when a copy drifts. This module only reads it (stdlib
only, no ``js``: it runs in CPython, in Pyodide from inside the wheel, and on the server).

Names (all read-only; dicts keep the file's order):

``PROTOCOL``
    the parsed file, for anything below does not cover (descriptions, field types).
``ERROR_CODES: dict[str, int]``
    every error code by name: the server's (1xxx) and the SDK's own (10xxx).
``SERVER_ERROR_CODES``, ``CLIENT_ERROR_CODES: dict[str, int]``
    the two halves of ``ERROR_CODES``.
``HTTP_STATUS: dict[str, int]``
    the HTTP status of each server code, by name.
``ERROR_DESCRIPTIONS: dict[str, str]``
    a short description of each code, by name.
``SDK_EVENTS: tuple[str, ...]``
    the SDK's OpenIM event names (``OnConnecting`` … ``OnRecvC2CReadReceipt``).
``SDK_ERROR_EVENTS: frozenset[str]``
    the events whose data carries ``errCode``/``errMsg`` (``OnConnectFailed`` …).
``SERVER_EVENTS: dict[str, tuple[str, ...]]``
    each pushed event's ``type`` (``"message.new"`` …) and its fields (``type`` included).
``SERVER_EVENT_TYPES: dict[str, str]``
    event name → type: ``{"MESSAGE_NEW": "message.new", …}``.
``FRAMES: dict[str, str]``
    WebSocket frame name → ``type``: ``{"AUTH": "auth", "PING": "ping", …}``.
``CLIENT_FRAMES``, ``SERVER_FRAMES: frozenset[str]``
    the frame types each side sends (pushed events come besides ``SERVER_FRAMES``).
``FRAME_FIELDS: dict[str, tuple[str, ...]]``
    frame type → its fields.
``OPS: dict[str, str]``
    request op name → op: ``{"SEND_MESSAGE": "sendMessage", "MARK_READ": "markRead"}``.
``CLOSE_CODES: dict[str, int]``
    WebSocket close codes by name (``BAD_FRAME`` 4400, ``UNAUTHORIZED`` 4401, ``IDLE`` 4408,
    ``POLICY`` 1008, ``TOO_BIG`` 1009, ``GOING_AWAY`` 1001).
``CONTENT_TYPES: dict[str, int]``
    message content types by name (``TEXT`` 101).
``CONTENT_ELEMS: dict[int, str]``
    content type → the message field holding its content (101 → ``"textElem"``).
``SESSION_TYPES: dict[str, int]``
    ``SINGLE`` 1, ``GROUP`` 3 (a message's ``sessionType``, a conversation's type).
``AT_ALL_TAG``, ``RECV_MSG_OPTS``, ``GROUP_AT_TYPES``
    the protocol's constants: OpenIM's "AtAllTag", the recvMsgOpt and groupAtType values.
``RECORDS: dict[str, tuple[str, ...]]``
    record name (``Message``, ``Conversation``, ``Receipt``, ``TextElem`` …) → its fields.
``MESSAGE_FIELDS``, ``CONVERSATION_FIELDS: tuple[str, ...]``
    ``RECORDS["Message"]`` and ``RECORDS["Conversation"]``.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

PROTOCOL: dict[str, Any] = json.loads(
    files(__name__).joinpath("protocol.json").read_text(encoding="utf-8")
)


def _by_name(entries: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {entry["name"]: entry[key] for entry in entries}


_SERVER_ERRORS: list[dict[str, Any]] = PROTOCOL["errors"]["server"]
_CLIENT_ERRORS: list[dict[str, Any]] = PROTOCOL["errors"]["client"]

SERVER_ERROR_CODES: dict[str, int] = _by_name(_SERVER_ERRORS, "code")
CLIENT_ERROR_CODES: dict[str, int] = _by_name(_CLIENT_ERRORS, "code")
ERROR_CODES: dict[str, int] = {**SERVER_ERROR_CODES, **CLIENT_ERROR_CODES}
HTTP_STATUS: dict[str, int] = _by_name(_SERVER_ERRORS, "http")
ERROR_DESCRIPTIONS: dict[str, str] = _by_name(_SERVER_ERRORS + _CLIENT_ERRORS, "description")

SDK_EVENTS: tuple[str, ...] = tuple(event["name"] for event in PROTOCOL["sdkEvents"])
SDK_ERROR_EVENTS: frozenset[str] = frozenset(
    event["name"] for event in PROTOCOL["sdkEvents"] if event.get("error")
)

SERVER_EVENT_TYPES: dict[str, str] = _by_name(PROTOCOL["serverEvents"], "type")
SERVER_EVENTS: dict[str, tuple[str, ...]] = {
    event["type"]: tuple(event["fields"]) for event in PROTOCOL["serverEvents"]
}

FRAMES: dict[str, str] = _by_name(PROTOCOL["frames"], "type")
FRAME_FIELDS: dict[str, tuple[str, ...]] = {
    frame["type"]: tuple(frame["fields"]) for frame in PROTOCOL["frames"]
}
CLIENT_FRAMES: frozenset[str] = frozenset(
    frame["type"] for frame in PROTOCOL["frames"] if frame["from"] == "client"
)
SERVER_FRAMES: frozenset[str] = frozenset(
    frame["type"] for frame in PROTOCOL["frames"] if frame["from"] == "server"
)
OPS: dict[str, str] = _by_name(PROTOCOL["ops"], "op")
CLOSE_CODES: dict[str, int] = _by_name(PROTOCOL["closeCodes"], "code")

CONTENT_TYPES: dict[str, int] = _by_name(PROTOCOL["contentTypes"], "code")
CONTENT_ELEMS: dict[int, str] = {
    content["code"]: content["elem"] for content in PROTOCOL["contentTypes"]
}
SESSION_TYPES: dict[str, int] = _by_name(PROTOCOL["sessionTypes"], "code")

_CONSTANTS: dict[str, Any] = {name: c["value"] for name, c in PROTOCOL["constants"].items()}
AT_ALL_TAG: str = _CONSTANTS["AT_ALL_TAG"]
RECV_MSG_OPTS: dict[str, int] = _CONSTANTS["RECV_MSG_OPTS"]
GROUP_AT_TYPES: dict[str, int] = _CONSTANTS["GROUP_AT_TYPES"]

RECORDS: dict[str, tuple[str, ...]] = {
    name: tuple(record["fields"]) for name, record in PROTOCOL["records"].items()
}
MESSAGE_FIELDS: tuple[str, ...] = RECORDS["Message"]
CONVERSATION_FIELDS: tuple[str, ...] = RECORDS["Conversation"]
