// The top bar (total unread, sync status, who is logged in, log out), the tab title and
// the error banner, rendered from the model.

import { Status } from "../model.js";
import { $, setText } from "./dom.js";

const STATUS_TEXT = {
  [Status.SYNCING]: "syncing",
  [Status.OFFLINE]: "offline — not up to date",
  [Status.CONNECTING]: "connecting",
  [Status.UP_TO_DATE]: "up to date",
};

/**
 * The tab title for the SDK's total ("(3) Tidemark", or "Tidemark" at 0). The total is the
 * SDK's, which already leaves muted conversations out (rule 13): the page counts nothing.
 */
export function tabTitle(total) {
  return total > 0 ? `(${total}) Tidemark` : "Tidemark";
}

export class StatusView {
  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   */
  constructor(model, controller) {
    this.model = model;
    this.total = $("total-unread");
    this.syncStatus = $("sync-status");
    this.currentUser = $("current-user");
    this.banner = $("error-banner");
    this.bannerText = $("error-text");
    $("logout-button").addEventListener("click", () => controller.logout());
    $("error-dismiss").addEventListener("click", () => model.dismissError());
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    const { model } = this;
    if (change.total) {
      const total = model.total;
      setText(this.total, String(total));
      this.total.classList.toggle("count--zero", total === 0);
      document.title = tabTitle(total);
    }
    if (change.status) {
      const status = model.status;
      this.syncStatus.dataset.state = status;
      setText(this.syncStatus, STATUS_TEXT[status]);
      this.total.classList.toggle("count--stale", status === Status.SYNCING && model.fromCache);
    }
    if (change.me) {
      const me = model.me;
      setText(this.currentUser, !me ? "" : me.nickname && me.nickname !== me.userID ? `${me.nickname} (${me.userID})` : me.userID);
    }
    if (change.error) {
      const error = model.error;
      if (error) setText(this.bannerText, error.message);
      this.banner.hidden = !error;
    }
  }
}
