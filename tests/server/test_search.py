"""Message search (``POST /api/messages/search``): what is found, by whom (rule 11 windows),
paging, revocations, hostile keywords; the index objects of each engine."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from server.protocol import CONTENT_TYPES
from server.storage import Database
from server.storage import conversations as conversation_store
from server.storage import messages as message_store

FILE = CONTENT_TYPES["FILE"]


def search(user, *keywords, expect=200, **options):
    body = {"keywordList": list(keywords), **options}
    return user.call("POST", "/api/messages/search", body, expect)


def found(user, *keywords, **options) -> list[tuple[str, str]]:
    """(conversationID, text) of every hit on the page, in the answer's order."""
    answer = search(user, *keywords, **options)
    return [
        (item["conversationID"], _text(m))
        for item in answer["searchResultItems"]
        for m in item["messageList"]
    ]


def _text(message) -> str:
    for elem, key in (("textElem", "content"), ("atTextElem", "text"), ("fileElem", "fileName")):
        if message[elem] is not None:
            return message[elem][key]
    raise AssertionError(message)


def order_of(hits, cid) -> int:
    return [c for c, _ in hits].index(cid)


def _cid(a, b) -> str:
    return conversation_store.single_conversation_id(a.user_id, b.user_id)


@pytest.fixture
def pair(make_user):
    ann, bob = make_user(), make_user()
    return ann, bob, _cid(ann, bob)


# --- What is found -------------------------------------------------------------------------


def test_a_word_is_found_whole_and_by_its_prefix_in_any_case(pair):
    ann, bob, cid = pair
    ann.send("The Quarterly report is ready", to=bob.user_id)
    ann.send("lunch?", to=bob.user_id)
    for keyword in ("report", "REPORT", "rep", "quart", "Quarterly report", "quarterly rep"):
        assert found(bob, keyword) == [(cid, "The Quarterly report is ready")], keyword
    # Only a word's start: no infix; a phrase keeps its order.
    for keyword in ("port", "report quarterly", "eport"):
        assert found(bob, keyword) == [], keyword
    assert found(ann, "lunch") == [(cid, "lunch?")]  # the sender finds their own too


def test_any_keyword_or_all_of_them(pair):
    ann, bob, cid = pair
    for line in ("apples and pears", "apples only", "pears only", "plums"):
        ann.send(line, to=bob.user_id)
    assert {t for _, t in found(bob, "apples", "pears")} == {
        "apples and pears",
        "apples only",
        "pears only",
    }
    assert found(bob, "apples", "pears", keywordListMatchType=0) == found(bob, "apples", "pears")
    assert found(bob, "apples", "pears", keywordListMatchType=1) == [(cid, "apples and pears")]
    assert found(bob, "apples", "zzz", keywordListMatchType=1) == []


def test_unicode_words_are_found(pair):
    ann, bob, cid = pair
    ann.send("東京タワー を見に行く", to=bob.user_id)
    ann.send("Grüße aus Köln", to=bob.user_id)
    assert found(bob, "東京") == [(cid, "東京タワー を見に行く")]
    assert found(bob, "köln") == [(cid, "Grüße aus Köln")]
    assert found(bob, "GRÜSSE") == []  # case folding, not German ß expansion


def test_diacritics_are_folded_on_sqlite_only(pair, database_url):
    ann, bob, cid = pair
    ann.send("un café crème", to=bob.user_id)
    assert found(bob, "café") == [(cid, "un café crème")]
    # FTS5's unicode61 remove_diacritics; PostgreSQL's 'simple' configuration keeps them.
    expected = [(cid, "un café crème")] if database_url.startswith("sqlite") else []
    assert found(bob, "cafe creme") == expected


def test_at_messages_are_found_by_their_text_only(make_user):
    ann, bob = make_user(), make_user()
    group = ann.group(bob.user_id)
    ann.send("budget meeting at noon", group=group["groupID"], at=[bob.user_id])
    assert found(bob, "budget") == [(group["conversationID"], "budget meeting at noon")]
    # Not by the JSON the elem is stored as.
    for keyword in ("atUserList", "atUsersInfo", "text", bob.user_id):
        assert found(bob, keyword) == [], keyword


def _store_file_message(db: Database, sender, cid: str, file_name: str) -> None:
    """A 105 message as the files helper stores it: its fileElem as JSON."""
    elem = {
        "filePath": "",
        "uuid": "ab" * 32,
        "sourceUrl": "/api/files/" + "ab" * 32,
        "fileName": file_name,
        "fileSize": 1234,
        "fileType": "application/pdf",
    }
    with db.write() as tx:
        seq = conversation_store.next_seq(tx.conn, cid)
        message_store.insert_message(
            tx.conn,
            conversation_id=cid,
            seq=seq,
            server_msg_id=uuid.uuid4().hex,
            client_msg_id=uuid.uuid4().hex,
            sender_id=sender.user_id,
            content=json.dumps(elem),
            send_time=1,
            content_type=FILE,
        )


