"""B13: message search over 1,000,000 messages (SQLite FTS5; PostgreSQL GIN).

The database is bulk-loaded straight into the tables, in one transaction (the search
index is kept by migration 0007's triggers on SQLite and by the GIN index on PostgreSQL,
exactly as for messages sent through the API): a few hundred users, a few hundred
conversations (groups of 10-40 members and single chats), members' windows (some joined
late, some left), and messages of 3-14 words drawn from a word list with a Zipf
distribution (common words in many messages, rare ones in a few); one in fifty is a file
(105) whose name is searched, one in twenty an @ message (106).

Measured in-process through the route (Flask's test client: parsing, the action, the
JSON answer), as user ``me``, a member of about a tenth of the conversations: wall time of
``POST /api/messages/search`` for a common word, a rare word, a prefix, two common words
(all), and a common word in one conversation. p50/p99 over the runs.
"""

from __future__ import annotations

import itertools
import json
import random
import tempfile
import time
from typing import Any

from sqlalchemy import func, insert, select

from benchmarks._util import summary
from server.app import create_app
from server.storage import Database
from server.storage.tables import conversations, members, messages
from server.testing import scratch_database
from server.testing.seed import PASSWORD, insert_users

FULL = {"messages": 1_000_000, "users": 400, "conversations": 300, "runs": 60}
TINY = {"messages": 4_000, "users": 30, "conversations": 20, "runs": 5}
CHUNK = 20_000

# Common English words first (the Zipf head), then made-up ones for a long tail.
_COMMON = (  # noqa: SIM905 (a word list reads better as text)
    "the be to of and a in that have it for not on with he as you do at this but his by"
    " from they we say her she or an will my one all would there their what so up out if"
    " about who get which go me when make can like time no just him know take people into"
    " year your good some could them see other than then now look only come its over think"
    " also back after use two how our work first well way even new want because any these"
    " give day most us meeting report budget project release deploy review lunch coffee"
    " friday monday invoice contract design server client launch plan draft final update"
).split()


