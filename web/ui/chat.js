// The chat pane: the open conversation's header, its messages (one
// <li data-testid="message-item"> per message, keyed by clientMsgID: a sent message keeps
// the clientMsgID it had while sending), older history on scroll-up, and the composer.
// On a narrow screen the list and the chat take turns (#main-screen[data-screen]).
// Group notifications are system lines (<li data-testid="system-line">), not bubbles; my
// group messages carry "Read by N of M" (data-testid="read-by") under the bubble, which
// opens the reader list. A left, removed or dismissed group is read-only: the composer
// is disabled and a line says why. Who is typing shows above the composer.
// An @ message draws its mentions as <span data-testid="mention">; a revoked message is
// its tombstone (data-revoked="true", "You revoked a message"); a message I may revoke
// has a menu button (data-testid="message-menu-button") offering "Revoke".
// Images and files (ui/attachments.js) are sent with the attach button, a paste or a drop
// on the chat; a search hit opened here is brought into view and highlighted
// (data-highlight="true"), with newer history loading on scrolling down.

import { canRevoke, isFile, isNotification, isPicture, isRevoked, messageText, readOnlyReason } from "../model.js";
import { ContentType, SessionType } from "../protocol.js";
import { Attachment, ImageViewer, downloadFile } from "./attachments.js";
import { createAvatar, renderAvatar } from "./avatar.js";
import { $, clockTime, fullTime, h, icon, setText } from "./dom.js";
import { MentionPicker } from "./mention-picker.js";
import { mentionSegments } from "./mentions.js";
import { PopupMenu } from "./menu.js";
import { joinNames, noticeText, revokedText } from "./notice.js";

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

/** Sent messages by seq; messages still sending (no seq) after them, oldest first. */
export function byPosition(a, b) {
  const aSeq = a.seq || Number.MAX_SAFE_INTEGER;
  const bSeq = b.seq || Number.MAX_SAFE_INTEGER;
  if (aSeq !== bSeq) return aSeq - bSeq;
  return (a.sendTime || a.createTime || 0) - (b.sendTime || b.createTime || 0);
}

/** "bob is typing…", "bob and carol are typing…" ("" when no one is). */
export function typingText(names) {
  if (names.length === 0) return "";
  return `${joinNames(names)} ${names.length === 1 ? "is" : "are"} typing…`;
}

export class MessageList {
  /**
   * @param {HTMLOListElement} root
   * @param {(clientMsgID: string) => void} onRetry
   * @param {(seq: number) => void} [onReadBy] a "Read by" line was clicked
   */
  constructor(root, onRetry, onReadBy = () => {}, onMenu = () => {}, attachments = null) {
    this.root = root;
    /** @type {ConstructorParameters<typeof Attachment>[0] | null} what images and files need */
    this.attachments = attachments;
    this.onRetry = onRetry;
    this.onReadBy = onReadBy;
    /** @type {(clientMsgID: string, button: HTMLButtonElement) => void} */
    this.onMenu = onMenu;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
  }

  clear() {
    for (const item of this.items.values()) this.#dispose(item);
    this.root.replaceChildren();
    this.items.clear();
  }

