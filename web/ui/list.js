// The list pane: the conversation list and the forms that start a chat or a group.
//
// The list is windowed: it may hold 10,000 conversations, so only the rows in and near
// the viewport exist in the DOM. Every row has the same height (ROW_HEIGHT, kept in step
// with .conversations__item in style.css); the rows above and below the window are stood
// in for by the list's ::before and ::after (heights set here), so the scrollbar is that
// of the whole list and the rows present are in list order, in normal flow. A row is one
// <li data-testid="conversation-item" data-conversation-id=…>, kept per conversationID
// while it is in the window and touched only when its record or the view changed. The
// order is view state (ui/order.js), patched from the model's changes.

import { isFile, isNotification, isPicture, isRevoked, messageText } from "../model.js";
import { Constants, ContentType, SessionType } from "../protocol.js";
import { createAvatar, dropAvatar, renderAvatar } from "./avatar.js";
import { $, h, icon, setText, shortTime } from "./dom.js";
import { PopupMenu } from "./menu.js";
import { noticeText, revokedText } from "./notice.js";
import { ConversationOrder } from "./order.js";

/** Height of one row in px: .conversations__item's height in style.css. */
export const ROW_HEIGHT = 66;
/** Rows rendered beyond each edge of the viewport (scrolling shows no blank rows). */
const OVERSCAN = 8;

/** A message's words for one line: its text, "[Image]", or "[File] name". */
export function summaryText(message) {
  if (isPicture(message)) return "[Image]";
  if (isFile(message)) return `[File] ${message.fileElem?.fileName ?? ""}`.trimEnd();
  return messageText(message);
}

/** The latest message as one line of text ("You: hi", "bob: hi", "bob: [Image]"). */
export function preview(conversation, myUserID) {
  const message = conversation.latestMsg;
  if (!message) return conversation.conversationType === SessionType.GROUP ? "Group created" : "No messages yet";
  if (isRevoked(message)) return revokedText(message, myUserID);
  if (isNotification(message)) return noticeText(message, myUserID);
  const text = summaryText(message);
  if (message.sendID === myUserID) return `You: ${text}`;
  if (conversation.conversationType === SessionType.GROUP) return `${message.sendID}: ${text}`;
  return text;
}

/** Whether a record is muted (OpenIM's recvMsgOpt 2: receive, no notification). */
export function isMuted(record) {
  return Number(record?.recvMsgOpt) === Constants.RECV_MSG_OPTS.NOT_NOTIFY;
}

/**
 * What a row's badges show (the contract's test ids): the unread count (also when muted,
 * then greyed), the mark-unread dot only while nothing is unread, "@" for a mention.
 */
export function badgesOf(record) {
  const unread = Number(record.unreadCount) || 0;
  return {
    unread,
    muted: isMuted(record),
    markedUnread: Boolean(record.isMarkedUnread) && unread === 0,
    at: (Number(record.groupAtType) || 0) !== 0,
  };
}

