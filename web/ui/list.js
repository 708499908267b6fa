// The conversation list: one <li data-testid="conversation-item"> per conversation,
// reused across renders (keyed by conversationID) and ordered by latest message.

import { h, hue, initials, setText, shortTime } from "./dom.js";

/** The SDK's order: newest activity first, the ID breaking ties. */
export function byLatest(a, b) {
  const time = (b.latestMsgSendTime || 0) - (a.latestMsgSendTime || 0);
  if (time !== 0) return time;
  return a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0;
}

/** The latest message as one line of text ("You: hi", "bob: hi"). */
export function preview(conversation, myUserID) {
  const message = conversation.latestMsg;
  if (!message) return conversation.conversationType === 3 ? "Group created" : "No messages yet";
  const text = message.textElem?.content ?? "";
  if (message.sendID === myUserID) return `You: ${text}`;
  if (conversation.conversationType === 3) return `${message.sendID}: ${text}`;
  return text;
}

export class ConversationList {
  /**
   * @param {HTMLUListElement} root
   * @param {(conversationID: string) => void} onOpen
   */
  constructor(root, onOpen) {
    this.root = root;
    this.onOpen = onOpen;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
  }

  /**
   * @param {object[]} conversations already sorted
   * @param {{openID: string|null, myUserID: string, syncing: boolean}} view
   */
  render(conversations, view) {
    const seen = new Set();
    let previous = null;
    for (const conversation of conversations) {
      const id = conversation.conversationID;
      seen.add(id);
      let item = this.items.get(id);
      if (!item) {
        item = this.#create(id);
        this.items.set(id, item);
      }
      this.#update(item, conversation, view);
      // Move only what is out of place, so unchanged rows are left alone.
      const wanted = previous ? previous.nextSibling : this.root.firstChild;
      if (wanted !== item) this.root.insertBefore(item, wanted);
      previous = item;
    }
    for (const [id, item] of this.items) {
      if (!seen.has(id)) {
        item.remove();
        this.items.delete(id);
      }
    }
    this.root.classList.toggle("is-syncing", view.syncing);
    this.root.dataset.syncing = String(view.syncing);
  }

  #create(id) {
    const avatar = h("span", { class: "avatar", attrs: { "aria-hidden": "true" } });
    const name = h("span", { class: "conv__name" });
    const time = h("time", { class: "conv__time" });
    const text = h("span", { class: "conv__preview" });
    const badgeSlot = h("span", { class: "conv__badge-slot" });
    const button = h(
      "button",
      { class: "conv", attrs: { type: "button" }, on: { click: () => this.onOpen(id) } },
      [
        avatar,
        h("span", { class: "conv__body" }, [
          h("span", { class: "conv__top" }, [name, time]),
          h("span", { class: "conv__bottom" }, [text, badgeSlot]),
        ]),
      ],
    );
    const item = h("li", {
      class: "conversations__item",
      data: { testid: "conversation-item", conversationId: id },
    }, [button]);
    item._parts = { avatar, name, time, text, badgeSlot, button };
    return item;
  }

  #update(item, conversation, view) {
    const { avatar, name, time, text, badgeSlot, button } = item._parts;
    const unread = Number(conversation.unreadCount) || 0;
    const group = conversation.conversationType === 3;
    const showName = conversation.showName || conversation.userID || conversation.groupID || "";
    setText(name, showName);
    setText(avatar, group ? "#" : initials(showName));
    avatar.style.setProperty("--hue", String(hue(conversation.conversationID)));
    avatar.classList.toggle("avatar--group", group);
    setText(time, shortTime(conversation.latestMsgSendTime));
    if (conversation.latestMsgSendTime) {
      time.dateTime = new Date(conversation.latestMsgSendTime).toISOString();
    }
    setText(text, preview(conversation, view.myUserID));
    item.dataset.unread = String(unread);
    item.classList.toggle("is-unread", unread > 0);
    item.classList.toggle("is-open", conversation.conversationID === view.openID);
    if (conversation.conversationID === view.openID) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    // No badge at all when nothing is unread (the contract: absent or "0").
    let badge = badgeSlot.firstElementChild;
    if (unread > 0) {
      if (!badge) {
        badge = h("span", { class: "badge", data: { testid: "unread-badge" } });
        badgeSlot.append(badge);
      }
      setText(badge, String(unread));
      badge.setAttribute("aria-label", `${unread} unread`);
    } else if (badge) {
      badge.remove();
    }
  }
}
