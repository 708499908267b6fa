// The @ picker of a group's composer (data-testid="mention-picker"): typing "@" lists
// "everyone" and the members whose name matches what follows it (ui/mentions.js);
// choosing one (click, Enter or Tab) puts "@name " in the text and records who it is.
// The composer keeps the focus throughout: the list is a listbox the textarea points at
// with aria-activedescendant (WAI-ARIA's combobox pattern), arrows move, Escape closes.

import { h } from "./dom.js";
import { AT_ALL, insertMention, mentionOptions, mentionQuery } from "./mentions.js";

let pickers = 0;

export class MentionPicker {
  /** @type {{start: number, query: string} | null} the "@query" being completed */
  #query = null;
  /** @type {{userID: string, name: string}[]} */
  #options = [];
  #active = 0;

  /**
   * @param {HTMLTextAreaElement} input
   * @param {HTMLElement} host the element the list is placed in (above the input)
   * @param {{enabled: () => boolean, members: () => {userID: string, nickname: string}[],
   *          me: () => string, onPick: (option: {userID: string, name: string}) => void}} source
   */
  constructor(input, host, source) {
    this.input = input;
    this.source = source;
    this.id = `mention-picker-${++pickers}`;
    this.list = h("ul", {
      class: "mention-picker",
      attrs: { role: "listbox", id: this.id, "aria-label": "Mention someone" },
      data: { testid: "mention-picker" },
    });
    this.list.hidden = true;
    host.append(this.list);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.id);
    input.setAttribute("aria-expanded", "false");
    for (const type of ["input", "click", "keyup"]) {
      input.addEventListener(type, (event) => {
        // Arrow keys inside the list must not start it over.
        if (type === "keyup" && this.isOpen && ["ArrowUp", "ArrowDown", "Enter", "Tab", "Escape"].includes(/** @type {KeyboardEvent} */ (event).key)) return;
        this.update();
      });
    }
    input.addEventListener("blur", () => this.close());
  }

  get isOpen() {
    return !this.list.hidden;
  }

  /** Look at the text before the caret again: open, filter or close the list. */
  update() {
    const input = this.input;
    const query = this.source.enabled() && input.selectionStart === input.selectionEnd
      ? mentionQuery(input.value, input.selectionStart ?? input.value.length) : null;
    const options = query ? mentionOptions(this.source.members(), query.query, this.source.me()) : [];
    if (!query || options.length === 0) {
      this.close();
      return;
    }
    const same = this.#query?.start === query.start;
    this.#query = query;
    this.#options = options;
    if (!same || this.#active >= options.length) this.#active = 0;
    this.#render();
  }

  close() {
    if (!this.isOpen && !this.#query) return;
    this.#query = null;
    this.#options = [];
    this.list.hidden = true;
    this.list.replaceChildren();
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  /** The composer's keydown: true if the picker took the key (the composer ignores it). */
  keydown(event) {
    if (!this.isOpen) return false;
    const count = this.#options.length;
    switch (event.key) {
      case "ArrowDown":
        this.#active = (this.#active + 1) % count;
        break;
      case "ArrowUp":
        this.#active = (this.#active - 1 + count) % count;
        break;
      case "Enter":
      case "Tab":
        if (event.shiftKey || event.isComposing) return false;
        this.choose(this.#active);
        event.preventDefault();
        return true;
      case "Escape":
        this.close();
        event.preventDefault();
        return true;
      default:
        return false;
    }
    event.preventDefault();
    this.#render();
    return true;
  }

  /** Put "@name " in place of the "@query" and record who it is. */
  choose(index) {
    const option = this.#options[index];
    const query = this.#query;
    if (!option || !query) return;
    const input = this.input;
    const caret = input.selectionStart ?? input.value.length;
    const next = insertMention(input.value, query.start, caret, option.name);
    input.value = next.text;
    input.setSelectionRange(next.caret, next.caret);
    this.close();
    this.source.onPick(option);
  }

  #render() {
    this.list.replaceChildren(...this.#options.map((option, index) => {
      const active = index === this.#active;
      const item = h("li", {
        class: `mention-picker__option${active ? " is-active" : ""}`,
        attrs: { role: "option", id: `${this.id}-${index}`, "aria-selected": String(active) },
        data: { testid: "mention-option", userId: option.userID },
        on: {
          // The composer keeps the focus (and the caret) while the list is clicked.
          mousedown: (event) => event.preventDefault(),
          click: () => this.choose(index),
        },
      }, [
        h("span", { class: "mention-picker__name", text: `@${option.name}` }),
        option.name !== option.userID && option.userID !== AT_ALL
          ? h("span", { class: "mention-picker__id", text: option.userID }) : null,
        option.userID === AT_ALL ? h("span", { class: "mention-picker__id", text: "notify the whole group" }) : null,
      ]);
      return item;
    }));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `${this.id}-${this.#active}`);
    this.list.children[this.#active]?.scrollIntoView({ block: "nearest" });
  }
}