  /** The item leaves the list: what it holds (object URLs) goes. */
  #dispose(item) {
    item._parts?.attachment?.dispose();
  }

  /**
   * @param {object[]} messages sorted with byPosition; each has a `state`
   * @param {{myUserID: string, group: boolean, peerHasReadSeq: number,
   *          receipts?: Map<number, {hasReadCount: number, groupMemberCount: number}>,
   *          nameOf?: (userID: string, name: string) => string,
   *          canRevoke?: (message: object) => boolean, focusSeq?: number}} view
   */
  render(messages, view) {
    const nodes = [];
    let lastDay = "";
    let lastSender = "";
    for (const message of messages) {
      const time = message.sendTime || message.createTime || 0;
      const day = time ? new Date(time).toDateString() : lastDay;
      if (day !== lastDay) {
        nodes.push(h("li", { class: "messages__day", attrs: { role: "separator" } }, [
          h("span", { text: dayFormat.format(new Date(time)) }),
        ]));
        lastDay = day;
        lastSender = "";
      }
      let item = this.items.get(message.clientMsgID);
      if (isNotification(message)) {
        if (!item) {
          item = h("li", {
            class: "system-line",
            data: { testid: "system-line", clientMsgId: message.clientMsgID },
            attrs: { role: "note" },
          }, [h("span", { class: "system-line__text" })]);
          this.items.set(message.clientMsgID, item);
        }
        setText(item.firstElementChild, noticeText(message, view.myUserID, view.nameOf));
        if (message.seq) item.dataset.seq = String(message.seq);
        item.title = fullTime(message.sendTime || 0);
        lastSender = ""; // the next message starts a run again
        nodes.push(item);
        continue;
      }
      if (!item) {
        item = this.#create(message, view);
        this.items.set(message.clientMsgID, item);
      }
      this.#update(item, message, view, message.sendID !== lastSender);
      lastSender = message.sendID;
      nodes.push(item);
    }
    const keep = new Set(messages.map((m) => m.clientMsgID));
    for (const [id, item] of this.items) {
      if (keep.has(id)) continue;
      this.#dispose(item);
      this.items.delete(id);
    }
    this.root.replaceChildren(...nodes);
  }

  #create(message, view) {
    const mine = message.sendID === view.myUserID;
    const sender = h("span", { class: "message__sender" });
    const text = h("p", { class: "message__text" });
    const media = h("div", { class: "message__media" });
    media.hidden = true;
    const time = h("time", { class: "message__time" });
    const status = h("span", { class: "message__state", data: { testid: "message-state" } });
    const retry = h("button", {
      class: "link message__retry",
      text: "Retry",
      attrs: { type: "button" },
      data: { testid: "message-retry" },
      on: { click: () => this.onRetry(message.clientMsgID) },
    });
    // Only my messages have a "Read by" (groups); it shows once its count is known.
    const readBy = mine ? h("button", {
      class: "link message__read-by",
      attrs: { type: "button", "aria-haspopup": "dialog" },
      data: { testid: "read-by" },
      on: { click: () => { if (item.dataset.seq) this.onReadBy(Number(item.dataset.seq)); } },
    }) : null;
    if (readBy) readBy.hidden = true;
    const menu = h("button", {
      class: "message__menu",
      attrs: { type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": "Message actions" },
      data: { testid: "message-menu-button" },
      on: { click: () => this.onMenu(message.clientMsgID, menu) },
    }, [icon("more")]);
    menu.hidden = true;
    const item = h("li", {
      class: `message ${mine ? "message--mine" : "message--theirs"}`,
      data: { testid: "message-item", clientMsgId: message.clientMsgID },
    }, [
      sender,
      h("div", { class: "message__row" }, [
        h("div", { class: "message__bubble" }, [media, text, h("div", { class: "message__meta" }, [time, status, retry])]),
        menu,
      ]),
      readBy,
    ]);
    item._parts = { sender, text, media, attachment: null, time, status, retry, readBy, menu, mine, shownText: null };
    return item;
  }

  /** The bubble's text: plain, with its mentions drawn apart, or the tombstone's line. */
  #renderText(item, message, view) {
    const parts = item._parts;
    const revoked = isRevoked(message);
    const at = !revoked && Number(message.contentType) === ContentType.AT_TEXT;
    const line = revoked ? revokedText(message, view.myUserID, view.nameOf) : messageText(message);
    const key = `${revoked}|${at}|${line}|${view.myUserID}|${at ? JSON.stringify(message.atTextElem) : ""}`;
    if (parts.shownText === key) return;
    parts.shownText = key;
    if (revoked) item.dataset.revoked = "true";
    else delete item.dataset.revoked;
    item.classList.toggle("message--revoked", revoked);
    if (!at) {
      parts.text.textContent = line;
      return;
    }
    parts.text.replaceChildren(...mentionSegments(message.atTextElem, view.myUserID, message.sendID).map((segment) => (
      "mention" in segment
        ? h("span", {
          class: `mention${segment.me ? " mention--me" : ""}`,
          text: segment.mention,
          data: { testid: "mention", userId: segment.userID, me: String(segment.me) },
        })
        : document.createTextNode(segment.text)
    )));
  }

  /** An image's thumbnail or a file's row, while the message is one (a tombstone has none). */
  #renderMedia(item, message) {
    const parts = item._parts;
    const has = (isPicture(message) || isFile(message)) && !isRevoked(message) && this.attachments;
    if (!has) {
      if (parts.attachment) {
        parts.attachment.dispose();
        parts.attachment = null;
        parts.media.replaceChildren();
      }
      parts.media.hidden = true;
      parts.text.hidden = false;
      return;
    }
    if (!parts.attachment) {
      parts.attachment = new Attachment(this.attachments);
      parts.media.replaceChildren(parts.attachment.element);
    }
    parts.attachment.update(message);
    parts.media.hidden = false;
    parts.text.hidden = true;
    item.classList.toggle("message--picture", isPicture(message));
    item.classList.toggle("message--file", isFile(message));
  }

  #update(item, message, view, firstOfRun) {
    const { sender, time, status, retry, readBy, menu, mine } = item._parts;
    this.#renderText(item, message, view);
    this.#renderMedia(item, message);
    const highlighted = Boolean(view.focusSeq && message.seq === view.focusSeq);
    if (highlighted) item.dataset.highlight = "true";
    else delete item.dataset.highlight;
    menu.hidden = !(view.canRevoke?.(message) ?? false);
    const sent = message.sendTime || message.createTime || 0;
    setText(time, clockTime(sent));
    time.title = fullTime(sent);
    const showSender = view.group && !mine && firstOfRun;
    setText(sender, showSender ? message.sendID : "");
    sender.hidden = !showSender;
    item.classList.toggle("message--run-start", firstOfRun);
    item.dataset.state = message.state;
    if (message.seq) item.dataset.seq = String(message.seq);
    else delete item.dataset.seq;
    let label = "";
    if (mine) {
      if (message.state === "sending") label = "Sending…";
      else if (message.state === "failed") label = "Not sent";
      else if (!view.group && message.seq && message.seq <= view.peerHasReadSeq) label = "Read";
      else label = "Sent";
    }
    // Groups: "Read by N of M" once the count is known (rule 16), in place of "Sent".
    const receipt = readBy && view.group && message.seq && !isRevoked(message) ? view.receipts?.get(message.seq) : undefined;
    if (receipt) {
      setText(readBy, `Read by ${receipt.hasReadCount} of ${receipt.groupMemberCount}`);
      readBy.dataset.read = String(receipt.hasReadCount);
      readBy.dataset.members = String(receipt.groupMemberCount);
      readBy.classList.toggle("is-all", receipt.groupMemberCount > 0 && receipt.hasReadCount >= receipt.groupMemberCount);
      label = "";
    }
    if (readBy) readBy.hidden = !receipt;
    setText(status, label);
    status.hidden = !mine || !label;
    retry.hidden = message.state !== "failed";
  }
}

