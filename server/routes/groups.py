"""Group routes: OpenIM's group operations over HTTP (see actions/groups.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from server.actions import groups
from server.actions.users import CurrentUser
from server.api import operation, services
from server.schemas import (
    CreateGroupRequest,
    Empty,
    GroupListResponse,
    GroupResponse,
    MemberListQuery,
    MemberListResponse,
    SetGroupInfoRequest,
    SetRoleRequest,
    SpecifiedGroupsRequest,
    TransferGroupRequest,
    UserListRequest,
)

bp = Blueprint("groups", __name__, url_prefix="/api/groups")


@operation(bp, "POST", "", body=CreateGroupRequest, response=GroupResponse, status=201)
def create_group(user: CurrentUser, body: CreateGroupRequest) -> dict[str, Any]:
    """Create a group: the caller owns it, adminUserIDs are its admins."""
    return groups.create_group(services().db, services().hub, user, body)


@operation(bp, "GET", "", response=GroupListResponse)
def joined_groups(user: CurrentUser) -> dict[str, Any]:
    """getJoinedGroupList: the groups the caller is a member of."""
    return groups.joined_groups(services().db, user)


@operation(bp, "POST", "/info", body=SpecifiedGroupsRequest, response=GroupListResponse)
def specified_groups(user: CurrentUser, body: SpecifiedGroupsRequest) -> dict[str, Any]:
    """getSpecifiedGroupsInfo: of these groups, those the caller is or was in."""
    return groups.specified_groups(services().db, user, body.groupIDList)


@operation(bp, "GET", "/<group_id>/members", query=MemberListQuery, response=MemberListResponse)
def member_list(user: CurrentUser, group_id: str, query: MemberListQuery) -> dict[str, Any]:
    """getGroupMemberList: current members, owner first, paged, filtered by role."""
    return groups.member_list(services().db, user, group_id, query)


@operation(bp, "POST", "/<group_id>/members", body=UserListRequest, response=GroupResponse)
def invite(user: CurrentUser, group_id: str, body: UserListRequest) -> dict[str, Any]:
    """inviteUserToGroup (owner, admins): members from a new seq, with nothing unread."""
    return groups.invite(services().db, services().hub, user, group_id, body.userIDList)


@operation(bp, "POST", "/<group_id>/kick", body=UserListRequest, response=GroupResponse)
def kick(user: CurrentUser, group_id: str, body: UserListRequest) -> dict[str, Any]:
    """kickGroupMember (owner; admins for plain members): read-only for them from now on."""
    return groups.kick(services().db, services().hub, user, group_id, body.userIDList)


@operation(bp, "POST", "/<group_id>/quit", body=Empty, response=GroupResponse)
def quit_group(user: CurrentUser, group_id: str, body: Empty) -> dict[str, Any]:
    """quitGroup: leave (not the owner); the conversation stays, read-only."""
    return groups.quit_group(services().db, services().hub, user, group_id)


@operation(bp, "POST", "/<group_id>/dismiss", body=Empty, response=GroupResponse)
def dismiss(user: CurrentUser, group_id: str, body: Empty) -> dict[str, Any]:
    """dismissGroup (owner): everyone leaves; the conversation stays, read-only."""
    return groups.dismiss(services().db, services().hub, user, group_id)


@operation(bp, "POST", "/<group_id>/transfer", body=TransferGroupRequest, response=GroupResponse)
def transfer_owner(user: CurrentUser, group_id: str, body: TransferGroupRequest) -> dict[str, Any]:
    """transferGroupOwner (owner): the new owner takes over; the old one becomes a member."""
    return groups.transfer_owner(services().db, services().hub, user, group_id, body.newOwnerUserID)


@operation(bp, "PATCH", "/<group_id>", body=SetGroupInfoRequest, response=GroupResponse)
def set_info(user: CurrentUser, group_id: str, body: SetGroupInfoRequest) -> dict[str, Any]:
    """setGroupInfo (owner, admins): the group's name."""
    return groups.set_info(services().db, services().hub, user, group_id, body.groupName)


@operation(bp, "POST", "/<group_id>/role", body=SetRoleRequest, response=GroupResponse)
def set_role(user: CurrentUser, group_id: str, body: SetRoleRequest) -> dict[str, Any]:
    """setGroupMemberRoleLevel (owner): make a member an admin (60) or a plain member (20)."""
    return groups.set_role(
        services().db, services().hub, user, group_id, body.userID, body.roleLevel
    )
