// The words for group notifications (membership changes are messages, DESIGN.md rule 12):
// "carol added dave", "ann removed bob", "bob left", … One line of plain text per
// notification, inserted as text by the views (never as HTML). No DOM here, so the
// wording is unit-tested in Node.

import { ContentType } from "../protocol.js";

/** The notification's detail (notificationElem.detail, a JSON string), or {} if unreadable. */
export function noticeDetail(message) {
  const detail = message?.notificationElem?.detail;
  if (detail && typeof detail === "object") return detail;
  try {
    const parsed = JSON.parse(String(detail ?? ""));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/** "a", "a and b", "a, b and c". */
export function joinNames(names) {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * The line that says what the notification `message` did, for the user `myUserID`
 * ("you" where it names them). `nameOf(userID)` may give a better name than the one the
 * notification carries (it is called with the user's ID and that name).
 */
export function noticeText(message, myUserID = "", nameOf = (_id, name) => name) {
  const detail = noticeDetail(message);
  const name = (who) => {
    if (!who?.userID) return "someone";
    if (who.userID === myUserID) return "you";
    return nameOf(who.userID, who.nickname || who.userID) || who.userID;
  };
  const names = (list) => joinNames((Array.isArray(list) ? list : []).map(name)) || "someone";
  const opUser = detail.opUser ?? { userID: message?.sendID, nickname: message?.sendID };
  const op = name(opUser);
  let line;
  switch (Number(message?.contentType)) {
    case ContentType.MEMBER_INVITED: line = `${op} added ${names(detail.invitedUserList)}`; break;
    case ContentType.MEMBER_KICKED: line = `${op} removed ${names(detail.kickedUserList)}`; break;
    case ContentType.MEMBER_QUIT: line = `${name(detail.quitUser ?? opUser)} left`; break;
    case ContentType.GROUP_NAME_UPDATED:
      line = `${op} renamed the group to “${detail.group?.groupName ?? ""}”`;
      break;
    case ContentType.MEMBER_SET_TO_ADMIN: line = `${op} made ${name(detail.member)} an admin`; break;
    case ContentType.MEMBER_SET_TO_ORDINARY: line = `${op} made ${name(detail.member)} a member`; break;
    case ContentType.GROUP_OWNER_TRANSFERRED: line = `${op} made ${name(detail.newGroupOwner)} the owner`; break;
    case ContentType.GROUP_DISMISSED: line = `${op} dismissed the group`; break;
    default: line = `${op} changed the group`;
  }
  // "You left", but a name keeps its own spelling ("carol added you").
  return line.startsWith("you ") ? `Y${line.slice(1)}` : line;
}

/**
 * The line that stands for a revoked message (a tombstone, contentType 2101, whose
 * notificationElem.detail is OpenIM's RevokedInfo): "You revoked a message" or
 * "<name> revoked a message". The old text is gone (from the server too).
 */
export function revokedText(message, myUserID = "", nameOf = (_id, name) => name) {
  const info = noticeDetail(message);
  const revoker = info.revokerID || message?.sendID || "";
  if (revoker && revoker === myUserID) return "You revoked a message";
  const name = revoker ? nameOf(revoker, info.revokerNickname || revoker) || revoker : "Someone";
  return `${name} revoked a message`;
}
