"""Groups: roles, membership changes as messages (rule 12), windows of visibility (rule 11).

Every membership change (invite, kick, quit, dismissal, rename, ownership, roles) is one
transaction that stores a notification message with its own seq, moves the affected
memberships, bumps every affected user's version, and after the commit pushes
``message.new`` to each of them: the current members and those who just left (they see
the message that says so, and nothing after it).

Who may do what, as in OpenIM: the owner and admins invite, kick and rename, an admin
kicks plain members only; only the owner sets roles, transfers ownership or dismisses;
the owner cannot quit (transfer or dismiss first).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from server import events
from server.actions.conversations import not_a_member
from server.actions.state import user_state, user_states
from server.actions.users import CurrentUser, now_ms
from server.errors import ApiError, ErrorCode
from server.fanout import Hub
from server.protocol import CONTENT_TYPES
from server.schemas import MAX_GROUP_MEMBERS, CreateGroupRequest, MemberListQuery
from server.storage import Database, Tx, read_state
from server.storage import conversations as conversation_store
from server.storage import groups as group_store
from server.storage import messages as message_store
from server.storage import users as user_store
from server.storage.groups import ADMIN, MEMBER, OWNER, Group, Membership

_ROLE_NAMES = {OWNER: "the owner", ADMIN: "an admin", MEMBER: "a member"}
# OpenIM's GroupMemberFilter: 0 all, 1 owner, 2 admins, 3 members, 4 admins and members,
# 5 owner and admins.
MEMBER_FILTERS: dict[int, Collection[int]] = {
    0: (OWNER, ADMIN, MEMBER),
    1: (OWNER,),
    2: (ADMIN,),
    3: (MEMBER,),
    4: (ADMIN, MEMBER),
    5: (OWNER, ADMIN),
}


def create_group(
    db: Database, hub: Hub, user: CurrentUser, request: CreateGroupRequest
) -> dict[str, Any]:
    """The caller owns the new group; ``adminUserIDs`` are its admins. Creation is not a
    message: every member starts at seq 0 with nothing unread."""
    member_ids = sorted({user.user_id, *request.memberUserIDs})
    if len(member_ids) > MAX_GROUP_MEMBERS:
        raise ApiError(ErrorCode.GROUP_FULL, f"a group holds at most {MAX_GROUP_MEMBERS} members")
    group_id = secrets.token_hex(8)
    with db.write() as tx:
        missing = set(member_ids) - user_store.existing_user_ids(tx.conn, member_ids)
        if missing:
            raise ApiError(ErrorCode.USER_NOT_FOUND, f"no such users: {', '.join(sorted(missing))}")
        user_store.lock_users(tx.conn, member_ids)
        user_store.bump_versions(tx.conn, member_ids)
        conversation_id = conversation_store.create_group(
            tx.conn, group_id, request.name, member_ids, now_ms()
        )
        for admin in set(request.adminUserIDs) - {user.user_id}:
            group_store.set_role(tx.conn, conversation_id, admin, ADMIN)
        group_store.set_role(tx.conn, conversation_id, user.user_id, OWNER)
        conversation_store.stamp_members(tx.conn, conversation_id, member_ids)
        states = user_states(tx.conn, db.epoch, member_ids, [conversation_id])
        pushed = [(member, events.conversation_changed(s)) for member, s in states.items()]
        tx.on_commit(lambda: hub.publish(pushed))
    return {"groupID": group_id, "conversationID": conversation_id, "state": states[user.user_id]}


class _Change:
    """A membership change being written: the group, its memberships and the operator."""

    def __init__(self, db: Database, hub: Hub, tx: Tx, user: CurrentUser, group_id: str):
        self.db, self.hub, self.tx, self.user = db, hub, tx, user
        self.conversation_id = conversation_store.group_conversation_id(group_id)
        found = group_store.groups(tx.conn, [group_id])
        memberships = group_store.memberships(tx.conn, self.conversation_id) if found else []
        self.members = {m.user_id: m for m in memberships}
        operator = self.members.get(user.user_id)
        if not found or operator is None:
            raise not_a_member(self.conversation_id)
        self.group: Group = found[0]
        if self.group.status == group_store.DISMISSED:
            raise ApiError(ErrorCode.GROUP_DISMISSED, "the group was dismissed")
        if not operator.current:
            raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
        self.operator: Membership = operator
        self.answer: dict[str, Any] | None = None

    @property
    def current(self) -> list[str]:
        return [user_id for user_id, m in self.members.items() if m.current]

    def require(self, *roles: int) -> None:
        if self.operator.role not in roles:
            who = " or ".join(_ROLE_NAMES[r] for r in roles)
            raise ApiError(ErrorCode.GROUP_PERMISSION_DENIED, f"only {who} may do this")

    def member(self, user_id: str) -> Membership:
        found = self.members.get(user_id)
        if found is None or not found.current:
            raise ApiError(ErrorCode.NOT_GROUP_MEMBER, f"{user_id!r} is not in this group")
        return found

    def who(self, user_id: str, nicknames: dict[str, str] | None = None) -> dict[str, str]:
        member = self.members.get(user_id)
        nickname = member.nickname if member else (nicknames or {}).get(user_id, user_id)
        return {"userID": user_id, "nickname": nickname}

    def notify(
        self,
        content_type: str,
        detail: dict[str, Any],
        *,
        joining: Sequence[str] = (),
        leaving: Sequence[str] = (),
    ) -> int:
        """Store the notification; move memberships; push it to everyone affected."""
        conn = self.tx.conn
        affected = sorted({*self.current, *joining})
        user_store.lock_users(conn, affected)
        user_store.bump_versions(conn, affected)
        seq = conversation_store.next_seq(conn, self.conversation_id)
        message_store.insert_message(
            conn,
            conversation_id=self.conversation_id,
            seq=seq,
            server_msg_id=secrets.token_hex(16),
            client_msg_id=f"n-{secrets.token_hex(16)}",
            sender_id=self.user.user_id,
            content=json.dumps(
                {"detail": json.dumps({"opUser": self.who(self.user.user_id), **detail})}
            ),
            send_time=now_ms(),
            content_type=CONTENT_TYPES[content_type],
        )
        returning = [u for u in joining if u in self.members]
        group_store.join(conn, self.conversation_id, joining, seq, now_ms(), returning=returning)
        # Every current member's record takes the new max_seq; the operator has read it.
        read_state.advance_on_send(conn, self.conversation_id, self.user.user_id, seq)
        if leaving:
            group_store.leave(conn, self.conversation_id, leaving, seq)
        states = user_states(conn, self.db.epoch, affected, [self.conversation_id])
        pushed = [
            (user_id, events.message_new(state, state["conversations"][0]["latestMsg"]))
            for user_id, state in states.items()
        ]
        self.tx.on_commit(lambda: self.hub.publish(pushed))
        self.answer = states[self.user.user_id]
        return seq

    def result(self) -> dict[str, Any]:
        state = self.answer
        if state is None:  # nothing changed: the caller's record as it is
            state = user_state(
                self.tx.conn, self.db.epoch, self.user.user_id, [self.conversation_id]
            )
        return {
            "groupID": self.group.group_id,
            "conversationID": self.conversation_id,
            "state": state,
        }


def invite(
    db: Database, hub: Hub, user: CurrentUser, group_id: str, user_ids: Sequence[str]
) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER, ADMIN)
        new = sorted(
            {u for u in user_ids if not (u in change.members and change.members[u].current)}
        )
        nicknames = user_store.nicknames(tx.conn, new)
        missing = set(new) - set(nicknames)
        if missing:
            raise ApiError(ErrorCode.USER_NOT_FOUND, f"no such users: {', '.join(sorted(missing))}")
        if len(change.current) + len(new) > MAX_GROUP_MEMBERS:
            raise ApiError(
                ErrorCode.GROUP_FULL, f"a group holds at most {MAX_GROUP_MEMBERS} members"
            )
        if new:
            people = [change.who(u, nicknames) for u in new]
            change.notify("MEMBER_INVITED", {"invitedUserList": people}, joining=new)
        return change.result()


def kick(
    db: Database, hub: Hub, user: CurrentUser, group_id: str, user_ids: Sequence[str]
) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER, ADMIN)
        targets = sorted(set(user_ids))
        for target in targets:
            member = change.member(target)
            if target == user.user_id:
                raise ApiError(ErrorCode.VALIDATION_FAILED, "to leave a group, quit it")
            if member.role >= change.operator.role:
                raise ApiError(
                    ErrorCode.GROUP_PERMISSION_DENIED,
                    f"{_ROLE_NAMES[change.operator.role]} cannot remove {_ROLE_NAMES[member.role]}",
                )
        if targets:
            people = [change.who(u) for u in targets]
            change.notify("MEMBER_KICKED", {"kickedUserList": people}, leaving=targets)
        return change.result()


def quit_group(db: Database, hub: Hub, user: CurrentUser, group_id: str) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        if change.operator.role == OWNER:
            raise ApiError(
                ErrorCode.GROUP_PERMISSION_DENIED,
                "the owner cannot quit: transfer the group or dismiss it",
            )
        change.notify("MEMBER_QUIT", {"quitUser": change.who(user.user_id)}, leaving=[user.user_id])
        return change.result()


def dismiss(db: Database, hub: Hub, user: CurrentUser, group_id: str) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER)
        change.notify("GROUP_DISMISSED", {}, leaving=change.current)
        group_store.dismiss(tx.conn, change.conversation_id)
        return change.result()


def transfer_owner(
    db: Database, hub: Hub, user: CurrentUser, group_id: str, new_owner: str
) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER)
        change.member(new_owner)
        if new_owner == user.user_id:
            raise ApiError(ErrorCode.VALIDATION_FAILED, "newOwnerUserID: you own it already")
        group_store.set_role(tx.conn, change.conversation_id, new_owner, OWNER)
        group_store.set_role(tx.conn, change.conversation_id, user.user_id, MEMBER)
        change.notify("GROUP_OWNER_TRANSFERRED", {"newGroupOwner": change.who(new_owner)})
        return change.result()


def set_info(
    db: Database, hub: Hub, user: CurrentUser, group_id: str, group_name: str
) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER, ADMIN)
        if group_name != change.group.name:
            group_store.rename(tx.conn, change.conversation_id, group_name)
            detail = {"group": {"groupID": group_id, "groupName": group_name}}
            change.notify("GROUP_NAME_UPDATED", detail)
        return change.result()


def set_role(
    db: Database, hub: Hub, user: CurrentUser, group_id: str, user_id: str, role: int
) -> dict[str, Any]:
    with db.write() as tx:
        change = _Change(db, hub, tx, user, group_id)
        change.require(OWNER)
        member = change.member(user_id)
        if member.role == OWNER:
            raise ApiError(
                ErrorCode.GROUP_PERMISSION_DENIED, "the owner's role changes by transfer"
            )
        if member.role != role:
            group_store.set_role(tx.conn, change.conversation_id, user_id, role)
            kind = "MEMBER_SET_TO_ADMIN" if role == ADMIN else "MEMBER_SET_TO_ORDINARY"
            change.notify(kind, {"member": change.who(user_id)})
        return change.result()


# --- Reading -----------------------------------------------------------------------------


def _current_membership(
    conn: Any, user: CurrentUser, group_id: str
) -> tuple[Group, list[Membership]]:
    conversation_id = conversation_store.group_conversation_id(group_id)
    found = group_store.groups(conn, [group_id])
    memberships = group_store.memberships(conn, conversation_id) if found else []
    mine = next((m for m in memberships if m.user_id == user.user_id), None)
    if not found or mine is None:
        raise not_a_member(conversation_id)
    if not mine.current:
        raise ApiError(ErrorCode.NOT_GROUP_MEMBER, "you are no longer in this group")
    return found[0], memberships


def member_list(
    db: Database, user: CurrentUser, group_id: str, query: MemberListQuery
) -> dict[str, Any]:
    with db.read() as conn:
        _, memberships = _current_membership(conn, user, group_id)
    roles = MEMBER_FILTERS[query.filter]
    chosen = [m for m in memberships if m.current and m.role in roles]
    # The owner first, then admins, then members; by user ID within each.
    chosen.sort(key=lambda m: (-m.role, m.user_id))
    page = chosen[query.offset : query.offset + query.count]
    return {"members": [_member_item(group_id, m) for m in page], "total": len(chosen)}


def _member_item(group_id: str, member: Membership) -> dict[str, Any]:
    return {
        "groupID": group_id,
        "userID": member.user_id,
        "nickname": member.nickname,
        "roleLevel": member.role,
        "joinTime": member.join_time,
        "joinSeq": member.join_seq,
    }


def joined_groups(db: Database, user: CurrentUser) -> dict[str, Any]:
    with db.read() as conn:
        return {"groups": _group_items(conn, group_store.joined_groups(conn, user.user_id))}


def specified_groups(db: Database, user: CurrentUser, group_ids: Sequence[str]) -> dict[str, Any]:
    """The groups of these that the caller is or was in; others are not disclosed."""
    with db.read() as conn:
        return {
            "groups": _group_items(conn, group_store.seen_groups(conn, user.user_id, group_ids))
        }


def _group_items(conn: Any, groups: list[Group]) -> list[dict[str, Any]]:
    cids = [g.conversation_id for g in groups]
    counts = group_store.member_counts(conn, cids)
    owners = group_store.owners(conn, cids)
    return [
        {
            "groupID": g.group_id,
            "groupName": g.name,
            "ownerUserID": owners.get(g.conversation_id, ""),
            "memberCount": counts.get(g.conversation_id, 0),
            "status": g.status,
            "createTime": g.created_at,
        }
        for g in sorted(groups, key=lambda g: g.group_id)
    ]
