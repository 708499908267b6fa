"""B10: mark-read in a group of 500 with 50 active senders (rule 16's bound).

Server CPU per mark-read, measured in-process around the action (``time.thread_time``,
no HTTP), and the events it publishes. Two cases in the same group: the messages read
all come from one sender, or from 50. A mark-read notes its new position for the
coalesced ``receipt.group`` events, which leave once per interval per conversation: the
table reports those flushes apart, with their events.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from server.actions import groups, messages, read_state
from server.actions.receipts import ReceiptBatcher
from server.actions.users import CurrentUser
from server.app import create_app
from server.schemas import CreateGroupRequest, MarkReadRequest, SendMessageRequest
from server.storage import users as user_store

FULL = {"members": 500, "senders": 50, "reads": 40, "per_sender": 2}
TINY = {"members": 20, "senders": 5, "reads": 10, "per_sender": 2}


class CountingHub:
    def __init__(self) -> None:
        self.published = 0

    def publish(self, events: Any) -> None:
        self.published += len(list(events))

    def subscribe(self, connection: Any) -> None: ...
    def unsubscribe(self, connection: Any) -> None: ...
    def revoke(self, user_id: str, token_hash: str) -> None: ...
    def close(self) -> None: ...


def run(tiny: bool) -> dict[str, Any]:
    size = TINY if tiny else FULL
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'b10.db'}",
                "FAST_PASSWORD_HASHING": True,
            }
        )
        services = app.extensions["tidemark"]
        hub = CountingHub()
        services.hub = hub
        # Flushed by hand below, so each case's receipts are counted apart.
        services.receipts.close()
        services.receipts = ReceiptBatcher(services.db, lambda: hub, interval=3600)
        db = services.db
        names = [f"m{i:04d}" for i in range(size["members"])]
        with db.write() as tx:
            for name in names:
                user_store.insert_user(tx.conn, name, name, "x", 0)
        people = {n: CurrentUser(n, n, "", 2**62) for n in names}
        owner = people[names[0]]
        request = CreateGroupRequest(groupName="b10", memberUserIDs=names[1:])
        group = groups.create_group(db, hub, owner, request)
        cid, group_id = group["conversationID"], group["groupID"]
        readers = names[size["senders"] :]
        result: dict[str, Any] = {"members": size["members"], "senders": size["senders"]}
        many = f"{size['senders']} senders"
        for case, senders in (("one sender", names[:1]), (many, names[: size["senders"]])):
            cpu, published = [], []
            for n, reader in enumerate(readers[: size["reads"]]):
                for sender in senders:
                    for k in range(
                        size["per_sender"] * (1 if len(senders) > 1 else size["senders"])
                    ):
                        body = SendMessageRequest(
                            clientMsgID=f"{case[0]}{n}-{sender}-{k}", groupID=group_id, text="hi"
                        )
                        messages.send_message(db, hub, people[sender], body)
                hub.published = 0
                start = time.thread_time()
                read_state.mark_read(
                    db, hub, people[reader], cid, MarkReadRequest(), services.receipts
                )
                cpu.append((time.thread_time() - start) * 1000)
                published.append(hub.published)
            hub.published = 0
            start = time.thread_time()
            services.receipts.flush()
            flush_ms = (time.thread_time() - start) * 1000
            result[case] = {
                "cpu_ms_per_mark_read": {
                    "median": statistics.median(cpu),
                    "p90": sorted(cpu)[int(0.9 * (len(cpu) - 1))],
                    "runs": len(cpu),
                },
                "events_per_mark_read": statistics.median(published),
                "receipt_flush": {"cpu_ms": flush_ms, "events": hub.published},
                "messages_read_per_mark_read": size["senders"] * size["per_sender"],
            }
        services.receipts.close()
        db.dispose()
    return result
