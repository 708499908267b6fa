// The message search (data-testid="search-input" over the conversation list): the
// server's results (searchLocalMessages, the whole history) grouped by conversation, each
// message a data-testid="search-result" with the matching words in <mark>. Everything is
// built from text nodes: a message's words are never parsed as HTML. Clicking a result
// opens the chat at that message (controller.openAt), the hit highlighted there.

import { summaryText } from "./list.js";
import { $, h, shortTime } from "./dom.js";

/**
 * `text` cut into runs that match one of `keywords` (case-insensitive) and runs that do
 * not, in order; overlapping or touching matches make one run.
 * @returns {{text: string, hit: boolean}[]}
 */
export function highlightSegments(text, keywords) {
  const source = String(text ?? "");
  const lower = source.toLowerCase();
  const marks = new Array(source.length).fill(false);
  for (const word of keywords ?? []) {
    const needle = String(word).toLowerCase();
    if (!needle) continue;
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + 1)) {
      for (let i = at; i < at + needle.length; i++) marks[i] = true;
    }
  }
  const segments = [];
  for (let i = 0; i < source.length;) {
    let j = i;
    while (j < source.length && marks[j] === marks[i]) j++;
    segments.push({ text: source.slice(i, j), hit: marks[i] });
    i = j;
  }
  return segments;
}

/** At most `max` characters of `text` around its first match, with "…" where it was cut. */
export function snippet(text, keywords, max = 140) {
  const source = String(text ?? "").replace(/\s+/g, " ").trim();
  if (source.length <= max) return source;
  const lower = source.toLowerCase();
  const first = Math.min(...(keywords ?? []).map((w) => lower.indexOf(String(w).toLowerCase())).filter((i) => i >= 0), source.length);
  const start = first === source.length ? 0 : Math.max(0, Math.min(first - 30, source.length - max));
  const cut = source.slice(start, start + max);
  return `${start > 0 ? "…" : ""}${cut}${start + max < source.length ? "…" : ""}`;
}

/** The nodes of `text` with `keywords` marked: text nodes and <mark> elements only. */
export function highlighted(text, keywords) {
  return highlightSegments(text, keywords).map((segment) => (segment.hit
    ? h("mark", { class: "search-hit", text: segment.text })
    : document.createTextNode(segment.text)));
}

/**
 * The results list.
 */
export class SearchResults {
  /**
   * @param {HTMLElement} root
   * @param {(conversationID: string, seq: number) => void} onOpen
   */
  constructor(root, onOpen) {
    this.root = root;
    this.onOpen = onOpen;
  }

  /**
   * @param {import("../model.js").Search} search
   * @param {{myUserID: string, names: (conversationID: string) => string}} view
   */
  render(search, view) {
    const nodes = [];
    if (search.loading && search.items.length === 0) {
      nodes.push(h("p", { class: "search__note", text: "Searching…" }));
    } else if (search.failed) {
      nodes.push(h("p", { class: "search__note", text: "The search failed." }));
    } else if (search.items.length === 0) {
      nodes.push(h("p", { class: "search__note", data: { testid: "search-empty" }, text: `No messages match “${search.query}”.` }));
    } else {
      const count = Number(search.totalCount) || 0;
      nodes.push(h("p", { class: "search__note", text: `${count} message${count === 1 ? "" : "s"} found` }));
    }
    for (const item of search.items) {
      const id = String(item.conversationID);
      const name = view.names(id) || item.showName || id;
      const messages = Array.isArray(item.messageList) ? item.messageList : [];
      const more = (Number(item.messageCount) || messages.length) - messages.length;
      nodes.push(h("section", { class: "search-group", data: { conversationId: id } }, [
        h("h3", { class: "search-group__title" }, [
          h("span", { class: "search-group__name", text: name }),
          h("span", { class: "search-group__count", text: String(Number(item.messageCount) || messages.length) }),
        ]),
        h("ul", { class: "search-group__list" }, messages.map((message) => h("li", {}, [
          h("button", {
            class: "search-result",
            attrs: { type: "button" },
            data: { testid: "search-result", conversationId: id, seq: Number(message.seq) || 0 },
            on: { click: () => this.onOpen(id, Number(message.seq)) },
          }, [
            h("span", { class: "search-result__top" }, [
              h("span", { class: "search-result__who", text: message.sendID === view.myUserID ? "You" : String(message.sendID ?? "") }),
              h("time", { class: "search-result__time", text: shortTime(message.sendTime) }),
            ]),
            h("span", { class: "search-result__text", data: { testid: "search-result-text" } },
              highlighted(snippet(summaryText(message), search.keywords), search.keywords)),
          ]),
        ]))),
        more > 0 ? h("p", { class: "search-group__more", text: `and ${more} more` }) : null,
      ]));
    }
    this.root.replaceChildren(...nodes);
  }
}

export class SearchView {
  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   */
  constructor(model, controller) {
    this.model = model;
    this.input = /** @type {HTMLInputElement} */ ($("search-input"));
    this.panel = $("search-results");
    this.pane = $("list-pane");
    this.results = new SearchResults(this.panel, (id, seq) => controller.openAt(id, seq));
    this.input.addEventListener("input", () => controller.searchChanged(this.input.value));
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.input.value) {
        event.preventDefault();
        event.stopPropagation();
        this.input.value = "";
        controller.searchChanged("");
      } else if (event.key === "Enter") {
        event.preventDefault();
        controller.search(this.input.value.trim());
      }
    });
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    if (!change.search && !change.conversations) return;
    const search = this.model.search;
    const active = Boolean(search.query);
    this.pane.classList.toggle("is-searching", active);
    this.panel.hidden = !active;
    if (!active) {
      if (change.search) {
        this.panel.replaceChildren();
        if (this.input.value.trim() === "" && this.input.value) this.input.value = "";
      }
      if (!this.model.me) this.input.value = "";
      return;
    }
    this.results.render(search, {
      myUserID: this.model.me?.userID ?? "",
      names: (id) => this.model.conversations.get(id)?.showName ?? "",
    });
  }
}
