"""The Store contract (rules 5, 6, 10), the same on MemoryStore and SqliteStore."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tidemark_sdk import CACHE_SCHEMA, CacheMeta, SqliteStore, Store

from tests.sdk.conftest import run
from tests.sdk.store_cases import MSG

META = CacheMeta(userID="alice", epoch="e1", version=5, schema=CACHE_SCHEMA)


def record(cid: str, version: int, has_read: int = 0, max_seq: int = 3) -> Any:
    return {
        "conversationID": cid,
        "conversationType": 1,
        "userID": "bob",
        "groupID": "",
        "showName": "Bob",
        "unreadCount": max_seq - has_read,
        "hasReadSeq": has_read,
        "maxSeq": max_seq,
        "peerHasReadSeq": 0,
        "latestMsg": None,
        "latestMsgSendTime": 1000 * version,
        "version": version,
    }


def message(cid: str, seq: int, text: str = "hi") -> Any:
    return MSG(cid, seq, text)


def test_apply_replaces_only_with_a_newer_version(store_factory: Callable[[], Store]) -> None:
    async def main() -> None:
        store = store_factory()
        assert await store.load() is None
        await store.reset(META, [record("c1", 4)], [])
        applied = await store.apply(6, [record("c1", 6, has_read=3), record("c2", 6)], [])
        assert applied["version"] == 6
        assert [(c["old"], c["new"]["conversationID"]) for c in applied["changes"]] == [
            (record("c1", 4), "c1"),
            (None, "c2"),
        ]
        # Older and equal versions change nothing, and the meta version never goes down.
        stale = await store.apply(3, [record("c1", 5), record("c2", 6, has_read=3)], [])
        assert stale == {"version": 6, "changes": [], "messages": []}
        by_id = {c["conversationID"]: c for c in await store.conversations()}
        assert by_id == {"c1": record("c1", 6, has_read=3), "c2": record("c2", 6)}
        # version None: records are applied, the meta version stays.
        gap = await store.apply(None, [record("c2", 9)], [])
        assert (gap["version"], len(gap["changes"])) == (6, 1)
        assert (await store.load()) == {**META, "version": 6}

    run(main())


def test_messages_are_immutable_and_paged(store_factory: Callable[[], Store]) -> None:
    async def main() -> None:
        store = store_factory()
        await store.reset(META, [], [message("c1", 1)])
        applied = await store.apply(None, [], [message("c1", 1, "changed"), message("c1", 2)])
        assert [m["seq"] for m in applied["messages"]] == [2]
        await store.apply(None, [], [message("c1", s) for s in range(3, 8)] + [message("c2", 1)])
        assert [m["seq"] for m in await store.messages("c1", None, 3)] == [5, 6, 7]
        assert [m["seq"] for m in await store.messages("c1", 5, 3)] == [2, 3, 4]
        assert [m["seq"] for m in await store.messages("c1", 3, 10)] == [1, 2]
        assert (await store.messages("c1", None, 10))[0]["textElem"]["content"] == "hi"
        assert await store.messages("c3", None, 10) == []

    run(main())


def test_reset_drops_the_cache_but_keeps_the_session(store_factory: Callable[[], Store]) -> None:
    async def main() -> None:
        store = store_factory()
        session = {"userID": "alice", "nickname": "Alice", "token": "t", "expiresAt": 1}
        await store.save_session(session)  # type: ignore[arg-type]
        await store.reset(META, [record("c1", 1)], [message("c1", 1)])
        fresh = CacheMeta(userID="alice", epoch="e2", version=2, schema=CACHE_SCHEMA)
        await store.reset(fresh, [record("c9", 2)], [])
        assert await store.load() == fresh
        assert [c["conversationID"] for c in await store.conversations()] == ["c9"]
        assert await store.messages("c1", None, 10) == []
        assert await store.load_session() == session
        await store.save_session(None)
        assert await store.load_session() is None

    run(main())


def test_returned_values_are_copies(store_factory: Callable[[], Store]) -> None:
    async def main() -> None:
        store = store_factory()
        await store.reset(META, [record("c1", 1)], [])
        (mine,) = await store.conversations()
        mine["hasReadSeq"] = 99
        assert (await store.conversations())[0]["hasReadSeq"] == 0

    run(main())


def test_sqlite_cache_survives_a_reopen_and_guards_across_connections(tmp_path: Path) -> None:
    """Two stores on one file are two tabs on one IndexedDB: neither may regress the other."""

    async def main() -> None:
        path = tmp_path / "cache.sqlite"
        first, second = SqliteStore(path), SqliteStore(path)
        await first.reset(META, [record("c1", 1)], [])
        await first.apply(7, [record("c1", 7, has_read=3)], [])
        assert (await second.apply(6, [record("c1", 6)], []))["changes"] == []
        assert (await second.load()) == {**META, "version": 7}
        first.close()
        second.close()
        reopened = SqliteStore(path)
        assert (await reopened.conversations())[0]["hasReadSeq"] == 3
        reopened.close()

    run(main())


def test_sqlite_cache_of_another_schema_is_dropped(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "cache.sqlite"
        store = SqliteStore(path)
        await store.reset(META, [record("c1", 1)], [])
        store.close()
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {CACHE_SCHEMA + 1}")
        db.close()
        store = SqliteStore(path)
        assert await store.load() is None
        assert await store.conversations() == []
        store.close()

    run(main())


def test_the_store_contract_scenario(tmp_path: Path) -> None:
    """The scenario run in IndexedDB too (tests/pyodide), its issue 11 parts asserted."""
    from tidemark_sdk import MemoryStore

    from tests.sdk import store_cases
    from tests.sdk.store_cases import DRAFT, MSG, TOMB

    opened: list[SqliteStore] = []

    def sqlite_store() -> Store:
        opened.append(SqliteStore(tmp_path / "scenario.sqlite"))
        return opened[-1]

    memory = MemoryStore()
    try:
        for make in (lambda: memory, sqlite_store):

            async def factory(make: Callable[[], Store] = make) -> Store:
                return make()

            out = run(store_cases.scenario(factory))
            nothing = {"version": 20, "changes": [], "messages": []}
            assert out["tombstone"] == {**nothing, "messages": [TOMB("c1", 6)]}
            assert out["tombstone_again"] == nothing
            assert out["message_over_tombstone"] == nothing
            # One call: the message, then its tombstone over it; never the text back.
            assert out["message_then_tombstone"] == {**nothing, "messages": [TOMB("c5", 1)]}
            assert out["tombstone_first"] == {**nothing, "messages": [TOMB("c5", 2)]}
            assert out["messages_revoked"] == [
                [MSG("c1", 5), TOMB("c1", 6)],
                [TOMB("c5", 1), TOMB("c5", 2)],
            ]
            drafts = [DRAFT("c1", "hello", 100), DRAFT("c4", "later", 300)]
            assert out["drafts"] == drafts
            assert out["drafts_after_snapshot"] == drafts
            assert out["drafts_seen_by_another"] == drafts
            assert out["drafts_of_another_user"] == []
            # The rejoin rule (issue 12): only a stored record's grown joinSeq drops.
            old = [MSG("g1", s, f"old {s}") for s in (1, 2, 3, 4, 5)]
            assert out["rejoin_kept"] == old
            assert [m["seq"] for m in out["rejoin"]["messages"]] == [5, 6]
            joined = [MSG("g1", 5, "joined"), MSG("g1", 6, "new")]
            assert out["rejoin_messages"] == out["rejoin_messages_other"] == joined
            assert out["first_record_messages"] == [MSG("g2", 1, "history")]
            assert [m["seq"] for m in out["other_conversation"]] == [5, 6]
    finally:
        for store in opened:
            store.close()


def test_sqlite_leaves_no_revoked_text_in_the_file(tmp_path: Path) -> None:
    """A tombstone overwrites the message's bytes (secure_delete): the old text is gone
    from the file, not only from the rows."""
    from tests.sdk.store_cases import TOMB

    async def main() -> None:
        path = tmp_path / "cache.sqlite"
        store = SqliteStore(path)
        await store.reset(META, [], [message("c1", 1, "the secret text " * 20)])
        await store.apply(None, [], [TOMB("c1", 1)])
        store.close()
        assert b"the secret text" not in path.read_bytes()

    run(main())