def _vocabulary(size: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = list(dict.fromkeys(_COMMON))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(4, 9)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def run(tiny: bool, postgres_url: str | None = None) -> list[dict[str, Any]]:
    size = TINY if tiny else FULL
    engines = [("sqlite", None)] + ([("postgres", postgres_url)] if postgres_url else [])
    results = []
    for engine, url in engines:
        with tempfile.TemporaryDirectory() as folder, scratch_database(url, folder) as db_url:
            results.append({"engine": engine, **_measure(db_url, size)})
    return results


def _measure(database_url: str, size: dict[str, int]) -> dict[str, Any]:
    app = create_app({"DATABASE_URL": database_url, "FAST_PASSWORD_HASHING": True})
    db = app.extensions["tidemark"].db
    started = time.perf_counter()
    layout = _seed(db, size)
    seed_s = time.perf_counter() - started
    client = app.test_client()
    login = client.post("/api/auth/login", json={"userID": "me", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    vocabulary = layout["vocabulary"]
    rng = random.Random(13)
    common = vocabulary[:20]
    rare = vocabulary[-2000:]
    cases: dict[str, Any] = {
        "common word": lambda: {"keywordList": [rng.choice(common)]},
        "rare word": lambda: {"keywordList": [rng.choice(rare)]},
        "prefix (3 letters)": lambda: {"keywordList": [rng.choice(vocabulary[100:400])[:3]]},
        "two common words, all": lambda: {
            "keywordList": rng.sample(common, 2),
            "keywordListMatchType": 1,
        },
        "common word, one conversation": lambda: {
            "keywordList": [rng.choice(common)],
            "conversationID": rng.choice(layout["mine"]),
        },
        "common word, page 5": lambda: {"keywordList": [rng.choice(common)], "pageIndex": 5},
    }
    result: dict[str, Any] = {
        "messages": size["messages"],
        "users": size["users"],
        "conversations": size["conversations"],
        "my_conversations": len(layout["mine"]),
        "seed_s": seed_s,
        "cases": {},
    }
    for name, body in cases.items():
        samples, totals = [], []
        for attempt in range(size["runs"] + 2):  # two warm-ups, not kept
            request = body()
            wall = time.perf_counter()
            response = client.post("/api/messages/search", json=request, headers=headers)
            wall = time.perf_counter() - wall
            assert response.status_code == 200, response.get_json()
            if attempt >= 2:
                samples.append(wall * 1000)
                totals.append(response.get_json()["totalCount"])
        result["cases"][name] = {
            **summary(samples),
            "median_matches": sorted(totals)[len(totals) // 2],
        }
    db.dispose()
    return result


def _seed(db: Database, size: dict[str, int]) -> dict[str, Any]:
    rng = random.Random(12)
    vocabulary = _vocabulary(20_000, rng)
    # Cumulative once: rng.choices would add up 20,000 weights for every message.
    cumulative = list(
        itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(vocabulary)))
    )
    now = int(time.time() * 1000)
    user_ids = ["me"] + [f"u{i:05d}" for i in range(size["users"] - 1)]
    n_conv = size["conversations"]
    singles = n_conv // 5
    layout: list[tuple[str, list[str], dict[str, tuple[int, int | None]]]] = []
    mine: list[str] = []
    per = size["messages"] // n_conv
    for c in range(n_conv):
        if c < singles:
            others = len(user_ids) - 1
            first = "me" if c % 10 == 0 else user_ids[1 + (2 * c) % others]
            pair = sorted((first, user_ids[1 + (2 * c + 1) % others]))
            cid = f"si_{pair[0]}_{pair[1]}"
            windows: dict[str, tuple[int, int | None]] = {u: (0, None) for u in pair}
            layout.append((cid, pair, windows))
        else:
            cid = f"sg_g{c:05d}"
            chosen = rng.sample(user_ids[1:], min(len(user_ids) - 1, rng.randint(10, 40)))
            if c % 10 == 0:
                chosen.append("me")
            windows = {}
            for u in chosen:
                roll = rng.random()
                if roll < 0.7:
                    windows[u] = (0, None)
                elif roll < 0.85:
                    windows[u] = (rng.randint(1, per // 2), None)  # joined late
                else:
                    joined = rng.randint(0, per // 2)
                    windows[u] = (joined, rng.randint(joined + 1, per))  # left
            layout.append((cid, chosen, windows))
        if any(cid == item[0] for item in layout[:-1]):
            layout.pop()  # a repeated pair
            continue
        if "me" in layout[-1][2]:
            mine.append(cid)
    with db.write() as tx:
        conn = tx.conn
        insert_users(conn, user_ids, now)
        conn.execute(
            insert(conversations),
            [
                {
                    "conversation_id": cid,
                    "conversation_type": 1 if cid.startswith("si_") else 3,
                    "group_id": None if cid.startswith("si_") else cid[3:],
                    "group_name": None if cid.startswith("si_") else f"group {cid[3:]}",
                    "max_seq": per,
                    "created_at": now,
                }
                for cid, _, _ in layout
            ],
        )
        rows = []
        for cid, people, windows in layout:
            single = cid.startswith("si_")
            for u, (joined, left) in windows.items():
                last = per if left is None else left
                rows.append(
                    {
                        "user_id": u,
                        "conversation_id": cid,
                        "peer_id": next(p for p in people if p != u) if single else None,
                        "has_read_seq": last,
                        "peer_has_read_seq": 0,
                        "max_seq": last,
                        "version": 1,
                        "role": 20,
                        "join_seq": joined,
                        "left_seq": left,
                    }
                )
        conn.execute(insert(members), rows)
        batch: list[dict[str, Any]] = []
        total = per * len(layout)
        for index in range(total):
            cid, people, _ = layout[index % len(layout)]
            seq = index // len(layout) + 1
            words = rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(3, 14))
            kind = index % 100
            if kind < 2:
                content_type = 105
                content = json.dumps(
                    {
                        "filePath": "",
                        "uuid": f"{index:064x}",
                        "sourceUrl": f"/api/files/{index:064x}",
                        "fileName": "_".join(words[:3]) + ".pdf",
                        "fileSize": 1000,
                        "fileType": "application/pdf",
                    }
                )
            elif kind < 7 and not cid.startswith("si_"):
                content_type = 106
                content = json.dumps(
                    {"text": " ".join(words), "atUserList": [people[0]], "atUsersInfo": []}
                )
            else:
                content_type, content = 101, " ".join(words)
            batch.append(
                {
                    "conversation_id": cid,
                    "seq": seq,
                    "server_msg_id": f"{cid}-{seq}",
                    "client_msg_id": f"{cid}-{seq}",
                    "sender_id": people[index % len(people)],
                    "content_type": content_type,
                    "content": content,
                    "send_time": now - (total - index) * 10,
                }
            )
            if len(batch) >= CHUNK:
                conn.execute(insert(messages), batch)
                batch.clear()
        if batch:
            conn.execute(insert(messages), batch)
    # Fresh statistics, as autovacuum (PostgreSQL) or an operator's ANALYZE would give.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if not db.is_sqlite else "ANALYZE")
    with db.read() as conn:
        stored = conn.scalar(select(func.count()).select_from(messages))
    assert stored == per * len(layout), stored
    return {"vocabulary": vocabulary, "mine": mine}


def rows(results: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The benchmarks table's rows."""
    table = []
    for r in results:
        for case, s in r["cases"].items():
            table.append(
                (
                    "B13",
                    f"{r['engine']} search {r['messages']:,} msgs: {case}",
                    f"{s['median']:.1f} ms",
                    f"{s['p90']:.1f} ms",
                    f"{s['p99']:.1f} ms",
                    str(s["runs"]),
                    f"median {s['median_matches']:,} matches; me in"
                    f" {r['my_conversations']} convs; seeded in {r['seed_s']:.0f} s",
                )
            )
    return table