def test_files_are_found_by_their_name(pair, app):
    ann, bob, cid = pair
    ann.send("here it comes", to=bob.user_id)
    _store_file_message(app.extensions["tidemark"].db, ann, cid, "Budget_2024-final.pdf")
    answer = search(bob, "budget")
    (item,) = answer["searchResultItems"]
    (message,) = item["messageList"]
    assert message["contentType"] == FILE
    assert message["fileElem"]["fileName"] == "Budget_2024-final.pdf"
    for keyword in ("2024", "final", "pdf", "budget 2024 final pdf"):
        assert found(bob, keyword) == [(cid, "Budget_2024-final.pdf")], keyword
    for keyword in ("application", "sourceUrl", "abab"):  # the rest of the elem is not text
        assert found(bob, keyword) == [], keyword


def test_notifications_are_not_found(make_user):
    ann, bob = make_user(), make_user()
    group = ann.group(bob.user_id, name="zebra crossing")
    ann.call("PATCH", f"/api/groups/{group['groupID']}", {"groupName": "okapi herd"})
    for keyword in ("zebra", "okapi", "groupName", ann.user_id):
        assert found(bob, keyword) == [], keyword


def test_a_revoked_message_is_never_found(pair, database_url):
    ann, bob, cid = pair
    kept = ann.send("secret plan B", to=bob.user_id)["message"]
    gone = ann.send("secret plan A", to=bob.user_id)["message"]
    assert len(found(bob, "secret")) == 2
    ann.revoke(cid, gone["clientMsgID"])
    for user in (ann, bob):
        assert found(user, "secret") == [(cid, "secret plan B")]
        assert found(user, "plan A") == []
    assert search(bob, "secret")["totalCount"] == 1
    # Nor by the tombstone's own JSON (revoker, nicknames…).
    assert found(bob, "revokerID") == [] and found(bob, ann.user_id) == []
    db = Database(database_url)
    with db.read() as conn:
        if db.is_sqlite:
            # The words are gone from the index itself, not only filtered out.
            rows = conn.execute(
                text("SELECT rowid FROM message_search WHERE message_search MATCH '\"a\"'")
            ).all()
            assert rows == []
            docs = conn.execute(text("SELECT seq FROM message_search_docs")).scalars().all()
            assert docs == [kept["seq"]]
    db.dispose()


# --- Whose messages ------------------------------------------------------------------------


def test_only_the_callers_conversations_and_windows(make_user):
    ann, bob, cat, eve = (make_user() for _ in range(4))
    group = ann.group(bob.user_id)
    gid, cid = group["groupID"], group["conversationID"]
    ann.send("kiwi one: before cat", group=gid)
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [cat.user_id]})
    ann.send("kiwi two: cat is in", group=gid)
    cat.send("kiwi three: cat says", group=gid)
    ann.call("POST", f"/api/groups/{gid}/kick", {"userIDList": [cat.user_id]})
    ann.send("kiwi four: after cat", group=gid)
    ann.send("kiwi private", to=bob.user_id)
    everything = {
        "kiwi one: before cat",
        "kiwi two: cat is in",
        "kiwi three: cat says",
        "kiwi four: after cat",
    }
    assert {t for c, t in found(bob, "kiwi") if c == cid} == everything
    assert found(cat, "kiwi") == [(cid, "kiwi three: cat says"), (cid, "kiwi two: cat is in")]
    assert found(eve, "kiwi") == []
    # Back in: a new window, from the rejoin on (as history shows it).
    ann.call("POST", f"/api/groups/{gid}/members", {"userIDList": [cat.user_id]})
    ann.send("kiwi five: cat is back", group=gid)
    assert found(cat, "kiwi") == [(cid, "kiwi five: cat is back")]
    history = cat.call("GET", f"/api/conversations/{cid}/messages")["messages"]
    assert [m["textElem"]["content"] for m in history if m["textElem"]] == [
        "kiwi five: cat is back"
    ]


def test_one_conversation(make_user):
    ann, bob, cat = (make_user() for _ in range(3))
    ann.send("mango with bob", to=bob.user_id)
    ann.send("mango with cat", to=cat.user_id)
    assert len(found(ann, "mango")) == 2
    assert found(ann, "mango", conversationID=_cid(ann, cat)) == [
        (_cid(ann, cat), "mango with cat")
    ]
    # Another pair's chat answers as an unknown one does: not found, nothing disclosed.
    for cid in (_cid(bob, cat), "si_nobody_else", "sg_unknown"):
        answer = search(bob, "mango", conversationID=cid, expect=404)
        assert answer["error"] == "CONVERSATION_NOT_FOUND"


