// My profile (data-testid="profile-dialog", opened from my name in the top bar): the
// nickname and the avatar (uploaded with IMSDK.uploadFile, then setSelfInfo({faceURL})),
// and this device's notification choice (data-testid="push-previews": "Show message text
// in notifications", off by default). What shows is what the SDK reported
// (OnSelfInfoUpdated, on every device): saving waits for the server.

import { createAvatar, renderAvatar } from "./avatar.js";
import { h, setText } from "./dom.js";

export class ProfileDialog {
  /** @type {File | null} the picture chosen and not saved yet */
  #file = null;
  #localURL = "";
  #remove = false;
  /** @type {HTMLElement | null} */
  #opener = null;

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   * @param {{urls: import("./blobs.js").ObjectURLs, push: import("./notifications.js").PushSubscriber,
   *          opener?: HTMLButtonElement, host?: HTMLElement}} parts
   */
  constructor(model, controller, { urls, push, opener, host = document.body }) {
    this.model = model;
    this.controller = controller;
    this.urls = urls;
    this.push = push;
    this.avatar = createAvatar("avatar--large");
    this.preview = /** @type {HTMLImageElement} */ (h("img", { class: "avatar avatar--large profile__preview", attrs: { alt: "" } }));
    this.preview.hidden = true;
    this.fileInput = /** @type {HTMLInputElement} */ (h("input", {
      attrs: { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", "aria-label": "Choose a picture" },
      data: { testid: "profile-avatar-input" },
      on: { change: () => this.#chose() },
    }));
    this.fileInput.hidden = true;
    this.removeButton = h("button", {
      class: "link", text: "Remove picture", attrs: { type: "button" }, data: { testid: "profile-avatar-remove" },
      on: { click: () => { this.#setFile(null); this.#remove = true; this.#renderAvatar(); } },
    });
    this.nickname = /** @type {HTMLInputElement} */ (h("input", {
      attrs: { name: "nickname", maxlength: "64", required: "", autocomplete: "nickname" },
      data: { testid: "profile-nickname" },
    }));
    this.previews = /** @type {HTMLInputElement} */ (h("input", {
      attrs: { type: "checkbox" },
      data: { testid: "push-previews" },
      on: { change: () => this.push.setPreviews(this.previews.checked).catch((error) => console.warn("Tidemark: push", error)) },
    }));
    this.save = /** @type {HTMLButtonElement} */ (h("button", {
      class: "button button--primary", text: "Save", attrs: { type: "submit" }, data: { testid: "profile-save" },
    }));
    this.userLine = h("p", { class: "profile__id" });
    const form = h("form", {
      class: "profile",
      attrs: { method: "dialog" },
      on: { submit: (event) => this.#submit(event) },
    }, [
      h("header", { class: "profile__header" }, [
        h("h2", { class: "profile__title", text: "Your profile", attrs: { id: "profile-title" } }),
        h("button", {
          class: "button button--ghost button--icon", text: "×",
          attrs: { type: "button", "aria-label": "Close" }, data: { testid: "profile-close" },
          on: { click: () => this.close() },
        }),
      ]),
      h("div", { class: "profile__picture" }, [
        this.avatar, this.preview,
        h("div", { class: "profile__picture-actions" }, [
          h("button", {
            class: "button button--small", text: "Choose picture…", attrs: { type: "button" },
            data: { testid: "profile-avatar-button" }, on: { click: () => this.fileInput.click() },
          }),
          this.removeButton,
          this.fileInput,
        ]),
      ]),
      this.userLine,
      h("label", { class: "field" }, [h("span", { class: "field__label", text: "Display name" }), this.nickname]),
      h("label", { class: "check" }, [this.previews, h("span", { text: "Show message text in notifications" })]),
      h("p", { class: "check__hint", text: "On this device only. Off: notifications say “New message”." }),
      h("footer", { class: "profile__footer" }, [
        h("button", { class: "button button--ghost", text: "Cancel", attrs: { type: "button" }, on: { click: () => this.close() } }),
        this.save,
      ]),
    ]);
    this.element = /** @type {HTMLDialogElement} */ (h("dialog", {
      class: "dialog",
      attrs: { "aria-labelledby": "profile-title" },
      data: { testid: "profile-dialog" },
      on: { cancel: (event) => { event.preventDefault(); this.close(); } },
    }, [form]));
    host.append(this.element);
    if (opener) opener.addEventListener("click", () => this.open(opener));
    model.subscribe((change) => {
      if (change.me && this.isOpen) {
        if (!model.me) this.close(false);
        else this.#renderAvatar();
      }
    });
  }

  get isOpen() {
    return this.#opener !== null || this.element.hasAttribute("open");
  }

  open(opener = null) {
    const me = this.model.me;
    if (!me) return;
    this.#opener = opener ?? /** @type {HTMLElement | null} */ (document.activeElement);
    this.#setFile(null);
    this.#remove = false;
    this.nickname.value = me.nickname || me.userID;
    setText(this.userLine, `User ID: ${me.userID}`);
    this.previews.checked = this.push.previews;
    this.#renderAvatar();
    if (typeof this.element.showModal === "function") this.element.showModal();
    else this.element.setAttribute("open", "");
    this.nickname.focus();
  }

  close(refocus = true) {
    const opener = this.#opener;
    this.#opener = null;
    this.#setFile(null);
    if (typeof this.element.close === "function" && this.element.open) this.element.close();
    else this.element.removeAttribute("open");
    if (refocus && opener?.isConnected) opener.focus();
  }

  #chose() {
    const file = this.fileInput.files?.[0] ?? null;
    this.fileInput.value = "";
    if (!file) return;
    this.#setFile(file);
    this.#remove = false;
    this.#renderAvatar();
  }

  #setFile(file) {
    if (this.#localURL) this.urls.revoke(this.#localURL);
    this.#localURL = "";
    this.#file = file;
    if (file) {
      try {
        this.#localURL = this.urls.createLocal(file);
      } catch {
        this.#localURL = "";
      }
    }
  }

  #renderAvatar() {
    const me = this.model.me;
    if (!me) return;
    const showLocal = Boolean(this.#localURL);
    this.preview.hidden = !showLocal;
    if (showLocal) this.preview.src = this.#localURL;
    this.avatar.hidden = showLocal;
    renderAvatar(this.avatar, { id: me.userID, name: me.nickname, faceURL: this.#remove ? "" : me.faceURL || "" }, this.urls);
    this.removeButton.hidden = !(me.faceURL || this.#file) || this.#remove;
  }

  async #submit(event) {
    event.preventDefault();
    this.save.disabled = true;
    setText(this.save, "Saving…");
    try {
      const ok = await this.controller.saveProfile({
        nickname: this.nickname.value, file: this.#file, removeAvatar: this.#remove,
      });
      if (ok) this.close();
    } finally {
      this.save.disabled = false;
      setText(this.save, "Save");
    }
  }
}

/** The top bar's button to my profile: my avatar next to my name. */
export function renderProfileButton(button, model, urls) {
  let avatar = button.querySelector("[data-testid=avatar]");
  if (!avatar) {
    avatar = createAvatar("avatar--tiny");
    button.prepend(avatar);
  }
  const me = model.me;
  if (me) renderAvatar(avatar, { id: me.userID, name: me.nickname || me.userID, faceURL: me.faceURL || "" }, urls);
}

