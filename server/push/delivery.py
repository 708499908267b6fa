"""Web Push delivery: what the hub publishes becomes pushes, sent off the request thread.

:meth:`PushDelivery.observe` is a hub observer (``Hub.add_observer``): it runs after the
commit, with every published (user_id, event) pair, and only picks and queues (no I/O):

- ``message.new`` to a user other than the sender, of a conversation they have not muted
  (recvMsgOpt 0), for a message a person wrote (text, @, picture, file; not membership
  notifications): a ``message`` push to each of that user's subscriptions;
- ``conversation.changed`` with a record read to its end (unreadCount 0, not marked
  unread, not muted) whose latest message is someone else's: a ``read`` push, so the
  service worker closes that conversation's notification.

The publishing thread reads those users' subscriptions; worker threads (at most
``workers``, started on demand, gone after ``idle_seconds`` without work) encrypt
(aes128gcm, RFC 8291) and POST with pywebpush. A full queue drops the push; 404/410
from the push service delete the subscription; every other failure is logged and
counted (``tidemark_push_notifications{result}``), never raised into a request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]

from server import metrics
from server.protocol import CONTENT_TYPES, RECV_MSG_OPTS, SERVER_EVENT_TYPES
from server.push.vapid import VapidKeys, b64url
from server.storage import Database
from server.storage import push as push_store

log = logging.getLogger(__name__)

MESSAGE_NEW = SERVER_EVENT_TYPES["MESSAGE_NEW"]
CONVERSATION_CHANGED = SERVER_EVENT_TYPES["CONVERSATION_CHANGED"]
NORMAL = RECV_MSG_OPTS["NORMAL"]
TEXT, AT_TEXT = CONTENT_TYPES["TEXT"], CONTENT_TYPES["AT_TEXT"]
PICTURE, FILE = CONTENT_TYPES["PICTURE"], CONTENT_TYPES["FILE"]
PUSHED_CONTENT = frozenset({TEXT, AT_TEXT, PICTURE, FILE})
NO_PREVIEW = "New message"
# A push carries at most 4,096 bytes once encrypted (RFC 8291: 3,993 of plaintext with one
# record): 500 characters of text are at most 2,000 bytes of UTF-8, plus JSON's escapes.
MAX_BODY_CHARS = 500
GONE = (404, 410)


@dataclass(frozen=True)
class Push:
    """One notification for one user: the payload's fields without ``body``, and what
    the body is with and without previews."""

    user_id: str
    conversation_id: str
    fields: dict[str, Any]
    preview: str | None  # the body when that subscription has previews on; None: no body
    urgency: str


@dataclass(frozen=True)
class _Send:
    subscription: push_store.Subscription
    push: Push


_STOP = object()  # tells one worker to end (close)


def pushes_for(events: Iterable[tuple[str, dict[str, Any]]]) -> list[Push]:
    """The pushes these published events call for (no I/O)."""
    found: list[Push] = []
    for user_id, event in events:
        kind = event.get("type")
        if kind == MESSAGE_NEW:
            push = _message_push(user_id, event)
            if push is not None:
                found.append(push)
        elif kind == CONVERSATION_CHANGED:
            total = event["totalUnreadCount"]
            found += [
                Push(user_id, record["conversationID"], _read_fields(record, total), None, "normal")
                for record in event["conversations"]
                if _became_read(user_id, record)
            ]
    return found


def _message_push(user_id: str, event: dict[str, Any]) -> Push | None:
    message, record = event["message"], event["conversation"]
    if message["sendID"] == user_id or record["recvMsgOpt"] != NORMAL:
        return None
    if message["contentType"] not in PUSHED_CONTENT:
        return None
    fields = {
        "type": "message",
        "conversationID": record["conversationID"],
        "seq": message["seq"],
        # The record's showName: the sender's nickname in a single chat, else the group's.
        "title": record["showName"],
        "total": event["totalUnreadCount"],
    }
    return Push(user_id, record["conversationID"], fields, _preview(message), "high")


def _preview(message: dict[str, Any]) -> str:
    content_type = message["contentType"]
    if content_type == TEXT:
        text = str(message["textElem"]["content"])
    elif content_type == AT_TEXT:
        text = str(message["atTextElem"]["text"])
    elif content_type == PICTURE:
        text = "[Picture]"
    else:
        text = f"[File] {message['fileElem']['fileName']}"
    return text if len(text) <= MAX_BODY_CHARS else text[: MAX_BODY_CHARS - 1] + "…"


def _became_read(user_id: str, record: dict[str, Any]) -> bool:
    latest = record["latestMsg"]
    return (
        record["unreadCount"] == 0
        and not record["isMarkedUnread"]
        and record["recvMsgOpt"] == NORMAL
        and latest is not None
        and latest["sendID"] != user_id
    )


def _read_fields(record: dict[str, Any], total: int) -> dict[str, Any]:
    return {"type": "read", "conversationID": record["conversationID"], "total": total}


def payload(push: Push, previews: bool) -> str:
    """The JSON a subscription receives: the text only if it asked for previews."""
    data = dict(push.fields)
    if push.preview is not None:
        data["body"] = push.preview if previews else NO_PREVIEW
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def topic(conversation_id: str) -> str:
    """RFC 8030 Topic (at most 32 base64url characters): a push service holding an
    undelivered push of this conversation replaces it with the newer one."""
    return b64url(hashlib.sha256(conversation_id.encode()).digest())[:32]


class PushDelivery:
    def __init__(
        self,
        db: Database,
        keys: VapidKeys,
        *,
        ttl_seconds: int,
        timeout_seconds: float,
        workers: int,
        queue_size: int,
        idle_seconds: float = 30.0,
    ) -> None:
        self._db = db
        self._keys = keys
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self._max_workers = max(1, workers)
        self._idle = idle_seconds
        self._queue: queue.Queue[_Send | object] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._workers = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._local = threading.local()

    # On the publishing thread, after the commit.

    def observe(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Queue the pushes these events call for, one per subscription.

        The subscriptions are read here, on the publishing thread (one indexed query, and
        only when an event calls for a push): a worker reading the database after the
        request has ended could outlive the app's database (tests dispose it at once).
        """
        pushes = pushes_for(events)
        if not pushes:
            return
        with self._db.read() as conn:
            found = push_store.of_users(conn, {push.user_id for push in pushes})
        by_user: dict[str, list[push_store.Subscription]] = {}
        for subscription in found:
            by_user.setdefault(subscription.user_id, []).append(subscription)
        for push in pushes:
            for subscription in by_user.get(push.user_id, ()):
                self._put(_Send(subscription, push))

    def _put(self, task: _Send) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(task)
        except queue.Full:
            metrics.PUSH_NOTIFICATIONS.labels("dropped").inc()
            log.warning("push queue full: a push was dropped")
            return
        with self._lock:
            if self._workers < self._max_workers:
                self._workers += 1
                thread = threading.Thread(target=self._work, name="push", daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking pushes; the workers finish what is queued, then end."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Whether every queued push was handled within ``timeout`` seconds (tests)."""
        done = threading.Event()

        def join() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    # On the workers.

    def _work(self) -> None:
        while True:
            try:
                task = self._queue.get(timeout=self._idle)
            except queue.Empty:
                with self._lock:
                    # A task queued after the timeout and before this check finds no
                    # free worker slot to start one: stay for it.
                    if self._queue.empty():
                        self._workers -= 1
                        self._close_session()
                        return
                continue
            if task is _STOP:
                self._queue.task_done()
                with self._lock:
                    self._workers -= 1
                self._close_session()
                return
            try:
                if isinstance(task, _Send):
                    self._send(task.subscription, task.push)
            except Exception:  # e.g. the database, deleting a gone subscription
                metrics.PUSH_NOTIFICATIONS.labels("failed").inc()
                log.exception("push delivery failed")
            finally:
                self._queue.task_done()

    def _send(self, subscription: push_store.Subscription, push: Push) -> None:
        parts = urlsplit(subscription.endpoint)
        headers = {
            **self._keys.authorization(f"{parts.scheme}://{parts.netloc}"),
            "Urgency": push.urgency,
            "Topic": topic(push.conversation_id),
        }
        try:
            webpush(
                {
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=payload(push, subscription.previews),
                headers=headers,
                ttl=self._ttl,
                timeout=self._timeout,
                requests_session=self._session(),
            )
        except WebPushException as error:
            status = None if error.response is None else error.response.status_code
            if status in GONE:
                with self._db.write() as tx:
                    push_store.delete_gone(tx.conn, subscription)
                metrics.PUSH_NOTIFICATIONS.labels("gone").inc()
                log.info("push subscription gone (%s): deleted", status)
                return
            metrics.PUSH_NOTIFICATIONS.labels("failed").inc()
            log.warning("push refused by %s: %s", parts.netloc, status)
            return
        except requests.RequestException as error:
            metrics.PUSH_NOTIFICATIONS.labels("failed").inc()
            log.warning("push to %s failed: %s", parts.netloc, type(error).__name__)
            return
        metrics.PUSH_NOTIFICATIONS.labels("sent").inc()

    def _session(self) -> requests.Session:
        """One session (its kept-alive connections) per worker thread; no redirects: the
        endpoint named is the only place a push goes."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.max_redirects = 0
            self._local.session = session
        return session

    def _close_session(self) -> None:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
