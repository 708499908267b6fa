// The member panel of the open group (data-testid="member-panel"): its members with their
// roles, and what the user's role allows — add by user ID and rename (owner, admins),
// remove (the owner; admins remove plain members), make admin / member, transfer
// ownership and dismiss (the owner), leave (everyone but the owner).
//
// Everything here is server first: a button asks the controller, which asks the SDK; the
// list changes when getGroupMemberList answers again after the change was committed (and
// after every notification message or record change), never before. A refusal shows in
// the error banner and leaves the list as it was.

import { Role, readOnlyReason } from "../model.js";
import { SessionType } from "../protocol.js";
import { createAvatar, renderAvatar } from "./avatar.js";
import { releaseFiles } from "./blobs.js";
import { $, h, setText } from "./dom.js";

const ROLE_NAMES = { [Role.OWNER]: "Owner", [Role.ADMIN]: "Admin", [Role.MEMBER]: "Member" };

/** What `myRole` may do to a member of role `theirs` (not themselves). */
export function allowed(myRole, theirs) {
  return {
    remove: (myRole === Role.OWNER && theirs !== Role.OWNER) || (myRole === Role.ADMIN && theirs === Role.MEMBER),
    setRole: myRole === Role.OWNER && theirs !== Role.OWNER,
    transfer: myRole === Role.OWNER && theirs !== Role.OWNER,
  };
}