def test_pages_newest_first_with_the_counts_of_all_pages(make_user):
    ann, bob, cat = (make_user() for _ in range(3))
    sent = []
    for i in range(25):
        peer = bob if i % 3 else cat
        ann.send(f"note {i:02d}", to=peer.user_id)
        sent.append((_cid(ann, peer), f"note {i:02d}"))
    newest_first = sent[::-1]
    pages = [search(ann, "note", pageIndex=p, count=10) for p in (1, 2, 3, 4)]
    assert [p["totalCount"] for p in pages] == [25] * 4
    hits = [
        [
            (item["conversationID"], _text(m))
            for item in p["searchResultItems"]
            for m in item["messageList"]
        ]
        for p in pages
    ]
    assert [len(h) for h in hits] == [10, 10, 5, 0]
    # Within a page, grouped by conversation, the conversation of the newest match first.
    for page, got in zip(pages, hits, strict=True):
        order = list(dict.fromkeys(c for c, _ in newest_first if (c, _) in got))
        assert [i["conversationID"] for i in page["searchResultItems"]] == order
        for item in page["searchResultItems"]:
            assert item["messageCount"] == sum(1 for c, _ in sent if c == item["conversationID"])
    assert sorted(hit for page in hits for hit in page) == sorted(sent)
    # Each item's messages newest first; page 1 of 5 holds the 5 newest.
    top = found(ann, "note", count=5)
    assert sorted(top) == sorted(newest_first[:5])
    assert top == sorted(top, key=lambda hit: (order_of(top, hit[0]), newest_first.index(hit)))
    (bob_item,) = search(bob, "note", count=1)["searchResultItems"]
    assert (bob_item["conversationType"], bob_item["showName"]) == (1, ann.user_id.title())
    assert bob_item["faceURL"] == ""


# --- Hostile and invalid input -------------------------------------------------------------

HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "note*",
    "-note",
    "note -x",
    "NOT note",
    "note OR",
    "OR",
    "AND",
    "NEAR",
    "NEAR(note plan)",
    "note NEAR/2 plan",
    "(note",
    "note)",
    "()",
    "body:note",
    "message_search:note",
    "{body} : note",
    "^note",
    "note + plan",
    "'",
    "it's",
    "\\",
    "a\\'b",
    "note:*",
    "note & plan",
    "note | plan",
    "!note",
    "note <-> plan",
    "note <2> plan",
    ":*",
    "%",
    "_",
    "note%",
    "😀",
    "²",
    "x²",
    "Ⅻ",
    "٣٤",
    "e\u0301",
    "note 😀",
    "\u200b",
    "\u0301",
    "\uff4e\uff4f\uff54\uff45",  # fullwidth "note"
    "x" * 100,
    " ".join(["a"] * 50),
]


@pytest.mark.parametrize("keyword", HOSTILE)
def test_hostile_keywords_are_words_or_a_clear_refusal(pair, keyword):
    ann, bob, _ = pair
    ann.send('say "note" OR plan NEAR me (it\'s) * - now', to=bob.user_id)
    for match_type in (0, 1):
        body = {"keywordList": [keyword], "keywordListMatchType": match_type}
        response = bob.client.post("/api/messages/search", json=body, headers=bob.headers)
        assert response.status_code in (200, 400), response.get_json()
        if response.status_code == 400:
            assert response.get_json()["error"] == "VALIDATION_FAILED"
        body["keywordList"] = [keyword, "note"]
        response = bob.client.post("/api/messages/search", json=body, headers=bob.headers)
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("keyword", ["OR", "NEAR", "AND", "NOT"])
def test_operator_words_are_plain_words(pair, keyword):
    ann, bob, cid = pair
    ann.send(f"this {keyword.lower()} that", to=bob.user_id)
    ann.send("quiet here", to=bob.user_id)
    assert found(bob, keyword) == [(cid, f"this {keyword.lower()} that")]


def test_punctuation_only_keywords_are_refused_clearly(pair):
    _, bob, _ = pair
    answer = search(bob, "***", "--", expect=400)
    assert answer["error"] == "VALIDATION_FAILED" and "letter or digit" in answer["errMsg"]
    assert search(bob, "***", "ok")["totalCount"] == 0  # ignored beside a real keyword


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"keywordList": []},
        {"keywordList": ["a"] * 6},
        {"keywordList": [""]},
        {"keywordList": ["x" * 101]},
        {"keywordList": [1]},
        {"keywordList": "note"},
        {"keywordList": ["a"], "count": 0},
        {"keywordList": ["a"], "count": 101},
        {"keywordList": ["a"], "count": "10"},
        {"keywordList": ["a"], "pageIndex": 0},
        {"keywordList": ["a"], "pageIndex": 10**12},
        {"keywordList": ["a"], "keywordListMatchType": 2},
        {"keywordList": ["a"], "conversationID": ""},
        {"keywordList": ["a"], "conversationID": "x" * 81},
        {"keywordList": ["a"], "extra": 1},
        {"keywordList": ["a\u0000b"]},
    ],
)
def test_invalid_requests_are_refused(pair, body):
    _, bob, _ = pair
    response = bob.client.post("/api/messages/search", json=body, headers=bob.headers)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "VALIDATION_FAILED"


