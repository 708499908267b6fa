"""Group memberships: roles, windows of visible seqs (rule 11), and the group's own row.

A membership is one ``members`` row per (user, group). While a member, ``left_seq`` is
NULL and the member sees seqs from ``join_seq`` on. Leaving (quit, kick, dismissal) sets
``left_seq`` to the seq of that notification message: the member still sees everything
up to it, nothing after, and the record holds ``max_seq = has_read_seq = left_seq`` so it
adds 0 unread (rule 2's one definition) — the position they had really read is kept in
``left_read_seq`` for receipts (rule 16). Rejoining reopens the same row from a new seq.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from server.storage.tables import conversations, members, users

OWNER = 100
ADMIN = 60
MEMBER = 20

DISMISSED = 2  # conversations.status


@dataclass(frozen=True)
class Membership:
    user_id: str
    nickname: str
    role: int
    join_seq: int
    left_seq: int | None
    has_read_seq: int
    left_read_seq: int | None
    join_time: int

    @property
    def current(self) -> bool:
        return self.left_seq is None

    @property
    def read_seq(self) -> int:
        """How far they had read: for a member who left, as far as they got before it."""
        return self.has_read_seq if self.left_read_seq is None else self.left_read_seq


@dataclass(frozen=True)
class Group:
    group_id: str
    conversation_id: str
    name: str
    status: int
    created_at: int
    max_seq: int


_MEMBERSHIPS = (
    select(
        members.c.user_id,
        users.c.nickname,
        members.c.role,
        members.c.join_seq,
        members.c.left_seq,
        members.c.has_read_seq,
        members.c.left_read_seq,
        members.c.join_time,
    )
    .join(users, users.c.user_id == members.c.user_id)
    .where(members.c.conversation_id == bindparam("conversation_id"))
    .order_by(members.c.user_id)
)
_CURRENT_IDS = (
    select(members.c.user_id)
    .where(members.c.conversation_id == bindparam("conversation_id"), members.c.left_seq.is_(None))
    .order_by(members.c.user_id)
)
_GROUP = select(
    conversations.c.group_id,
    conversations.c.conversation_id,
    conversations.c.group_name,
    conversations.c.status,
    conversations.c.created_at,
    conversations.c.max_seq,
).where(conversations.c.group_id.is_not(None))
_GROUP_BY_ID = _GROUP.where(conversations.c.group_id.in_(bindparam("group_ids", expanding=True)))
_JOINED = _GROUP.join(members, members.c.conversation_id == conversations.c.conversation_id).where(
    members.c.user_id == bindparam("user_id"), members.c.left_seq.is_(None)
)
_SEEN = _GROUP.join(members, members.c.conversation_id == conversations.c.conversation_id).where(
    members.c.user_id == bindparam("user_id"),
    conversations.c.group_id.in_(bindparam("group_ids", expanding=True)),
)
_COUNTS = (
    select(members.c.conversation_id, func.count())
    .where(
        members.c.conversation_id.in_(bindparam("conversation_ids", expanding=True)),
        members.c.left_seq.is_(None),
    )
    .group_by(members.c.conversation_id)
)
_OWNERS = select(members.c.conversation_id, members.c.user_id).where(
    members.c.conversation_id.in_(bindparam("conversation_ids", expanding=True)),
    members.c.left_seq.is_(None),
    members.c.role == OWNER,
)
_REOPEN = (
    update(members)
    .where(
        members.c.conversation_id == bindparam("b_conversation_id"),
        members.c.user_id == bindparam("b_user_id"),
    )
    .values(
        role=bindparam("b_role"),
        join_seq=bindparam("b_seq"),
        left_seq=None,
        left_read_seq=None,
        has_read_seq=bindparam("b_seq"),
        max_seq=bindparam("b_seq"),
        join_time=bindparam("b_now"),
    )
)
_LEAVE = (
    update(members)
    .where(
        members.c.conversation_id == bindparam("b_conversation_id"),
        members.c.user_id.in_(bindparam("b_user_ids", expanding=True)),
        members.c.left_seq.is_(None),
    )
    .values(
        left_read_seq=members.c.has_read_seq,
        left_seq=bindparam("b_seq"),
        has_read_seq=bindparam("b_seq"),
        max_seq=bindparam("b_seq"),
        role=MEMBER,
        # A read-only record adds 0 (rule 11): a mark-unread flag goes with the membership.
        marked_unread_version=None,
        version=select(users.c.version)
        .where(users.c.user_id == members.c.user_id)
        .scalar_subquery(),
    )
)
_SET_ROLE = (
    update(members)
    .where(
        members.c.conversation_id == bindparam("b_conversation_id"),
        members.c.user_id == bindparam("b_user_id"),
        members.c.left_seq.is_(None),
    )
    .values(role=bindparam("b_role"))
)
_RENAME = (
    update(conversations)
    .where(conversations.c.conversation_id == bindparam("b_conversation_id"))
    .values(group_name=bindparam("b_name"))
)
_DISMISS = (
    update(conversations)
    .where(conversations.c.conversation_id == bindparam("b_conversation_id"))
    .values(status=DISMISSED)
)


def memberships(conn: Connection, conversation_id: str) -> list[Membership]:
    """Every membership of the group, current or left, by user ID."""
    rows = conn.execute(_MEMBERSHIPS, {"conversation_id": conversation_id})
    return [
        Membership(
            r.user_id,
            r.nickname,
            int(r.role),
            int(r.join_seq),
            None if r.left_seq is None else int(r.left_seq),
            int(r.has_read_seq),
            None if r.left_read_seq is None else int(r.left_read_seq),
            int(r.join_time),
        )
        for r in rows
    ]


def current_member_ids(conn: Connection, conversation_id: str) -> list[str]:
    return list(conn.scalars(_CURRENT_IDS, {"conversation_id": conversation_id}))


def _group(row: Any) -> Group:
    return Group(
        row.group_id,
        row.conversation_id,
        row.group_name,
        int(row.status),
        int(row.created_at),
        int(row.max_seq),
    )


def groups(conn: Connection, group_ids: Collection[str]) -> list[Group]:
    return [_group(r) for r in conn.execute(_GROUP_BY_ID, {"group_ids": list(group_ids)})]


def joined_groups(conn: Connection, user_id: str) -> list[Group]:
    """The groups this user is a member of now."""
    return [_group(r) for r in conn.execute(_JOINED, {"user_id": user_id})]


def seen_groups(conn: Connection, user_id: str, group_ids: Collection[str]) -> list[Group]:
    """Of these groups, those the user is or was a member of."""
    parameters = {"user_id": user_id, "group_ids": list(group_ids)}
    return [_group(r) for r in conn.execute(_SEEN, parameters)]


def member_counts(conn: Connection, conversation_ids: Collection[str]) -> dict[str, int]:
    rows = conn.execute(_COUNTS, {"conversation_ids": list(conversation_ids)})
    return {cid: int(count) for cid, count in rows}


def owners(conn: Connection, conversation_ids: Collection[str]) -> dict[str, str]:
    rows = conn.execute(_OWNERS, {"conversation_ids": list(conversation_ids)})
    return {cid: user_id for cid, user_id in rows}


def join(
    conn: Connection,
    conversation_id: str,
    user_ids: Sequence[str],
    seq: int,
    now: int,
    *,
    role: int = MEMBER,
    returning: Collection[str] = (),
) -> None:
    """Make these users members from ``seq`` on, unread 0 (``returning``: rows that exist
    from an earlier membership, reopened in place)."""
    fresh = [u for u in user_ids if u not in returning]
    if fresh:
        conn.execute(
            insert(members),
            [
                {
                    "user_id": user_id,
                    "conversation_id": conversation_id,
                    "peer_id": None,
                    "has_read_seq": seq,
                    "peer_has_read_seq": 0,
                    "max_seq": seq,
                    "version": 0,
                    "role": role,
                    "join_seq": seq,
                    "left_seq": None,
                    "join_time": now,
                }
                for user_id in fresh
            ],
        )
    for user_id in user_ids:
        if user_id in returning:
            parameters = {"b_user_id": user_id, "b_role": role, "b_seq": seq, "b_now": now}
            conn.execute(_REOPEN, {"b_conversation_id": conversation_id, **parameters})


def leave(conn: Connection, conversation_id: str, user_ids: Collection[str], seq: int) -> None:
    """End these memberships at ``seq`` (the notification saying so, which they see)."""
    parameters = {"b_conversation_id": conversation_id, "b_user_ids": list(user_ids), "b_seq": seq}
    conn.execute(_LEAVE, parameters)


def set_role(conn: Connection, conversation_id: str, user_id: str, role: int) -> None:
    parameters = {"b_conversation_id": conversation_id, "b_user_id": user_id, "b_role": role}
    conn.execute(_SET_ROLE, parameters)


def rename(conn: Connection, conversation_id: str, name: str) -> None:
    conn.execute(_RENAME, {"b_conversation_id": conversation_id, "b_name": name})


def dismiss(conn: Connection, conversation_id: str) -> None:
    conn.execute(_DISMISS, {"b_conversation_id": conversation_id})