export class MembersView {
  /** The button that was clicked once and waits for a second click to confirm, by key. */
  #armed = "";

  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   * @param {{urls?: import("./blobs.js").ObjectURLs | null}} [files]
   */
  constructor(model, controller, { urls = null } = {}) {
    this.model = model;
    this.controller = controller;
    this.urls = urls;
    this.panel = $("member-panel");
    this.note = $("member-note");
    this.list = $("member-list");
    this.renameForm = /** @type {HTMLFormElement} */ ($("rename-form"));
    this.inviteForm = /** @type {HTMLFormElement} */ ($("invite-form"));
    this.leave = /** @type {HTMLButtonElement} */ ($("leave-button"));
    this.dismiss = /** @type {HTMLButtonElement} */ ($("dismiss-button"));

    $("member-panel-close").addEventListener("click", () => controller.toggleMembers(false));
    this.renameForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const field = /** @type {HTMLInputElement} */ (this.renameForm.elements.namedItem("groupName"));
      this.#busy(this.renameForm, controller.renameGroup(field.value));
    });
    this.inviteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const field = /** @type {HTMLInputElement} */ (this.inviteForm.elements.namedItem("userIDs"));
      this.#busy(this.inviteForm, controller.inviteMembers(field.value).then((ok) => {
        if (ok) field.value = "";
      }));
    });
    this.leave.addEventListener("click", () => this.#confirm("leave", this.leave, "Click again to leave", () => controller.quitGroup()));
    this.dismiss.addEventListener("click", () => this.#confirm("dismiss", this.dismiss, "Click again to dismiss", () => controller.dismissGroup()));
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    if (!change.members && !change.chat && !change.me && !change.people) return;
    const chat = this.model.chat;
    const open = Boolean(chat?.panelOpen && chat.type === SessionType.GROUP);
    if (!open) this.#armed = "";
    this.panel.hidden = !open;
    if (!open) {
      if (this.urls && this.list.childElementCount) {
        releaseFiles(this.list, this.urls);
        this.list.replaceChildren();
      }
      return;
    }
    const record = this.model.openRecord;
    const reason = readOnlyReason(record);
    const myRole = reason ? 0 : this.model.myRole;
    const { list, loaded, failed } = chat.members;

    let note = "";
    if (reason) note = reason;
    else if (!loaded) note = "Loading members…";
    else if (failed) note = "Could not load the members.";
    setText(this.note, note);
    this.note.hidden = !note;

    const manager = myRole === Role.OWNER || myRole === Role.ADMIN;
    this.renameForm.hidden = !manager;
    this.inviteForm.hidden = !manager;
    const nameField = /** @type {HTMLInputElement} */ (this.renameForm.elements.namedItem("groupName"));
    if (document.activeElement !== nameField) nameField.value = record?.showName ?? "";
    this.leave.hidden = !myRole || myRole === Role.OWNER;
    this.dismiss.hidden = myRole !== Role.OWNER;
    this.#label(this.leave, "leave", "Leave group", "Click again to leave");
    this.#label(this.dismiss, "dismiss", "Dismiss group", "Click again to dismiss");

    const me = this.model.me?.userID ?? "";
    const items = (reason ? [] : list).map((member) => this.#item(member, me, myRole));
    // The pictures the old rows held go once the new rows hold theirs (no refetch).
    const old = [...this.list.children];
    this.list.replaceChildren(...items);
    if (this.urls) for (const row of old) releaseFiles(row, this.urls);
  }

  #item(member, me, myRole) {
    const role = member.roleLevel;
    const mine = member.userID === me;
    const can = mine ? { remove: false, setRole: false, transfer: false } : allowed(myRole, role);
    const actions = [];
    const action = (key, text, run, confirmText = "") => {
      const button = h("button", {
        class: "link members__action",
        text: this.#armed === key && confirmText ? confirmText : text,
        attrs: { type: "button" },
        data: { testid: `member-${key.split(":")[0]}` },
        on: {
          click: () => (confirmText ? this.#confirm(key, button, confirmText, run) : this.#run(button, run)),
        },
      });
      actions.push(button);
    };
    const id = member.userID;
    if (can.setRole && role === Role.MEMBER) action(`make-admin:${id}`, "Make admin", () => this.controller.setMemberRole(id, Role.ADMIN));
    if (can.setRole && role === Role.ADMIN) action(`make-member:${id}`, "Make member", () => this.controller.setMemberRole(id, Role.MEMBER));
    if (can.transfer) action(`transfer:${id}`, "Make owner", () => this.controller.transferOwner(id), "Confirm: make owner");
    if (can.remove) action(`remove:${id}`, "Remove", () => this.controller.kickMember(id), "Confirm: remove");

    const name = member.nickname || id;
    const badge = h("span", {
      class: `role role--${(ROLE_NAMES[role] ?? "Member").toLowerCase()}`,
      text: ROLE_NAMES[role] ?? "Member",
      data: { testid: "member-role" },
    });
    const avatar = createAvatar("avatar--small");
    const person = this.model.people.get(id);
    renderAvatar(avatar, { id, name, faceURL: person?.faceURL || "" }, this.urls);
    return h("li", {
      class: "members__item",
      data: { testid: "member-item", userId: id, roleLevel: role },
    }, [
      avatar,
      h("span", { class: "members__who" }, [
        h("span", { class: "members__name", text: mine ? `${name} (you)` : name }),
        name !== id ? h("span", { class: "members__id", text: `@${id}` }) : null,
      ]),
      role !== Role.MEMBER ? badge : null,
      actions.length ? h("span", { class: "members__actions" }, actions) : null,
    ]);
  }

  /** A destructive action asks for a second click; anything else disarms it. */
  #confirm(key, button, confirmText, run) {
    if (this.#armed !== key) {
      this.#armed = key;
      button.textContent = confirmText;
      button.classList.add("is-armed");
      return;
    }
    this.#armed = "";
    this.#run(button, run);
  }

  #label(button, key, text, confirmText) {
    const armed = this.#armed === key;
    setText(button, armed ? confirmText : text);
    button.classList.toggle("is-armed", armed);
  }

  #run(button, run) {
    button.disabled = true;
    Promise.resolve(run()).finally(() => { button.disabled = false; });
  }

  #busy(form, promise) {
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
    button.disabled = true;
    promise.finally(() => { button.disabled = false; });
  }
}
