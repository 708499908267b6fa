from __future__ import annotations

from server.api import OPERATIONS


def test_openapi_describes_every_operation(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for op in OPERATIONS:
        described = document["paths"][op.path][op.method]
        assert str(op.status) in described["responses"]
        if op.body is not None:
            ref = described["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in document["components"]["schemas"]
    send = document["components"]["schemas"]["SendMessageRequest"]
    assert send["additionalProperties"] is False
    assert send["properties"]["text"]["maxLength"] == 4000
    assert {"atUserIDList", "atUsersInfo"} <= set(send["properties"])


def test_issue_11_operations_are_described(client):
    document = client.get("/api/openapi.json").get_json()
    paths = document["paths"]
    for path in ("settings", "unread", "hide", "revoke"):
        assert "post" in paths[f"/api/conversations/{{conversation_id}}/{path}"]
    assert "post" in paths["/api/conversations/read-all"]
    schemas = document["components"]["schemas"]
    assert set(schemas["SettingsRequest"]["properties"]) == {
        "recvMsgOpt",
        "isPinned",
        "groupAtType",
    }
    assert "version" in schemas["MarkReadRequest"]["properties"]
    assert "revokedMessages" in schemas["SyncResponse"]["required"]
    assert "message" in schemas["RevokeResponse"]["required"]
    conversation = schemas["Conversation"]["properties"]
    for field in ("recvMsgOpt", "isPinned", "groupAtType", "mentionCount", "isMarkedUnread"):
        assert field in conversation


def test_every_reference_resolves(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].rsplit("/", 1)[1] in schemas, node["$ref"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
