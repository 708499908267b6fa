// The "New chat" picker (data-testid="new-chat-button" opens it): a field
// (data-testid="people-search") that asks IMSDK.searchUsers as one types (debounced by the
// controller), the people found as options (data-testid="person-option") with their
// avatars; arrows move, Enter or a click starts the single chat with that person (as the
// page starts chats: controller.startChat), Escape closes it and the focus goes back to
// the button. WAI-ARIA's combobox pattern: the field keeps the focus and points at the
// active option with aria-activedescendant. With no one found, Enter on a user ID typed
// in full still opens that chat.

import { createAvatar, dropAvatar, renderAvatar } from "./avatar.js";
import { h, setText } from "./dom.js";

export class PeoplePicker {
  #active = 0;
  /** @type {object[]} */
  #options = [];

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   * @param {{button: HTMLButtonElement, host: HTMLElement, urls?: import("./blobs.js").ObjectURLs | null}} parts
   */
  constructor(model, controller, { button, host, urls = null }) {
    this.model = model;
    this.controller = controller;
    this.button = button;
    this.urls = urls;
    this.input = /** @type {HTMLInputElement} */ (h("input", {
      class: "picker__input",
      attrs: {
        type: "search", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
        "aria-controls": "people-options", "aria-label": "Search people by name or user ID",
        placeholder: "Name or user ID", autocapitalize: "none", spellcheck: "false", maxlength: "64",
      },
      data: { testid: "people-search" },
      on: {
        input: () => controller.pickerChanged(this.input.value),
        keydown: (event) => this.#key(/** @type {KeyboardEvent} */ (event)),
      },
    }));
    this.list = h("ul", {
      class: "picker__options",
      attrs: { role: "listbox", id: "people-options", "aria-label": "People" },
      data: { testid: "people-options" },
    });
    this.note = h("p", { class: "picker__note", attrs: { "aria-live": "polite" } });
    this.element = h("div", {
      class: "picker",
      attrs: { role: "dialog", "aria-label": "New chat" },
      data: { testid: "people-picker" },
    }, [this.input, this.note, this.list]);
    this.element.hidden = true;
    host.append(this.element);
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-haspopup", "dialog");
    button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    document.addEventListener("pointerdown", (event) => {
      const target = /** @type {Node} */ (event.target);
      if (this.isOpen && !this.element.contains(target) && !this.button.contains(target)) this.close(false);
    }, true);
    model.subscribe((change) => {
      if (change.picker || change.people) this.render();
      if (change.me && !model.me) this.close(false);
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  open() {
    this.element.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.input.value = "";
    this.controller.pickerChanged("");
    this.render();
    this.input.focus();
  }

  /** Close it; `refocus`: the focus goes back to the button. */
  close(refocus = true) {
    if (!this.isOpen) return;
    this.element.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.input.value = "";
    this.controller.pickerChanged("");
    for (const row of this.list.children) dropAvatar(row.querySelector("[data-testid=avatar]"), this.urls);
    this.list.replaceChildren();
    if (refocus) this.button.focus();
  }

  render() {
    if (!this.isOpen) return;
    const picker = this.model.picker;
    this.#options = picker.users;
    if (this.#active >= this.#options.length) this.#active = 0;
    const old = [...this.list.children];
    this.list.replaceChildren(...this.#options.map((user, index) => {
      const avatar = createAvatar("avatar--small");
      renderAvatar(avatar, { id: user.userID, name: user.nickname || user.userID, faceURL: user.faceURL }, this.urls);
      const name = user.nickname || user.userID;
      return h("li", {
        class: "picker__option",
        attrs: { role: "option", id: `person-option-${index}`, "aria-selected": String(index === this.#active) },
        data: { testid: "person-option", userId: user.userID },
        on: {
          // pointerdown, not click: the field keeps the focus until the choice is made.
          pointerdown: (event) => event.preventDefault(),
          click: () => this.#pick(index),
        },
      }, [avatar, h("span", { class: "picker__who" }, [
        h("span", { class: "picker__name", text: name }),
        h("span", { class: "picker__id", text: `@${user.userID}` }),
      ])]);
    }));
    for (const row of old) dropAvatar(row.querySelector("[data-testid=avatar]"), this.urls);
    this.input.setAttribute("aria-expanded", String(this.#options.length > 0));
    if (this.#options.length) this.input.setAttribute("aria-activedescendant", `person-option-${this.#active}`);
    else this.input.removeAttribute("aria-activedescendant");
    let note = "";
    if (!picker.keyword) note = "Type a name or a user ID.";
    else if (picker.loading && !this.#options.length) note = "Searching…";
    else if (picker.failed) note = "The search failed. Enter a full user ID to chat anyway.";
    else if (!this.#options.length) note = "No one found. Enter a full user ID to chat anyway.";
    setText(this.note, note);
    this.note.hidden = !note;
  }

  #move(to) {
    if (!this.#options.length) return;
    this.#active = (to + this.#options.length) % this.#options.length;
    [...this.list.children].forEach((row, index) => row.setAttribute("aria-selected", String(index === this.#active)));
    this.input.setAttribute("aria-activedescendant", `person-option-${this.#active}`);
    this.list.children[this.#active]?.scrollIntoView?.({ block: "nearest" });
  }

  #key(event) {
    switch (event.key) {
      case "ArrowDown": event.preventDefault(); this.#move(this.#active + 1); break;
      case "ArrowUp": event.preventDefault(); this.#move(this.#active - 1); break;
      case "Home": if (this.#options.length) { event.preventDefault(); this.#move(0); } break;
      case "End": if (this.#options.length) { event.preventDefault(); this.#move(this.#options.length - 1); } break;
      case "Enter":
        event.preventDefault();
        if (this.#options.length) this.#pick(this.#active);
        else if (this.input.value.trim() && this.controller.startChat(this.input.value)) this.close(false);
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        this.close();
        break;
      default:
    }
  }

  #pick(index) {
    const user = this.#options[index];
    if (!user) return;
    if (this.controller.startChat(user.userID)) this.close(false);
  }
}
