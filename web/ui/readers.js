// The reader list of one of my group messages (data-testid="reader-list"): who has read
// it and who has not yet, as getGroupMessageReaderList answered (derived from read
// positions on the server, rule 16). Opened from a message's "Read by N of M".

import { $, h, hue, initials, setText } from "./dom.js";

export class ReadersView {
  /**
   * @param {import("../model.js").Model} model
   * @param {import("../controller.js").Controller} controller
   */
  constructor(model, controller) {
    this.model = model;
    this.panel = $("reader-list");
    this.title = $("reader-list-title");
    this.note = $("reader-note");
    this.read = $("readers-read");
    this.unread = $("readers-unread");
    this.readHeading = $("readers-read-heading");
    this.unreadHeading = $("readers-unread-heading");
    $("reader-list-close").addEventListener("click", () => controller.closeReaders());
    model.subscribe((change) => this.render(change));
  }

  /** @param {import("../model.js").Change} change */
  render(change) {
    if (!change.readers && !change.chat && !change.receipts) return;
    const readers = this.model.chat?.readers ?? null;
    this.panel.hidden = !readers;
    if (!readers) return;
    this.panel.dataset.seq = String(readers.seq);
    this.panel.dataset.loaded = String(readers.loaded);
    const receipt = this.model.chat.receipts.get(readers.seq);
    setText(this.title, receipt ? `Read by ${receipt.hasReadCount} of ${receipt.groupMemberCount}` : "Read by");
    const note = !readers.loaded ? "Loading…" : readers.failed ? "Could not load who has read it." : "";
    setText(this.note, note);
    this.note.hidden = !note;
    const show = readers.loaded && !readers.failed;
    for (const [list, heading, people, label] of [
      [this.read, this.readHeading, readers.read, "Read"],
      [this.unread, this.unreadHeading, readers.unread, "Not yet read"],
    ]) {
      heading.hidden = !show;
      setText(heading, `${label} · ${people.length}`);
      list.hidden = !show;
      list.replaceChildren(...(show ? people : []).map((person) => {
        const name = person.nickname || person.userID;
        const avatar = h("span", { class: "avatar avatar--small", text: initials(name), attrs: { "aria-hidden": "true" } });
        avatar.style.setProperty("--hue", String(hue(`si_${person.userID}`)));
        return h("li", { class: "members__item", data: { testid: "reader-item", userId: person.userID } }, [
          avatar,
          h("span", { class: "members__who" }, [h("span", { class: "members__name", text: name })]),
        ]);
      }));
    }
  }
}
