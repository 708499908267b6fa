// Images and files in the chat: an image message's thumbnail (data-testid="message-image",
// a box of the picture's aspect ratio from its width and height, so the list does not jump
// when it loads), the full view on click (data-testid="image-viewer", a modal dialog
// closed by Escape or its button, the focus back on the thumbnail), a file message's row
// (data-testid="message-file": name, size, data-testid="file-download"), and the pending
// upload's progress (data-testid="upload-progress", from OnProgress).
//
// Pictures come from the server through IMSDK.getFileURL (object URLs held while shown,
// ui/blobs.js); a pending image shows the local File (its own object URL, revoked when the
// sent copy replaces it).

import { humanSize } from "../controller.js";
import { isPicture } from "../model.js";
import { releaseFiles, showFile } from "./blobs.js";
import { h, setText } from "./dom.js";

/** Thumbnails are at most this wide on the page (the server's are at most 320 px). */
const THUMB_MAX = 260;
/** A picture whose size is not known yet is drawn in a box of this shape. */
const UNKNOWN = { width: 240, height: 180 };

/** The thumbnail's server URL and size: the snapshot, else the original (0 sizes: unknown). */
export function thumbnailOf(message) {
  const elem = message?.pictureElem ?? {};
  const snap = elem.snapshotPicture ?? {};
  const source = elem.sourcePicture ?? {};
  const url = String(snap.url || source.url || "");
  const width = Number(snap.width) || Number(source.width) || 0;
  const height = Number(snap.height) || Number(source.height) || 0;
  return { url, width, height };
}

/** The box a thumbnail is drawn in: at most THUMB_MAX wide, the picture's aspect ratio. */
export function thumbnailBox(width, height) {
  const w = width > 0 && height > 0 ? width : UNKNOWN.width;
  const hgt = width > 0 && height > 0 ? height : UNKNOWN.height;
  const shown = Math.min(w, THUMB_MAX);
  return { width: shown, height: Math.round((shown * hgt) / w), ratio: `${w} / ${hgt}` };
}

/** The file message's name, size and type (what the server filled in, else what was picked). */
export function fileOf(message) {
  const elem = message?.fileElem ?? {};
  return {
    name: String(elem.fileName || message?.localFile?.name || "file"),
    size: Number(elem.fileSize) || Number(message?.localFile?.size) || 0,
    url: String(elem.sourceUrl || ""),
  };
}

/**
 * The content of an image or file message inside its bubble, kept in step with the message.
 */
export class Attachment {
  /**
   * @param {{urls: import("./blobs.js").ObjectURLs,
   *          onOpenImage: (message: object, opener: HTMLElement) => void,
   *          onDownload: (message: object) => void}} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.element = h("div", { class: "attachment" });
    this.progress = /** @type {HTMLProgressElement} */ (h("progress", {
      class: "attachment__progress",
      attrs: { max: "100", value: "0", "aria-label": "Upload progress" },
      data: { testid: "upload-progress" },
    }));
    this.progress.hidden = true;
    /** @type {object | null} */
    this.message = null;
    this.kind = "";
    this.localURL = "";
    this.shown = "";
  }

  /** Draw `message` (an image or a file message); only what changed is touched. */
  update(message) {
    this.message = message;
    const kind = isPicture(message) ? "picture" : "file";
    if (kind !== this.kind) this.#build(kind);
    if (kind === "picture") this.#picture(message);
    else this.#file(message);
    const sending = message.state === "sending" && !message.seq;
    this.progress.hidden = !sending;
    const percent = Number(message.progress) || 0;
    if (this.progress.value !== percent) this.progress.value = percent;
    this.progress.setAttribute("aria-valuetext", `${percent}% uploaded`);
    this.element.dataset.state = message.state ?? "";
  }

  /** The message left the list: its pictures go. */
  dispose() {
    releaseFiles(this.element, this.actions.urls);
    this.#dropLocal();
  }

  #build(kind) {
    this.dispose();
    this.kind = kind;
    this.shown = "";
    if (kind === "picture") {
      const img = /** @type {HTMLImageElement} */ (h("img", { class: "attachment__img", attrs: { alt: "Image", decoding: "async" } }));
      const box = h("span", { class: "attachment__box" }, [img]);
      const button = h("button", {
        class: "attachment__image",
        attrs: { type: "button", "aria-label": "Open the image" },
        data: { testid: "message-image" },
        on: { click: () => { if (this.message?.seq) this.actions.onOpenImage(this.message, button); } },
      }, [box]);
      this.parts = { img, box, button };
      this.element.replaceChildren(button, this.progress);
    } else {
      const name = h("span", { class: "attachment__name", data: { testid: "file-name" } });
      const size = h("span", { class: "attachment__size", data: { testid: "file-size" } });
      const download = /** @type {HTMLButtonElement} */ (h("button", {
        class: "button button--small attachment__download",
        text: "Download",
        attrs: { type: "button" },
        data: { testid: "file-download" },
        on: { click: () => { if (this.message?.seq) this.actions.onDownload(this.message); } },
      }));
      const row = h("div", { class: "attachment__file", data: { testid: "message-file" } }, [
        h("span", { class: "attachment__icon", attrs: { "aria-hidden": "true" } }),
        h("span", { class: "attachment__about" }, [name, size]),
        download,
      ]);
      this.parts = { name, size, download, row };
      this.element.replaceChildren(row, this.progress);
    }
  }

  #picture(message) {
    const { img, box, button } = this.parts;
    const { url, width, height } = thumbnailOf(message);
    const shape = thumbnailBox(width, height);
    const key = `${url}|${shape.width}x${shape.height}|${message.seq ? "sent" : "local"}`;
    if (this.shown === key) return;
    this.shown = key;
    // The box has its final size before the picture arrives (CSSOM: the CSP allows it).
    box.style.width = `${shape.width}px`;
    box.style.aspectRatio = shape.ratio;
    button.disabled = !message.seq;
    if (message.seq && url) {
      this.#dropLocal();
      img.hidden = true;
      showFile(img, url, this.actions.urls, (ok) => { img.hidden = !ok; });
    } else if (message.localFile && !this.localURL) {
      try {
        this.localURL = this.actions.urls.createLocal(message.localFile);
        img.src = this.localURL;
      } catch {
        img.hidden = true; // no preview: the box and the progress show
      }
    }
  }

  #file(message) {
    const { name, size, download, row } = this.parts;
    const file = fileOf(message);
    setText(name, file.name);
    name.title = file.name;
    setText(size, humanSize(file.size));
    download.hidden = !message.seq; // nothing to download before it is stored
    download.disabled = !file.url;
    download.setAttribute("aria-label", `Download ${file.name}`);
    row.dataset.size = String(file.size);
  }

  #dropLocal() {
    if (!this.localURL) return;
    this.actions.urls.revoke(this.localURL);
    this.localURL = "";
  }
}

