// A popup menu (the conversation menu, the message menu): one floating element per
// owner, placed next to the button that opened it, outside any row (the conversation
// list is windowed and its rows clip what they paint). WAI-ARIA's menu button pattern:
// the button has aria-haspopup="menu" and aria-expanded; the menu (role="menu") holds
// buttons with role="menuitem"; arrows move between them, Escape or Tab closes it and the
// focus returns to the button; a click elsewhere, a scroll or a resize closes it too.

import { h } from "./dom.js";

/**
 * @typedef {object} MenuItem
 * @property {string} testid the item's data-testid
 * @property {string} text
 * @property {() => void} run
 * @property {boolean} [danger]
 */

export class PopupMenu {
  /** @type {HTMLElement | null} the button the menu belongs to while it is open */
  #anchor = null;

  /**
   * @param {string} testid the menu's data-testid
   * @param {string} label its accessible name
   */
  constructor(testid, label) {
    this.element = h("div", {
      class: "menu",
      attrs: { role: "menu", "aria-label": label, tabindex: "-1" },
      data: { testid },
    });
    this.element.hidden = true;
    document.body.append(this.element);
    this.element.addEventListener("keydown", (event) => this.#key(event));
    document.addEventListener("pointerdown", (event) => {
      const target = /** @type {Node} */ (event.target);
      if (this.#anchor && !this.element.contains(target) && !this.#anchor.contains(target)) this.close(false);
    }, true);
    window.addEventListener("resize", () => this.close(false));
    document.addEventListener("scroll", (event) => {
      if (this.#anchor && !this.element.contains(/** @type {Node} */ (event.target))) this.close(false);
    }, true);
  }

  /** The button it is open for (null: closed). */
  get anchor() {
    return this.#anchor;
  }

  /**
   * Open for `anchor` with `items`; clicking the same button again closes it.
   * @param {HTMLElement} anchor
   * @param {MenuItem[]} items
   */
  toggle(anchor, items) {
    if (this.#anchor === anchor) {
      this.close();
      return;
    }
    this.close(false);
    this.#anchor = anchor;
    anchor.setAttribute("aria-expanded", "true");
    if (!this.element.id) this.element.id = `menu-${Math.random().toString(36).slice(2, 8)}`;
    anchor.setAttribute("aria-controls", this.element.id);
    this.element.replaceChildren(...items.map((item) => h("button", {
      class: `menu__item${item.danger ? " menu__item--danger" : ""}`,
      text: item.text,
      attrs: { type: "button", role: "menuitem", tabindex: "-1" },
      data: { testid: item.testid },
      on: {
        click: () => {
          this.close();
          item.run();
        },
      },
    })));
    this.element.hidden = false;
    this.#place(anchor);
    this.#items()[0]?.focus();
  }

  /** Close it; `refocus`: give the focus back to its button (not when the user clicked away). */
  close(refocus = true) {
    const anchor = this.#anchor;
    if (!anchor) return;
    this.#anchor = null;
    this.element.hidden = true;
    this.element.replaceChildren();
    anchor.setAttribute("aria-expanded", "false");
    if (refocus && anchor.isConnected) anchor.focus({ preventScroll: true });
  }

  #items() {
    return /** @type {HTMLButtonElement[]} */ ([...this.element.querySelectorAll("[role=menuitem]")]);
  }

  /** Below the button, right edges aligned; above it if there is no room below. */
  #place(anchor) {
    const box = anchor.getBoundingClientRect();
    const menu = this.element;
    menu.style.left = "0px";
    menu.style.top = "0px";
    const { width, height } = menu.getBoundingClientRect();
    const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    const below = box.bottom + 4;
    const top = below + height > window.innerHeight - 8 ? Math.max(8, box.top - height - 4) : below;
    menu.style.left = `${left}px`;
    menu.style.top = `${top}px`;
  }

  #key(event) {
    const items = this.#items();
    const at = items.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const move = (to) => {
      event.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    switch (event.key) {
      case "Escape":
        event.preventDefault();
        event.stopPropagation(); // the chat must not close too
        this.close();
        break;
      case "Tab":
        this.close();
        break;
      case "ArrowDown": move(at + 1); break;
      case "ArrowUp": move(at - 1); break;
      case "Home": move(0); break;
      case "End": move(items.length - 1); break;
      default:
    }
  }
}