def test_anonymous_is_refused(client):
    response = client.post("/api/messages/search", json={"keywordList": ["a"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "UNAUTHORIZED"


def test_a_far_page_is_empty(pair):
    ann, bob, _ = pair
    ann.send("needle", to=bob.user_id)
    answer = search(bob, "needle", pageIndex=1_000_000, count=100)
    assert answer == {"totalCount": 1, "searchResultItems": []}


# --- The index ---------------------------------------------------------------------------


def test_the_engines_search_objects_exist(database_url):
    db = Database(database_url)
    db.migrate()
    with db.read() as conn:
        if db.is_sqlite:
            names = set(
                conn.execute(text("SELECT type || ' ' || name FROM sqlite_master")).scalars()
            )
            assert {
                "table message_search",
                "table message_search_docs",
                "trigger message_search_insert",
                "trigger message_search_update",
                "trigger message_search_delete",
            } <= names
            definition = conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'message_search'")
            )
            assert "fts5" in definition and "remove_diacritics" in definition
        else:
            definition = conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_search'")
            )
            assert definition is not None and "gin" in definition
            assert "to_tsvector('simple'" in definition
    db.dispose()


@pytest.mark.postgres
def test_postgres_searches_through_the_index(postgres_url):
    """The query's expression is the index's (else PostgreSQL reads every message)."""
    from server.storage import search as search_store

    db = Database(postgres_url)
    db.migrate()
    with db.read() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        matches = search_store._postgres_matches([["word"]], match_all=False)
        compiled = matches.select.compile(dialect=conn.dialect)
        plan = conn.exec_driver_sql(
            "EXPLAIN " + str(compiled), {**compiled.params, **matches.parameters}
        ).scalars()
        assert "ix_messages_search" in "\n".join(plan)
    db.dispose()


def test_messages_stored_before_the_migration_are_indexed(database_url):
    from alembic import command
    from alembic.config import Config

    from server.storage import _MIGRATIONS

    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.connect().execution_options(tidemark_write=True) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(
            text(
                "INSERT INTO users (user_id, nickname, password_hash, version, created_at)"
                " VALUES ('a', 'a', 'x', 1, 0), ('b', 'b', 'x', 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversations (conversation_id, conversation_type, max_seq,"
                " created_at) VALUES ('si_a_b', 1, 3, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO members (user_id, conversation_id, peer_id, has_read_seq,"
                " peer_has_read_seq, max_seq, version) VALUES"
                " ('a', 'si_a_b', 'b', 3, 3, 3, 1), ('b', 'si_a_b', 'a', 3, 3, 3, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id,"
                " sender_id, content_type, content, send_time) VALUES"
                " ('si_a_b', 1, 's1', 'c1', 'a', 101, 'old walrus', 1),"
                " ('si_a_b', 2, 's2', 'c2', 'a', 105, '{\"fileName\": \"walrus.png\"}', 2),"
                " ('si_a_b', 3, 's3', 'c3', 'a', 1520, '{\"detail\": \"walrus\"}', 3)"
            )
        )
        conn.commit()
    db.migrate()
    from server.storage import search as search_store

    with db.read() as conn:
        hits = search_store.search(
            conn, "b", ["walrus"], match_all=False, conversation_id=None, offset=0, limit=10
        )
    db.dispose()
    assert hits.total == 2 and hits.counts == {"si_a_b": 2}
    assert [m["seq"] for m in hits.messages] == [2, 1]


def test_sqlite_reads_the_fts_index_first_even_in_one_conversation(sqlite_url):
    """Not the conversation's messages, each then looked up in the FTS index."""
    from server.storage import search as search_store

    db = Database(sqlite_url)
    db.migrate()
    with db.read() as conn:
        for conversation_id in (None, "sg_x"):
            matches = search_store._sqlite_matches([["word"]], False, conversation_id)
            parameters = {"user_id": "u", "conversation_id": conversation_id, **matches.parameters}
            plan = conn.execute(text("EXPLAIN QUERY PLAN " + str(matches.select)), parameters).all()
            assert plan[0].detail.startswith("SCAN message_search VIRTUAL TABLE"), plan
            assert "conversation" in matches.parameters["fts_query"] or conversation_id is None
    db.dispose()