export class ConversationList {
  /**
   * @param {HTMLUListElement} root the scrolling list
   * @param {(conversationID: string) => void} onOpen
   * @param {(conversationID: string, button: HTMLButtonElement) => void} [onMenu]
   * @param {import("./blobs.js").ObjectURLs | null} [urls] avatars' pictures (none: initials only)
   */
  constructor(root, onOpen, onMenu = () => {}, urls = null) {
    this.root = root;
    this.urls = urls;
    this.onOpen = onOpen;
    this.onMenu = onMenu;
    /** @type {Map<string, HTMLLIElement>} conversationID -> its row, for rows in the window */
    this.items = new Map();
    /** @type {object[]} every conversation, sorted (the caller's array, not copied) */
    this.conversations = [];
    this.view = { openID: null, myUserID: "", syncing: false };
    this.frame = 0;
    root.addEventListener("scroll", () => this.#schedule(), { passive: true });
    // Resizes, and the list becoming visible again (narrow screens hide it in a chat).
    new ResizeObserver(() => this.#schedule()).observe(root);
  }

  /**
   * Show `conversations` (already sorted; kept by reference, so pass the array again
   * after changing it). Only the rows in the window are created or updated.
   * @param {object[]} conversations
   * @param {{openID: string|null, myUserID: string, syncing: boolean}} view
   */
  render(conversations, view) {
    this.conversations = conversations;
    this.view = view;
    this.root.classList.toggle("is-syncing", view.syncing);
    this.root.dataset.syncing = String(view.syncing);
    this.#renderWindow();
  }

  /** Re-render the window at the next frame (scrolling, resizing). */
  #schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.#renderWindow();
    });
  }

  /** The rows [first, last) that cover the viewport, plus OVERSCAN on each side. */
  #range(count) {
    // A hidden list (display: none) has no height: render a screenful for when it shows.
    const height = this.root.clientHeight || window.innerHeight;
    const visible = Math.ceil(height / ROW_HEIGHT) + 1;
    const top = Math.floor(this.root.scrollTop / ROW_HEIGHT);
    // When the list has shrunk the scroll position may be past its new end.
    const first = Math.max(0, Math.min(top, count - visible) - OVERSCAN);
    const last = Math.min(count, first + visible + 2 * OVERSCAN);
    return [first, last];
  }

  #renderWindow() {
    const conversations = this.conversations;
    const count = conversations.length;
    const [first, last] = this.#range(count);
    this.root.style.setProperty("--rows-before", `${first * ROW_HEIGHT}px`);
    this.root.style.setProperty("--rows-after", `${(count - last) * ROW_HEIGHT}px`);
    const seen = new Set();
    let previous = null;
    for (let index = first; index < last; index++) {
      const conversation = conversations[index];
      const id = conversation.conversationID;
      seen.add(id);
      let item = this.items.get(id);
      if (!item) {
        item = this.#create(id);
        this.items.set(id, item);
      }
      this.#update(item, conversation, index, count);
      // Move only what is out of place, so unchanged rows are left alone.
      const wanted = previous ? previous.nextSibling : this.root.firstChild;
      if (wanted !== item) this.root.insertBefore(item, wanted);
      previous = item;
    }
    for (const [id, item] of this.items) {
      if (!seen.has(id)) {
        dropAvatar(item._parts.avatar, this.urls);
        item.remove();
        this.items.delete(id);
      }
    }
  }

  #create(id) {
    const avatar = createAvatar();
    const name = h("span", { class: "conv__name" });
    const time = h("time", { class: "conv__time" });
    const text = h("span", { class: "conv__preview" });
    const draftText = document.createTextNode("");
    const draft = h("span", { class: "conv__preview conv__draft", data: { testid: "draft" } }, [
      h("span", { class: "conv__draft-label", text: "Draft:" }), " ", draftText,
    ]);
    draft.hidden = true;
    const badgeSlot = h("span", { class: "conv__badge-slot" });
    const tag = h("span", { class: "conv__tag", data: { testid: "conversation-readonly" } });
    tag.hidden = true;
    const pinned = h("span", { class: "conv__flag conv__flag--pinned", attrs: { title: "Pinned" } }, [icon("pin")]);
    const muted = h("span", { class: "conv__flag conv__flag--muted", attrs: { title: "Muted" } }, [icon("muted")]);
    const button = h(
      "button",
      { class: "conv", attrs: { type: "button" }, on: { click: () => this.onOpen(id) } },
      [
        avatar,
        h("span", { class: "conv__body" }, [
          h("span", { class: "conv__top" }, [name, muted, pinned, tag, time]),
          h("span", { class: "conv__bottom" }, [text, draft, badgeSlot]),
        ]),
      ],
    );
    const menu = h("button", {
      class: "conv__menu",
      attrs: { type: "button", "aria-haspopup": "menu", "aria-expanded": "false" },
      data: { testid: "conversation-menu-button" },
      on: { click: () => this.onMenu(id, menu) },
    }, [icon("more")]);
    const item = h("li", {
      class: "conversations__item",
      data: { testid: "conversation-item", conversationId: id },
    }, [button, menu]);
    item._parts = { avatar, name, tag, time, text, draft, draftText, badgeSlot, button, menu, pinned, muted };
    item._shown = { record: null, open: null, myUserID: null };
    return item;
  }

  #update(item, conversation, index, count) {
    // Screen readers hear the whole list's size, not the window's.
    const position = String(index + 1);
    if (item.getAttribute("aria-posinset") !== position) item.setAttribute("aria-posinset", position);
    const size = String(count);
    if (item.getAttribute("aria-setsize") !== size) item.setAttribute("aria-setsize", size);

    const view = this.view;
    const open = conversation.conversationID === view.openID;
    const shown = item._shown;
    // Records are replaced, never changed in place: the same record shows the same row.
    if (shown.record === conversation && shown.open === open && shown.myUserID === view.myUserID) return;
    item._shown = { record: conversation, open, myUserID: view.myUserID };

    const { avatar, name, tag, time, text, draft, draftText, badgeSlot, button, menu, pinned, muted } = item._parts;
    const badges = badgesOf(conversation);
    const unread = badges.unread;
    const group = conversation.conversationType === SessionType.GROUP;
    // A group the user left, was removed from, or that was dismissed: read-only (rule 11).
    const left = group && Boolean(conversation.isNotInGroup);
    const last = Number(conversation.latestMsg?.contentType);
    const why = !left ? "" : last === ContentType.GROUP_DISMISSED ? "dismissed"
      : last === ContentType.MEMBER_KICKED ? "removed" : "left";
    item.classList.toggle("is-left", left);
    if (why) item.dataset.readonly = why;
    else delete item.dataset.readonly;
    setText(tag, why);
    tag.hidden = !left;
    const showName = conversation.showName || conversation.userID || conversation.groupID || "";
    setText(name, showName);
    menu.setAttribute("aria-label", `More for ${showName}`);
    item.dataset.muted = String(badges.muted);
    item.dataset.pinned = String(Boolean(conversation.isPinned));
    item.classList.toggle("is-muted", badges.muted);
    item.classList.toggle("is-pinned", Boolean(conversation.isPinned));
    muted.hidden = !badges.muted;
    pinned.hidden = !conversation.isPinned;
    renderAvatar(avatar, {
      id: group ? conversation.conversationID : conversation.userID || conversation.conversationID,
      name: showName, group, faceURL: conversation.faceURL || "",
    }, this.urls);
    setText(time, shortTime(conversation.latestMsgSendTime));
    if (conversation.latestMsgSendTime) {
      time.dateTime = new Date(conversation.latestMsgSendTime).toISOString();
    }
    setText(text, preview(conversation, view.myUserID));
    const drafted = String(conversation.draftText ?? "");
    if (draftText.data !== drafted) draftText.data = drafted;
    draft.hidden = !drafted;
    text.hidden = Boolean(drafted);
    if (item.dataset.unread !== String(unread)) item.dataset.unread = String(unread);
    item.classList.toggle("is-unread", unread > 0 || badges.markedUnread);
    item.classList.toggle("is-open", open);
    if (open) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    this.#badges(badgeSlot, badges, conversation);
  }

  /** The "@", unread and mark-unread badges; each absent when it has nothing to say. */
  #badges(slot, badges, conversation) {
    const wanted = [];
    if (badges.at) {
      const mentions = Number(conversation.mentionCount) || 0;
      wanted.push(["at-badge", "badge badge--at", "@",
        mentions > 1 ? `${mentions} mentions of you` : "You were mentioned"]);
    }
    // No unread badge at all when nothing is unread (the contract: absent or "0").
    if (badges.unread > 0) {
      wanted.push(["unread-badge", `badge${badges.muted ? " badge--muted" : ""}`, String(badges.unread),
        `${badges.unread} unread${badges.muted ? " (muted)" : ""}`]);
    }
    if (badges.markedUnread) wanted.push(["marked-unread", "dot", "", "Marked as unread"]);
    const held = new Map([...slot.children].map((el) => [/** @type {HTMLElement} */ (el).dataset.testid, el]));
    const nodes = wanted.map(([testid, className, text, label]) => {
      const badge = held.get(testid) ?? h("span", { data: { testid } });
      if (badge.className !== className) badge.className = className;
      setText(badge, text);
      if (badge.getAttribute("aria-label") !== label) badge.setAttribute("aria-label", label);
      if (!badge.getAttribute("role")) badge.setAttribute("role", "img");
      return badge;
    });
    const same = nodes.length === slot.children.length && nodes.every((node, i) => slot.children[i] === node);
    if (!same) slot.replaceChildren(...nodes);
  }
}

