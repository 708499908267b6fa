"""The Store contract as one scenario, written once: run unchanged against IndexedDBStore
inside Pyodide (``tests/pyodide/test_sdk_in_pyodide.py``, loaded by the harness with
--module) and against MemoryStore and SqliteStore under CPython; the results must be equal.

``scenario(make_store)`` takes a coroutine function giving another store object on the
same storage each call (two tabs on one IndexedDB, two connections to one SQLite file),
and returns what every step observed, JSON-shaped.
"""

from __future__ import annotations

import asyncio

from tidemark_sdk import CACHE_SCHEMA


def CONV(cid, version, max_seq=1, read=0, join_seq=0):
    return {
        "conversationID": cid,
        "conversationType": 1,
        "userID": "bob",
        "groupID": "",
        "showName": "Bob",
        "faceURL": "",
        "unreadCount": max(0, max_seq - read),
        "hasReadSeq": read,
        "maxSeq": max_seq,
        "joinSeq": join_seq,
        "peerHasReadSeq": 0,
        "latestMsg": None,
        "latestMsgSendTime": version,
        "version": version,
    }


def MSG(cid, seq, text="m"):
    return {
        "serverMsgID": f"s{seq}",
        "clientMsgID": f"c{seq}",
        "conversationID": cid,
        "seq": seq,
        "sendID": "bob",
        "recvID": "alice",
        "groupID": "",
        "sessionType": 1,
        "contentType": 101,
        "textElem": {"content": text},
        "pictureElem": None,
        "fileElem": None,
        "sendTime": seq,
    }


def TOMB(cid, seq):
    """The tombstone of MSG(cid, seq): same identity and seq, no text (contentType 2101)."""
    return {
        **MSG(cid, seq),
        "contentType": 2101,
        "textElem": None,
        "atTextElem": None,
        "notificationElem": {"detail": f'{{"revokerID": "bob", "seq": {seq}}}'},
    }


def DRAFT(cid, text, time=0):
    return {"conversationID": cid, "draftText": text, "draftTextTime": time}


SESSION = {"userID": "alice", "nickname": "Alice", "token": "tok", "expiresAt": 1}