/** Scrolled to within this many px of the end: new messages keep the end in view. */
const NEAR_BOTTOM = 80;
/** Scrolled to within this many px of the top: the older page loads. */
const NEAR_TOP = 60;

export class ChatView {
  /** The chat (its model key) and what of it the DOM shows. */
  #shown = { key: 0, loaded: false, minSeq: 0, sending: new Set() };
  /** The search hit highlighted in this chat (0: none). */
  #highlight = 0;

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   * @param {{urls: import("./blobs.js").ObjectURLs}} files object URLs of the server's files
   */
  constructor(model, controller, { urls }) {
    this.model = model;
    this.urls = urls;
    this.controller = controller;
    this.main = $("main-screen");
    this.empty = $("chat-empty");
    this.pane = $("chat");
    this.title = $("chat-title");
    this.sub = $("chat-sub");
    this.unread = $("chat-unread");
    this.markRead = /** @type {HTMLButtonElement} */ ($("mark-read-button"));
    this.scroller = $("message-scroller");
    this.loadOlder = /** @type {HTMLButtonElement} */ ($("load-older"));
    this.messages = $("message-list");
    this.composer = /** @type {HTMLFormElement} */ ($("composer"));
    this.input = /** @type {HTMLTextAreaElement} */ ($("message-input"));
    this.sendButton = /** @type {HTMLButtonElement} */ ($("send-button"));
    this.readOnly = $("composer-readonly");
    this.typing = $("typing-line");
    this.membersButton = /** @type {HTMLButtonElement} */ ($("members-button"));
    this.menu = new PopupMenu("message-menu", "Message actions");
    this.viewer = new ImageViewer(urls);
    this.avatar = createAvatar("avatar--header");
    this.title.parentElement?.before(this.avatar);
    this.attachButton = /** @type {HTMLButtonElement} */ ($("attach-button"));
    this.attachInput = /** @type {HTMLInputElement} */ ($("attach-input"));
    this.list = new MessageList(
      /** @type {HTMLOListElement} */ (this.messages),
      (id) => controller.retry(id),
      (seq) => controller.openReaders(seq),
      (id, button) => this.menu.toggle(button, [
        { testid: "menu-revoke", text: "Revoke", run: () => controller.revoke(id), danger: true },
      ]),
      {
        urls,
        onOpenImage: (message, opener) => this.viewer.open(message, opener),
        onDownload: (message) => downloadFile(message, (url) => controller.fileURL(url), urls.revoke)
          .catch((error) => model.showError(`Could not download the file: ${error?.errMsg ?? error}`)),
      },
    );
    this.attachButton.addEventListener("click", () => this.attachInput.click());
    this.attachInput.addEventListener("change", () => {
      const files = [...(this.attachInput.files ?? [])];
      this.attachInput.value = "";
      if (files.length) controller.sendFiles(files);
    });
    // A pasted image (a screenshot) or file is sent; pasted text stays text.
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length === 0 || this.input.disabled) return;
      event.preventDefault();
      controller.sendFiles(files);
    });
    const dragsFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
    this.pane.addEventListener("dragover", (event) => {
      if (!dragsFiles(event) || this.input.disabled) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      this.pane.classList.add("is-dropping");
    });
    this.pane.addEventListener("dragleave", (event) => {
      if (!this.pane.contains(/** @type {Node} */ (event.relatedTarget))) this.pane.classList.remove("is-dropping");
    });
    this.pane.addEventListener("drop", (event) => {
      this.pane.classList.remove("is-dropping");
      if (!dragsFiles(event)) return;
      event.preventDefault();
      if (!this.input.disabled) controller.sendFiles([...(event.dataTransfer?.files ?? [])]);
    });
    /** conversationID -> the people chosen in the @ picker for the text being written */
    this.picks = new Map();
    this.picker = new MentionPicker(this.input, this.composer, {
      enabled: () => model.chat?.type === SessionType.GROUP && !this.input.disabled,
      members: () => model.chat?.members.list ?? [],
      me: () => model.me?.userID ?? "",
      onPick: (option) => {
        const id = model.chat?.id;
        if (!id) return;
        this.picks.set(id, [...(this.picks.get(id) ?? []), option]);
        controller.draftChanged(this.input.value);
        this.#autosize();
      },
    });

    this.membersButton.addEventListener("click", () => controller.toggleMembers());
    this.input.addEventListener("input", () => {
      if (this.input.value.trim()) controller.composing();
      else controller.stopComposing();
      controller.draftChanged(this.input.value);
    });
    this.input.addEventListener("blur", () => controller.stopComposing());

    $("back-button").addEventListener("click", () => controller.close());
    this.markRead.addEventListener("click", () => controller.markOpenRead());
    this.loadOlder.addEventListener("click", () => controller.loadOlder());
    this.scroller.addEventListener("scroll", () => {
      const scroller = this.scroller;
      if (scroller.scrollTop < NEAR_TOP) controller.loadOlder();
      if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM) controller.loadNewer();
    }, { passive: true });
    this.composer.addEventListener("submit", (event) => this.#submit(event));
    this.input.addEventListener("input", () => this.#autosize());
    this.input.addEventListener("keydown", (event) => {
      if (this.picker.keydown(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.composer.requestSubmit();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !model.chat || document.activeElement === this.input) return;
      if (event.defaultPrevented || this.viewer.isOpen || document.querySelector("dialog[open]")) return;
      // The innermost thing open closes first: the reader list, the member panel, the chat.
      if (model.chat.readers) controller.closeReaders();
      else if (model.chat.panelOpen) controller.toggleMembers(false);
      else controller.close();
    });
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    const chat = this.model.chat;
    const opened = (chat?.key ?? 0) !== this.#shown.key;
    if (opened) this.#switchTo(chat);
    if (!chat) return;
    // The model marks `chat` changed when the open conversation's record changed.
    const record = this.model.openRecord;
    if (opened || change.chat || change.me || change.members || change.people) this.#renderHeader(chat, record);
    if (opened || change.chat || change.messages || change.me || change.receipts || change.members) {
      this.#renderMessages(chat, record);
    }
    if (opened || change.chat || change.me) this.#renderComposer(record);
    if (opened || change.typing || change.members) this.#renderTyping(chat);
    if (change.members && this.picker.isOpen) this.picker.update();
    // A side panel (members, readers) takes the right edge: the messages make room for it.
    this.pane.classList.toggle("has-side-panel", Boolean(chat.type === SessionType.GROUP && (chat.panelOpen || chat.readers)));
  }

  /** A name for `userID`: the member list's nickname when it has one. */
  #nameOf(userID, name = userID) {
    const member = this.model.chat?.members.list.find((m) => m.userID === userID);
    return member?.nickname || name || userID;
  }

  /** Read-only (rule 11): the composer is disabled and says why. */
  #renderComposer(record) {
    const reason = readOnlyReason(record);
    setText(this.readOnly, reason);
    this.readOnly.hidden = !reason;
    this.input.disabled = Boolean(reason);
    this.sendButton.disabled = Boolean(reason);
    this.attachButton.disabled = Boolean(reason);
    this.composer.classList.toggle("is-readonly", Boolean(reason));
    this.input.placeholder = reason ? "Read-only" : "Write a message";
    if (reason) this.input.value = "";
  }

  #renderTyping(chat) {
    const text = typingText(this.model.typingIn(chat.id).map((id) => this.#nameOf(id)));
    setText(this.typing, text);
    this.typing.hidden = !text;
  }

  /** Another chat (or none) is open now. */
  #switchTo(chat) {
    this.list.clear();
    this.viewer.close(false);
    this.#highlight = 0;
    this.#shown = { key: chat?.key ?? 0, loaded: false, minSeq: 0, sending: new Set() };
    this.main.dataset.screen = chat ? "chat" : "list";
    this.empty.hidden = Boolean(chat);
    this.pane.hidden = !chat;
    this.menu.close(false);
    this.picker.close();
    if (!chat) return;
    // The draft this device keeps for it (setConversationDraft) comes back into the input.
    this.input.value = this.model.conversations.get(chat.id)?.draftText ?? "";
    this.#autosize();
    if (!window.matchMedia("(pointer: coarse)").matches) this.input.focus({ preventScroll: true });
  }

  #renderHeader(chat, record) {
    const group = chat.type === SessionType.GROUP;
    const name = record?.showName || chat.peer || chat.groupID || chat.id;
    setText(this.title, name);
    const peer = record?.userID || chat.peer;
    const person = group ? null : this.model.people.get(peer);
    renderAvatar(this.avatar, {
      id: group ? chat.id : peer, name, group, faceURL: record?.faceURL || person?.faceURL || "",
    }, this.urls);
    let sub = `@${record?.userID || chat.peer}`;
    if (group) {
      const count = chat.members.list.length;
      sub = record?.isNotInGroup ? "Group · read-only"
        : chat.members.loaded && count ? `Group · ${count} member${count === 1 ? "" : "s"}` : "Group";
    }
    setText(this.sub, sub);
    this.membersButton.hidden = !group;
    this.membersButton.setAttribute("aria-expanded", String(chat.panelOpen));
    this.membersButton.classList.toggle("is-active", chat.panelOpen);
    const unread = Number(record?.unreadCount) || 0;
    setText(this.unread, `${unread} unread`);
    this.unread.hidden = unread === 0;
    this.markRead.disabled = !record;
  }

  #renderMessages(chat, record) {
    const scroller = this.scroller;
    const shown = this.#shown;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM;
    const before = { height: scroller.scrollHeight, top: scroller.scrollTop };
    const messages = [...chat.messages.values()].sort(byPosition);
    const myUserID = this.model.me?.userID ?? "";
    const group = chat.type === SessionType.GROUP;
    // A left group is read-only: nothing to revoke there (rule 11).
    const myRole = group && !record?.isNotInGroup ? this.model.myRole : 0;
    const readOnly = Boolean(readOnlyReason(record));
    if (chat.focusSeq) this.#highlight = chat.focusSeq;
    this.list.render(messages, {
      focusSeq: this.#highlight,
      myUserID,
      group,
      peerHasReadSeq: Number(record?.peerHasReadSeq) || 0,
      receipts: chat.receipts,
      nameOf: (id, name) => this.#nameOf(id, name),
      canRevoke: (message) => !readOnly && canRevoke(message, {
        myUserID, myRole, senderRole: group ? this.model.roleOf(message.sendID) : 0, group,
      }),
    });
    // The message the menu was for became a tombstone (or went): its menu goes.
    if (this.menu.anchor && (!this.menu.anchor.isConnected || this.menu.anchor.hidden)) this.menu.close(false);
    this.loadOlder.hidden = !chat.loaded || chat.isEnd || chat.minSeq <= 1;
    this.loadOlder.disabled = chat.loadingOlder;
    setText(this.loadOlder, chat.loadingOlder ? "Loading…" : "Load older messages");
    this.messages.dataset.loaded = String(chat.loaded);

    // A message the reader just wrote brings the end into view.
    const sending = new Set(messages.filter((m) => m.state === "sending").map((m) => m.clientMsgID));
    const wrote = [...sending].some((id) => !shown.sending.has(id));
    const hit = chat.focusSeq && chat.loaded ? this.list.items.get(messages.find((m) => m.seq === chat.focusSeq)?.clientMsgID ?? "") : null;
    if (hit) {
      // A search hit: in view (centred), highlighted; then it is left where the reader takes it.
      hit.scrollIntoView?.({ block: "center" });
      queueMicrotask(() => this.model.focusDone(chat.key));
    } else if (chat.focusSeq && chat.loaded) {
      queueMicrotask(() => this.model.focusDone(chat.key)); // not in the history (revoked, gone)
    } else if (shown.loaded && chat.minSeq < shown.minSeq && !wrote) {
      // Older messages came in above: keep the message the reader was looking at in place.
      scroller.scrollTop = before.top + (scroller.scrollHeight - before.height);
    } else if (((chat.loaded && !shown.loaded) || wrote || atBottom) && !(chat.hasNewer && !wrote && shown.loaded)) {
      this.#scrollToBottom(); // the first page, or following the end
    }
    this.#shown = { key: chat.key, loaded: chat.loaded, minSeq: chat.minSeq, sending };

    // Load older pages until the list can scroll (so that scrolling up can load more).
    const canScroll = scroller.scrollHeight > scroller.clientHeight;
    if (chat.loaded && !chat.isEnd && !chat.loadingOlder && !chat.olderFailed && !canScroll) {
      queueMicrotask(() => this.controller.loadOlder());
    }
  }

  #scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  async #submit(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!this.model.chat || !text || this.input.disabled) return;
    const id = this.model.chat.id;
    const picks = this.picks.get(id) ?? [];
    this.controller.stopComposing();
    this.picker.close();
    this.input.value = "";
    this.picks.delete(id);
    this.#autosize();
    if (!(await this.controller.send(text, picks))) {
      this.input.value = text;
      this.picks.set(id, picks);
    }
  }

  #autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }
}
