// The boot and login screens, and which of the page's screens shows (#app[data-view]):
// boot (loading), failed (the SDK did not start), login, main.

import { $, setText } from "./dom.js";

export class LoginView {
  /** Sign-up mode: the form creates the account, then logs in. */
  #signUp = false;
  #busy = false;
  #shown = "";

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   */
  constructor(model, controller) {
    this.model = model;
    this.controller = controller;
    this.app = $("app");
    this.boot = $("boot-screen");
    this.bootText = $("boot-text");
    this.screen = $("login-screen");
    this.main = $("main-screen");
    this.form = /** @type {HTMLFormElement} */ ($("login-form"));
    this.error = $("login-error");
    this.submit = /** @type {HTMLButtonElement} */ ($("login-submit"));
    this.toggle = $("login-mode-toggle");
    this.switchText = $("login-switch-text");
    this.nicknameField = $("nickname-field");
    this.form.addEventListener("submit", (event) => this.#submit(event));
    this.toggle.addEventListener("click", () => this.#setMode(!this.#signUp));
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    const { model } = this;
    if (change.screen) {
      const screen = model.screen;
      this.app.dataset.view = screen;
      setText(this.bootText, model.bootText);
      this.boot.hidden = screen !== "boot" && screen !== "failed";
      this.screen.hidden = screen !== "login";
      this.main.hidden = screen !== "main";
      if (screen === "login" && this.#shown !== "login") this.#field("userID").focus();
      this.#shown = screen;
    }
    if (change.login) {
      setText(this.error, model.loginMessage);
      this.error.hidden = !model.loginMessage;
    }
  }

  #field(name) {
    return /** @type {HTMLInputElement} */ (this.form.elements.namedItem(name));
  }

  #setMode(signUp) {
    this.#signUp = signUp;
    this.nicknameField.hidden = !signUp;
    this.#label();
    setText(this.switchText, signUp ? "Have an account?" : "New here?");
    setText(this.toggle, signUp ? "Log in instead" : "Create an account");
    this.#field("password").autocomplete = signUp ? "new-password" : "current-password";
    this.model.setLoginMessage("");
  }

  #label() {
    const signUp = this.#signUp;
    if (this.#busy) setText(this.submit, signUp ? "Creating account…" : "Logging in…");
    else setText(this.submit, signUp ? "Create account" : "Log in");
    this.submit.disabled = this.#busy;
  }

  async #submit(event) {
    event.preventDefault();
    if (this.#busy) return;
    this.#busy = true;
    this.#label();
    try {
      await this.controller.login({
        signUp: this.#signUp,
        userID: this.#field("userID").value,
        password: this.#field("password").value,
        nickname: this.#field("nickname").value,
      });
      if (this.model.me) this.#field("password").value = "";
    } finally {
      this.#busy = false;
      this.#label();
    }
  }
}