async def scenario(make_store):
    out = {}
    store = await make_store()
    await store.save_session(SESSION)
    out["session"] = await store.load_session()
    out["empty"] = await store.load()
    meta = {"userID": "alice", "epoch": "e1", "version": 10, "schema": CACHE_SCHEMA}
    await store.reset(meta, [CONV("c1", 10, 5, 5)], [MSG("c1", 5)])
    out["meta"] = await store.load()
    out["newer"] = await store.apply(
        12, [CONV("c1", 12, 6, 5), CONV("c2", 11, 1, 0)], [MSG("c1", 6)]
    )
    # An older record, a changed copy of a stored message: nothing is written.
    out["older"] = await store.apply(11, [CONV("c1", 11, 9, 9)], [MSG("c1", 6, "changed")])
    out["equal"] = await store.apply(12, [CONV("c1", 12, 9, 9)], [])
    out["no_version"] = await store.apply(None, [CONV("c2", 13, 2, 2)], [])
    out["same_message_twice"] = await store.apply(20, [], [MSG("c3", 1, "a"), MSG("c3", 1, "b")])
    out["lower_version"] = await store.apply(5, [], [])
    out["conversations"] = sorted(await store.conversations(), key=lambda c: c["conversationID"])
    out["messages_all"] = await store.messages("c1", None, 10)
    out["messages_before"] = await store.messages("c1", 6, 10)
    out["messages_newest"] = await store.messages("c1", None, 1)
    out["messages_none"] = await store.messages("c3", None, 0)
    out["messages_other"] = await store.messages("c9", None, 5)

    # Revocation, the one exception to immutability, one way: a tombstone replaces its
    # message; a tombstone is replaced by nothing, neither a message nor a tombstone.
    out["tombstone"] = await store.apply(None, [], [TOMB("c1", 6)])
    out["tombstone_again"] = await store.apply(None, [], [TOMB("c1", 6)])
    out["message_over_tombstone"] = await store.apply(None, [], [MSG("c1", 6, "back")])
    out["message_then_tombstone"] = await store.apply(
        None, [], [MSG("c5", 1, "gone"), TOMB("c5", 1), MSG("c5", 1, "again")]
    )
    out["tombstone_first"] = await store.apply(None, [], [TOMB("c5", 2)])
    out["messages_revoked"] = [
        await store.messages("c1", None, 10),
        await store.messages("c5", None, 10),
    ]

    # Drafts: this device's, kept and cleared ("" forgets), seen by another store object.
    await store.save_draft(DRAFT("c1", "hello", 100))
    await store.save_draft(DRAFT("c2", "soon", 200))
    await store.save_draft(DRAFT("c2", "", 0))
    await store.save_draft(DRAFT("c4", "later", 300))
    out["drafts"] = sorted(await store.drafts(), key=lambda d: d["conversationID"])

    # Two writers on the same storage at once, versions 30..49 in a scrambled order: the
    # newest record and the highest version win, whatever the order of commits.
    other = await make_store()
    await other.load_session()
    versions = [30 + (i * 7) % 20 for i in range(20)]
    await asyncio.gather(
        *(
            (store if i % 2 else other).apply(v, [CONV("c4", v, v)], [])
            for i, v in enumerate(versions)
        )
    )
    out["race_meta"] = await store.load()
    out["race_record"] = [c for c in await other.conversations() if c["conversationID"] == "c4"]

    # The rejoin rule: a stored record replaced by one whose joinSeq grew drops the
    # conversation's cached messages at or below it, before this call's messages are
    # written (the join's notification at joinSeq comes with the record).
    await store.apply(
        None, [CONV("g1", 60, 4, 4)], [MSG("g1", s, f"old {s}") for s in (1, 2, 3, 4, 5)]
    )
    out["rejoin_same_join_seq"] = await store.apply(None, [CONV("g1", 61, 4, 4)], [])
    out["rejoin_older_record"] = await store.apply(None, [CONV("g1", 59, 4, 4, join_seq=9)], [])
    out["rejoin_kept"] = await store.messages("g1", None, 10)
    out["rejoin"] = await store.apply(
        None, [CONV("g1", 62, 6, 6, join_seq=5)], [MSG("g1", 5, "joined"), MSG("g1", 6, "new")]
    )
    out["rejoin_messages"] = await store.messages("g1", None, 10)
    # Seen by another store object on the same storage (another tab) too.
    out["rejoin_messages_other"] = await other.messages("g1", None, 10)
    # A first record (none stored) drops nothing, nor does another conversation's rejoin.
    await store.apply(None, [], [MSG("g2", 1, "history")])
    out["first_record"] = await store.apply(None, [CONV("g2", 63, 3, 3, join_seq=2)], [])
    out["first_record_messages"] = await store.messages("g2", None, 10)
    out["other_conversation"] = await store.messages("c1", None, 10)

    # A full snapshot replaces everything.
    await store.reset({**meta, "epoch": "e2", "version": 3}, [CONV("c9", 3)], [])
    out["after_reset"] = [
        await store.load(),
        await store.conversations(),
        await store.messages("c1", None, 10),
    ]
    # A full snapshot (the same user) keeps the drafts: they are not server state.
    out["drafts_after_snapshot"] = sorted(await store.drafts(), key=lambda d: d["conversationID"])
    out["drafts_seen_by_another"] = sorted(await other.drafts(), key=lambda d: d["conversationID"])
    # Another user's cache: alice's drafts are not bob's.
    bob = {"userID": "bob", "nickname": "Bob", "token": "tok-b", "expiresAt": 1}
    await store.save_session(bob)
    await store.reset({**meta, "userID": "bob"}, [], [])
    out["drafts_of_another_user"] = await store.drafts()
    await store.save_session(None)
    out["no_session"] = await store.load_session()
    return out