export class ListView {
  /** The model's records in list order. */
  #order = new ConversationOrder();

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   * @param {{urls?: import("./blobs.js").ObjectURLs | null}} [files]
   */
  constructor(model, controller, { urls = null } = {}) {
    this.model = model;
    this.empty = $("conversations-empty");
    this.controller = controller;
    this.menu = new PopupMenu("conversation-menu", "Conversation actions");
    this.list = new ConversationList(
      /** @type {HTMLUListElement} */ ($("conversation-list")),
      (id) => controller.open(id),
      (id, button) => this.#openMenu(id, button),
      urls,
    );
    const markAll = /** @type {HTMLButtonElement} */ ($("mark-all-read"));
    markAll.addEventListener("click", async () => {
      markAll.disabled = true;
      try {
        await controller.markAllRead();
      } finally {
        markAll.disabled = false;
      }
    });
    const newGroup = /** @type {HTMLFormElement} */ ($("new-group-form"));
    const details = /** @type {HTMLDetailsElement} */ ($("new-group"));
    newGroup.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = (name) => /** @type {HTMLInputElement} */ (newGroup.elements.namedItem(name)).value;
      const button = /** @type {HTMLButtonElement} */ (newGroup.querySelector("button"));
      button.disabled = true;
      try {
        if (await controller.createGroup(field("groupName"), field("members"))) {
          newGroup.reset();
          details.open = false;
        }
      } finally {
        button.disabled = false;
      }
    });
    model.subscribe((change) => this.render(change));
  }

  /** The menu of one conversation: what it offers follows its record as it is now. */
  #openMenu(id, button) {
    const record = this.model.conversations.get(id);
    if (!record) return;
    const { controller } = this;
    const muted = isMuted(record);
    const items = [
      { testid: "menu-mute", text: muted ? "Unmute" : "Mute", run: () => controller.setMuted(id, !muted) },
      { testid: "menu-pin", text: record.isPinned ? "Unpin" : "Pin", run: () => controller.setPinned(id, !record.isPinned) },
    ];
    // A left group cannot be marked unread (the server refuses it); it has nothing unread.
    if (!record.isNotInGroup) {
      items.push({ testid: "menu-mark-unread", text: "Mark as unread", run: () => controller.markUnread(id) });
    }
    items.push({ testid: "menu-hide", text: "Hide", run: () => controller.hide(id), danger: true });
    this.menu.toggle(button, items);
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    const { model } = this;
    const conversations = change.conversations;

    if (conversations?.reset) this.#order.reset(model.conversations.values());
    else if (conversations) this.#order.apply(conversations.changed, conversations.removed);
    if (!conversations && !change.chat && !change.me && !change.status) return;
    this.list.render(this.#order.sorted, {
      openID: model.chat?.id ?? null,
      myUserID: model.me?.userID ?? "",
      syncing: model.fromCache,
    });
    this.empty.hidden = this.#order.sorted.length > 0;
    // The menu's conversation left the list (hidden, or out of the window).
    if (this.menu.anchor && !this.menu.anchor.isConnected) this.menu.close(false);
  }
}