/**
 * The full view of an image (data-testid="image-viewer"): a modal dialog with the
 * original, a close button (data-testid="image-viewer-close"); Escape closes it too, and
 * the focus goes back to what opened it. The original's object URL is released on close.
 */
export class ImageViewer {
  /** @type {HTMLElement | null} */
  #opener = null;
  #url = "";

  /** @param {import("./blobs.js").ObjectURLs} urls */
  constructor(urls, host = document.body) {
    this.urls = urls;
    this.img = /** @type {HTMLImageElement} */ (h("img", { class: "viewer__img", attrs: { alt: "" }, data: { testid: "image-viewer-img" } }));
    this.caption = h("p", { class: "viewer__caption" });
    this.closeButton = h("button", {
      class: "button button--ghost button--icon viewer__close",
      text: "×",
      attrs: { type: "button", "aria-label": "Close the image" },
      data: { testid: "image-viewer-close" },
      on: { click: () => this.close() },
    });
    this.element = /** @type {HTMLDialogElement} */ (h("dialog", {
      class: "viewer",
      attrs: { "aria-label": "Image" },
      data: { testid: "image-viewer" },
      on: {
        keydown: (event) => {
          if (/** @type {KeyboardEvent} */ (event).key !== "Escape") return;
          event.preventDefault();
          event.stopPropagation(); // the chat must not close too
          this.close();
        },
        // The browser's own Escape handling (and a form method=dialog) lands here.
        cancel: (event) => {
          event.preventDefault();
          this.close();
        },
        click: (event) => { if (event.target === this.element) this.close(); }, // the backdrop
      },
    }, [this.closeButton, h("div", { class: "viewer__frame" }, [this.img]), this.caption]));
    host.append(this.element);
  }

  get isOpen() {
    return this.#opener !== null;
  }

  /** Show `message`'s original; `opener` gets the focus back on close. */
  open(message, opener) {
    if (this.isOpen) this.close(false);
    const source = message?.pictureElem?.sourcePicture ?? message?.pictureElem?.bigPicture ?? {};
    const url = String(source.url || thumbnailOf(message).url);
    if (!url) return;
    this.#opener = opener ?? null;
    this.#url = url;
    this.img.removeAttribute("src");
    this.img.hidden = true;
    const width = Number(source.width) || 0;
    const height = Number(source.height) || 0;
    if (width && height) {
      this.img.width = width;
      this.img.height = height;
    }
    setText(this.caption, width && height ? `${width} × ${height} · ${humanSize(source.size)}` : "");
    this.element.dataset.url = url;
    this.urls.acquire(url).then((blob) => {
      if (this.#url !== url) return;
      this.img.src = blob;
      this.img.hidden = false;
    }, () => {
      if (this.#url === url) setText(this.caption, "The image could not be loaded.");
    });
    if (typeof this.element.showModal === "function") this.element.showModal();
    else this.element.setAttribute("open", "");
    this.closeButton.focus();
  }

  /** Close it; `refocus`: the focus goes back to the thumbnail that opened it. */
  close(refocus = true) {
    const opener = this.#opener;
    if (!this.isOpen) return;
    this.#opener = null;
    if (this.#url) this.urls.release(this.#url);
    this.#url = "";
    this.img.removeAttribute("src");
    if (typeof this.element.close === "function" && this.element.open) this.element.close();
    else this.element.removeAttribute("open");
    if (refocus && opener?.isConnected) opener.focus({ preventScroll: true });
  }
}

/** Download a file message's bytes: the attachment URL (?download=1) as an object URL, then <a download>. */
export async function downloadFile(message, fetchURL, revoke = (blob) => URL.revokeObjectURL(blob)) {
  const file = fileOf(message);
  if (!file.url) return;
  const blob = await fetchURL(`${file.url}${file.url.includes("?") ? "&" : "?"}download=1`);
  const link = h("a", { attrs: { href: blob, download: file.name }, class: "visually-hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the object URL; give the browser time to read it.
  setTimeout(() => revoke(blob), 60_000);
}
