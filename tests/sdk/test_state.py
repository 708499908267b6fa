"""The sans-I/O state: plans for payloads (rules 5, 6, 10) and announcements, no store."""

from __future__ import annotations

from typing import Any

import pytest
from tidemark_sdk import CACHE_SCHEMA, CacheMeta
from tidemark_sdk._state import ClientState, Plan

from tests.sdk.test_sdk_stores import message, record

META = CacheMeta(userID="alice", epoch="e1", version=5, schema=CACHE_SCHEMA)


def held_state() -> ClientState:
    """Holding c1 at version 5, read to 1 of 3, its latest message seq 3."""
    state = ClientState()
    state.open(dict(META), [{**record("c1", 5, has_read=1), "latestMsg": message("c1", 3)}])  # type: ignore[list-item]
    return state


def with_latest(cid: str, version: int, seq: int, **fields: Any) -> Any:
    return {**record(cid, version, **fields), "latestMsg": message(cid, seq)}


@pytest.mark.parametrize(
    ("version", "records", "messages", "expected"),
    [
        # The echo of what is held: nothing to write.
        (5, [with_latest("c1", 5, 3, has_read=1)], [], Plan(5, gap=False, write=False)),
        (5, [with_latest("c1", 5, 3)], [message("c1", 3)], Plan(5, gap=False, write=False)),
        # Older than held, at an old global version: still nothing.
        (4, [with_latest("c1", 4, 3)], [], Plan(4, gap=False, write=False)),
        # A message not the held record's latest may be missing from the cache.
        (5, [with_latest("c1", 5, 3)], [message("c1", 2)], Plan(5, gap=False, write=True)),
        # A newer record, or an unknown one.
        (6, [with_latest("c1", 6, 3)], [], Plan(6, gap=False, write=True)),
        (6, [with_latest("c2", 6, 1)], [], Plan(6, gap=False, write=True)),
        # The next version without the record it stamped: a gap; held records only.
        (6, [with_latest("c1", 5, 3)], [], Plan(None, gap=True, write=False)),
        (9, [with_latest("c1", 9, 4)], [], Plan(None, gap=True, write=True)),
    ],
)
def test_plan(version: int, records: list[Any], messages: list[Any], expected: Plan) -> None:
    state = held_state()
    assert state.meta is not None
    for r in records:
        r["unreadCount"] = max(0, r["maxSeq"] - r["hasReadSeq"])
    assert state.plan(state.meta, "e1", version, records, messages) == expected


def test_another_epoch_has_no_plan() -> None:
    state = held_state()
    assert state.meta is not None
    assert state.plan(state.meta, "e2", 6, [with_latest("c1", 6, 3)], []) is None


def test_announce_holds_what_was_written_and_counts_unread() -> None:
    state = held_state()
    assert state.total == 2
    new = with_latest("c1", 6, 4, has_read=1, max_seq=4)
    events = state.announce(
        [{"old": record("c1", 5, has_read=1), "new": new}], [message("c1", 4)], mine_too=True
    )
    assert [name for name, _ in events] == [
        "OnConversationChanged",
        "OnRecvNewMessages",
        "OnTotalUnreadMessageCountChanged",
    ]
    assert events[-1] == ("OnTotalUnreadMessageCountChanged", 3)
    assert state.total == 3 and state.read_position("c1") == 1
    assert state.meta is not None
    state.advance(state.meta, 6)
    assert state.meta["version"] == 6
    assert not state.plan(state.meta, "e1", 6, [new], [message("c1", 4)]).write  # type: ignore[union-attr]
