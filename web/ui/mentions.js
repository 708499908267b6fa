// @mentions in the composer and in messages (DESIGN.md rule 14). No DOM here, so the
// parsing is unit-tested in Node; the picker (ui/mention-picker.js) and the message list
// (ui/chat.js) draw what these functions say.
//
// Typing "@" in a group opens the picker; choosing someone inserts "@name " and records
// {userID, name}. At sending, the recorded mentions whose "@name" is still in the text
// become createTextAtMessage's atUserIDList and atUsersInfo (OpenIM's shape); "everyone"
// is OpenIM's AtAllTag. A name typed by hand is text, not a mention.

import { Constants } from "../protocol.js";

export const AT_ALL = Constants.AT_ALL_TAG;
/** The name "everyone" is inserted and shown as. */
export const EVERYONE = "everyone";
/** The server's limits: 1-100 mentioned, a groupNickname of 1-64 characters. */
const MAX_MENTIONS = 100;
const MAX_NAME = 64;

/** A character that may end a mention: nothing, a space or punctuation. */
const BOUNDARY = /^$|^[\s.,;:!?)\]}'"…]/u;

/**
 * The "@query" being typed just before `caret`, or null: an "@" at the start or after a
 * space, then no space up to the caret.
 * @returns {{start: number, query: string} | null} start: the index of the "@"
 */
export function mentionQuery(text, caret) {
  const before = String(text).slice(0, caret);
  const match = /(^|\s)@([^\s@]{0,64})$/u.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, query: match[2] };
}

/**
 * The picker's options for `query`: "everyone" first, then the members (not me) whose
 * name or user ID contains it, in the member list's order.
 * @param {{userID: string, nickname: string}[]} members
 * @returns {{userID: string, name: string}[]}
 */
export function mentionOptions(members, query, myUserID) {
  const q = String(query).toLowerCase();
  const options = [];
  if (EVERYONE.includes(q)) options.push({ userID: AT_ALL, name: EVERYONE });
  for (const member of members) {
    if (member.userID === myUserID) continue;
    const name = member.nickname || member.userID;
    if (name.toLowerCase().includes(q) || member.userID.toLowerCase().includes(q)) {
      options.push({ userID: member.userID, name });
    }
  }
  return options;
}

/**
 * Replace text[start, caret) (the "@query") with "@name ".
 * @returns {{text: string, caret: number}}
 */
export function insertMention(text, start, caret, name) {
  const inserted = `@${name} `;
  const after = String(text).slice(caret).replace(/^ /, "");
  return { text: text.slice(0, start) + inserted + after, caret: start + inserted.length };
}

/** Whether "@name" occurs in `text` as a whole mention (followed by a boundary). */
function mentions(text, name) {
  const token = `@${name}`;
  for (let at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + 1)) {
    const before = at === 0 ? "" : text[at - 1];
    if ((before === "" || /\s/u.test(before)) && BOUNDARY.test(text.slice(at + token.length))) return true;
  }
  return false;
}

/**
 * The recorded mentions still in `text`, as createTextAtMessage's arguments (each user
 * once, in the order chosen; at most 100). Empty lists: send a plain text message.
 * @param {{userID: string, name: string}[]} recorded
 * @returns {{atUserIDList: string[], atUsersInfo: {atUserID: string, groupNickname: string}[]}}
 */
export function atMentions(text, recorded) {
  const atUserIDList = [];
  const atUsersInfo = [];
  for (const { userID, name } of recorded) {
    if (atUserIDList.includes(userID) || atUserIDList.length >= MAX_MENTIONS) continue;
    if (!name || !mentions(String(text), name)) continue;
    atUserIDList.push(userID);
    atUsersInfo.push({ atUserID: userID, groupNickname: name.slice(0, MAX_NAME) });
  }
  return { atUserIDList, atUsersInfo };
}

/**
 * An @ message's text cut into plain text and mentions, for drawing: each mention is
 * {mention: "@name", userID, me} where `me` says it names me (or everyone, when someone
 * else wrote it). A mention is "@" + the name in atUsersInfo (or the user ID).
 * @param {{text?: string, atUserList?: string[], atUsersInfo?: {atUserID: string, groupNickname: string}[]}} elem
 * @returns {({text: string} | {mention: string, userID: string, me: boolean})[]}
 */
export function mentionSegments(elem, myUserID, senderID = "") {
  const text = String(elem?.text ?? "");
  const names = new Map((Array.isArray(elem?.atUsersInfo) ? elem.atUsersInfo : [])
    .map((info) => [info.atUserID, info.groupNickname]));
  /** @type {{token: string, userID: string}[]} longest first, so "@ann b" wins over "@ann" */
  const tokens = [];
  for (const userID of Array.isArray(elem?.atUserList) ? elem.atUserList : []) {
    const spellings = new Set([names.get(userID), userID === AT_ALL ? EVERYONE : userID].filter(Boolean));
    for (const name of spellings) tokens.push({ token: `@${name}`, userID });
  }
  tokens.sort((a, b) => b.token.length - a.token.length);
  const segments = [];
  let plain = "";
  for (let i = 0; i < text.length;) {
    const found = text[i] === "@" && (i === 0 || /\s/u.test(text[i - 1]))
      ? tokens.find(({ token }) => text.startsWith(token, i) && BOUNDARY.test(text.slice(i + token.length)))
      : undefined;
    if (!found) {
      plain += text[i++];
      continue;
    }
    if (plain) segments.push({ text: plain });
    plain = "";
    const me = found.userID === myUserID || (found.userID === AT_ALL && senderID !== myUserID);
    segments.push({ mention: found.token, userID: found.userID, me });
    i += found.token.length;
  }
  if (plain) segments.push({ text: plain });
  return segments;
}
