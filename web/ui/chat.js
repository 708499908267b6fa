// The open chat's messages: one <li data-testid="message-item"> per message, keyed by
// clientMsgID (a sent message keeps the clientMsgID it had while sending).

import { clockTime, fullTime, h, setText } from "./dom.js";

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

/** Sent messages by seq; messages still sending (no seq) after them, oldest first. */
export function byPosition(a, b) {
  const aSeq = a.seq || Number.MAX_SAFE_INTEGER;
  const bSeq = b.seq || Number.MAX_SAFE_INTEGER;
  if (aSeq !== bSeq) return aSeq - bSeq;
  return (a.sendTime || a.createTime || 0) - (b.sendTime || b.createTime || 0);
}

export class MessageList {
  /**
   * @param {HTMLOListElement} root
   * @param {(clientMsgID: string) => void} onRetry
   */
  constructor(root, onRetry) {
    this.root = root;
    this.onRetry = onRetry;
    /** @type {Map<string, HTMLLIElement>} */
    this.items = new Map();
  }

  clear() {
    this.root.replaceChildren();
    this.items.clear();
  }

  /**
   * @param {object[]} messages sorted with byPosition; each has a `state`
   * @param {{myUserID: string, group: boolean, peerHasReadSeq: number}} view
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
      if (!item) {
        item = this.#create(message, view);
        this.items.set(message.clientMsgID, item);
      }
      this.#update(item, message, view, message.sendID !== lastSender);
      lastSender = message.sendID;
      nodes.push(item);
    }
    const keep = new Set(messages.map((m) => m.clientMsgID));
    for (const id of this.items.keys()) if (!keep.has(id)) this.items.delete(id);
    this.root.replaceChildren(...nodes);
  }

  #create(message, view) {
    const mine = message.sendID === view.myUserID;
    const sender = h("span", { class: "message__sender" });
    const text = h("p", { class: "message__text" });
    const time = h("time", { class: "message__time" });
    const status = h("span", { class: "message__state", data: { testid: "message-state" } });
    const retry = h("button", {
      class: "link message__retry",
      text: "Retry",
      attrs: { type: "button" },
      data: { testid: "message-retry" },
      on: { click: () => this.onRetry(message.clientMsgID) },
    });
    const item = h("li", {
      class: `message ${mine ? "message--mine" : "message--theirs"}`,
      data: { testid: "message-item", clientMsgId: message.clientMsgID },
    }, [
      sender,
      h("div", { class: "message__bubble" }, [text, h("div", { class: "message__meta" }, [time, status, retry])]),
    ]);
    item._parts = { sender, text, time, status, retry, mine };
    return item;
  }

  #update(item, message, view, firstOfRun) {
    const { sender, text, time, status, retry, mine } = item._parts;
    setText(text, message.textElem?.content ?? "");
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
    setText(status, label);
    status.hidden = !mine;
    retry.hidden = message.state !== "failed";
  }
}
