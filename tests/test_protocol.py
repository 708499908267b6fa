"""The protocol is described once (wasm_sdk/tidemark_sdk/protocol.json): every copy agrees.

Each test compares one place that uses the protocol with the file, and says how to fix a
difference. The server and the SDK read the file through the same loader
(``server/protocol.py`` is a symlink to ``tidemark_sdk/_protocol.py``).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import typing
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import server.protocol as protocol
from server import events, schemas, ws
from server.errors import ErrorCode
from server.storage import conversations

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "wasm_sdk" / "tidemark_sdk"
PROTOCOL_JSON = SDK_DIR / "protocol.json"
REGENERATE = "run `.venv/bin/python web/build.py --protocol-only` and commit web/protocol.js"


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tidemark_web_build", ROOT / "web" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- one file, one loader ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_path", "sdk_path"),
    [("server/protocol.json", "protocol.json"), ("server/protocol.py", "_protocol.py")],
)
def test_server_reads_the_sdk_file(server_path: str, sdk_path: str) -> None:
    server_file, sdk_file = ROOT / server_path, SDK_DIR / sdk_path
    target = f"../wasm_sdk/tidemark_sdk/{sdk_path}"
    assert server_file.is_symlink(), (
        f"{server_path} must be a symlink: ln -sf {target} {server_path}"
    )
    assert server_file.resolve() == sdk_file.resolve(), f"{server_path} must point at {target}"
    assert server_file.read_bytes() == sdk_file.read_bytes()


def test_the_server_loader_reads_the_sdk_file() -> None:
    assert Path(protocol.__file__).resolve() == (SDK_DIR / "_protocol.py").resolve()
    assert json.loads(PROTOCOL_JSON.read_text("utf-8")) == protocol.PROTOCOL


def test_names_and_codes_are_unique() -> None:
    """A name or code listed twice would shadow the other in every dict built from it."""
    data = protocol.PROTOCOL
    lists = {
        "errors": data["errors"]["server"] + data["errors"]["client"],
        "sdkEvents": data["sdkEvents"],
        "serverEvents": data["serverEvents"],
        "frames": data["frames"],
        "ops": data["ops"],
        "closeCodes": data["closeCodes"],
        "contentTypes": data["contentTypes"],
        "sessionTypes": data["sessionTypes"],
    }
    for section, entries in lists.items():
        names = [entry["name"] for entry in entries]
        assert len(names) == len(set(names)), f"protocol.json {section}: a name is listed twice"
        for key in ("code", "type", "op"):
            values = [entry[key] for entry in entries if key in entry]
            assert len(values) == len(set(values)), f"protocol.json {section}: a {key} twice"
    assert all(code < 10000 for code in protocol.SERVER_ERROR_CODES.values()), (
        "server codes are 1xxx: move 10xxx codes to errors.client in protocol.json"
    )
    assert all(code >= 10000 for code in protocol.CLIENT_ERROR_CODES.values()), (
        "the SDK's own codes are 10xxx: move others to errors.server in protocol.json"
    )


def test_record_field_types_are_known() -> None:
    """Every field type is a base type or a record listed before its use (the server builds
    its pydantic models in file order)."""
    seen: set[str] = set()
    for name, record in protocol.PROTOCOL["records"].items():
        for field, spec in record["fields"].items():
            kind = spec["type"].removesuffix("[]")
            assert kind in schemas._FIELD_TYPES or kind in seen, (
                f"protocol.json records.{name}.{field}: type {kind!r} is neither a base type"
                f" ({', '.join(schemas._FIELD_TYPES)}) nor a record listed before {name}"
            )
        seen.add(name)


def test_content_types_name_their_message_field() -> None:
    for content in protocol.PROTOCOL["contentTypes"]:
        elem, record = content["elem"], content["record"]
        assert elem in protocol.MESSAGE_FIELDS, (
            f"content type {content['name']}: add a {elem!r} field to records.Message"
        )
        assert protocol.PROTOCOL["records"]["Message"]["fields"][elem]["type"] == record, (
            f"records.Message.{elem} must be of type {record!r} (the content type's record)"
        )


# --- server ------------------------------------------------------------------------------


def test_server_error_codes_match() -> None:
    assert {code.name: int(code) for code in ErrorCode} == protocol.SERVER_ERROR_CODES, (
        "server/errors.py ErrorCode must have one member per errors.server entry of"
        " protocol.json (values come from the file)"
    )
    assert {code.name: code.http_status for code in ErrorCode} == protocol.HTTP_STATUS


def test_readme_error_table_matches() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    rows = re.findall(r"^\| (\d{4,5}) \| `([A-Z_]+)`[^|]*\| (\d{3}) \|$", readme, re.M)
    table = {name: (int(code), int(http)) for code, name, http in rows}
    expected = {
        name: (code, protocol.HTTP_STATUS[name])
        for name, code in protocol.SERVER_ERROR_CODES.items()
    }
    assert table == expected, "README.md's error table must list protocol.json's errors.server"


def test_server_event_models_match() -> None:
    models = {model.TYPE: list(model.model_fields) for model in events.EVENT_MODELS}
    expected = {kind: list(fields) for kind, fields in protocol.SERVER_EVENTS.items()}
    assert models == expected, (
        "server/events.py: give each serverEvents entry of protocol.json one model in"
        " EVENT_MODELS, with exactly its fields in its order"
    )


def test_server_event_builders_match() -> None:
    """Each serverEvents type has its builder in server/events.py, named after the type
    (``message.new`` → ``message_new``), giving exactly the declared fields."""
    record = {"conversationID": "si_a_b"}
    state = {"version": 1, "epoch": "e", "totalUnreadCount": 0, "conversations": [record]}
    samples = {
        "state": state,
        "message": {},
        "reader_id": "a",
        "has_read_seq": 1,
        "conversation_id": "sg_g",
        "positions": {"a": 1},
        "user_id": "a",
        "focus": True,
        "user": {"userID": "a", "nickname": "A", "faceURL": "", "ex": ""},
    }
    built = {}
    for kind, fields in protocol.SERVER_EVENTS.items():
        builder = getattr(events, kind.replace(".", "_"), None)
        assert builder is not None, f"server/events.py needs a builder {kind.replace('.', '_')}()"
        arguments = [samples[name] for name in inspect.signature(builder).parameters]
        built[kind] = list(builder(*arguments))
        assert built[kind] == list(fields), (
            f"server/events.py: {builder.__name__} must give exactly the fields of {kind!r}"
        )


def test_server_record_models_match() -> None:
    models = {name: tuple(model.model_fields) for name, model in schemas.RECORD_MODELS.items()}
    assert models == protocol.RECORDS
    for name in ("TextElem", "Message", "Conversation", "Receipt"):
        assert getattr(schemas, name) is schemas.RECORD_MODELS[name], (
            f"server/schemas.py {name} must be the model built from protocol.json"
        )


def test_storage_records_match() -> None:
    row = SimpleNamespace(
        conversation_id="sg_g1",
        conversation_type=protocol.SESSION_TYPES["GROUP"],
        group_id="g1",
        group_name="G",
        peer_id=None,
        peer_nickname=None,
        peer_face_url=None,
        join_seq=0,
        seq=1,
        server_msg_id="m1",
        client_msg_id="c1",
        sender_id="a",
        content_type=protocol.CONTENT_TYPES["TEXT"],
        content="hi",
        send_time=5,
        left_seq=None,
        created_at=1,
        max_seq=1,
        has_read_seq=0,
        peer_has_read_seq=0,
        version=3,
        recv_msg_opt=0,
        is_pinned=False,
        group_at_type=0,
        mention_count=0,
        marked_unread_version=None,
        hidden_seq=None,
    )
    record = conversations._record(row)
    assert tuple(record) == protocol.CONVERSATION_FIELDS, (
        "server/storage/conversations.py _record must give records.Conversation's fields"
    )
    assert tuple(record["latestMsg"]) == protocol.MESSAGE_FIELDS, (
        "server/storage/conversations.py message_record must give records.Message's fields"
    )
    schemas.Conversation.model_validate(record)


def test_socket_frames_ops_and_close_codes_match() -> None:
    assert set(ws.REQUESTS) == set(protocol.OPS.values()), (
        "server/ws.py REQUESTS must handle exactly protocol.json's ops"
    )
    assert {ws.AUTH, ws.PING, ws.REQUEST} == protocol.CLIENT_FRAMES
    assert {ws.HELLO, ws.PONG, ws.RESPONSE, ws.ERROR} == protocol.SERVER_FRAMES
    closes = {ws.CLOSE_BAD_FRAME, ws.CLOSE_UNAUTHORIZED, ws.CLOSE_IDLE, ws.CLOSE_POLICY}
    assert closes <= set(protocol.CLOSE_CODES.values())


# --- SDK ---------------------------------------------------------------------------------


def test_sdk_error_classes_match() -> None:
    from tidemark_sdk._errors import SdkError, error_from_code

    for name, code in protocol.ERROR_CODES.items():
        error = error_from_code(code, "message")
        assert isinstance(error, SdkError) and error.err_code == code
        assert type(error).code == code, (
            f"tidemark_sdk/_errors.py: {name} ({code}) has no SdkError subclass of its own:"
            f" add one whose code is ERROR_CODES[{name!r}] and list it in error_from_code's map"
        )


def test_sdk_error_code_enum_matches() -> None:
    import tidemark_sdk

    members = {code.name: int(code) for code in tidemark_sdk.ErrorCode}
    assert members == protocol.ERROR_CODES, (
        "tidemark_sdk.ErrorCode must list protocol.json's codes: build it from ERROR_CODES"
    )


def test_sdk_events_match() -> None:
    import tidemark_sdk

    assert set(tidemark_sdk.EVENTS) == set(protocol.SDK_EVENTS), (
        "tidemark_sdk.EVENTS must be protocol.json's sdkEvents: take them from SDK_EVENTS"
    )


@pytest.mark.parametrize("name", ["TextElem", "Message", "Conversation", "Receipt"])
def test_sdk_record_types_match(name: str) -> None:
    from tidemark_sdk import _models

    typed_dict: Any = getattr(_models, name)
    assert tuple(typing.get_type_hints(typed_dict)) == protocol.RECORDS[name], (
        f"tidemark_sdk/_models.py {name} must have records.{name}'s fields of protocol.json,"
        " in its order"
    )


# --- page --------------------------------------------------------------------------------


def test_web_protocol_js_is_current() -> None:
    build = _load_build()
    expected = build.render_protocol_js(json.loads(PROTOCOL_JSON.read_text("utf-8")))
    assert (ROOT / "web" / "protocol.js").read_text("utf-8") == expected, (
        f"web/protocol.js is not what protocol.json gives now: {REGENERATE}"
    )


def test_web_protocol_js_header_lists_its_exports() -> None:
    text = (ROOT / "web" / "protocol.js").read_text("utf-8")
    header = text.split("\n\n", 1)[0]
    for name in re.findall(r"^export const (\w+) =", text, re.M):
        assert re.search(rf"^//   {name}\b", header, re.M), (
            f"web/protocol.js exports {name}: describe it in PROTOCOL_JS_HEADER (web/build.py)"
        )


def test_page_scripts_hold_no_copies() -> None:
    """The hand-written page scripts take codes and event names from protocol.js."""
    for name in ("imsdk.js",):
        source = (ROOT / "web" / name).read_text("utf-8")
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
        assert 'from "./protocol.js"' in code, f"web/{name} must import ./protocol.js"
        for event in protocol.SDK_EVENTS:
            assert f'"{event}"' not in code, f'web/{name}: use SdkEvent.{event}, not "{event}"'
        for error, number in protocol.ERROR_CODES.items():
            assert not re.search(rf"errCode: {number}\b", code), (
                f"web/{name}: use ErrorCode.{error}, not {number}"
            )
