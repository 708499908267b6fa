// Avatars (data-testid="avatar"): the user's picture (faceURL, fetched through
// IMSDK.getFileURL), or their initials on a colour derived from the user ID. Groups show
// "#" on a colour of their own. Decorative: the name is always next to it.

import { showFile } from "./blobs.js";
import { h, hue, initials, setText } from "./dom.js";

/**
 * A new avatar element.
 * @param {string} [className] extra class ("avatar--small", …)
 */
export function createAvatar(className = "") {
  const img = /** @type {HTMLImageElement} */ (h("img", { class: "avatar__img", attrs: { alt: "", decoding: "async" } }));
  img.hidden = true;
  const letters = h("span", { class: "avatar__letters" });
  const avatar = h("span", {
    class: `avatar${className ? ` ${className}` : ""}`,
    attrs: { "aria-hidden": "true" },
    data: { testid: "avatar" },
  }, [letters, img]);
  avatar._parts = { img, letters };
  return avatar;
}

/**
 * Show who `avatar` stands for.
 * @param {HTMLElement} avatar made by createAvatar
 * @param {{id: string, name: string, faceURL?: string, group?: boolean}} who id: the user
 *   ID (the colour follows it) or, for a group, its conversation ID
 * @param {import("./blobs.js").ObjectURLs | null} urls
 */
export function renderAvatar(avatar, { id, name, faceURL = "", group = false }, urls) {
  const { img, letters } = avatar._parts;
  setText(letters, group ? "#" : initials(name || id));
  const colour = String(hue(id));
  if (avatar.dataset.hue !== colour) {
    avatar.dataset.hue = colour;
    avatar.style.setProperty("--hue", colour);
  }
  avatar.dataset.userId = group ? "" : id;
  avatar.classList.toggle("avatar--group", group);
  const url = urls ? String(faceURL || "") : "";
  avatar.dataset.face = url ? "true" : "false";
  if (!urls) return;
  showFile(img, url, urls, (ok) => {
    img.hidden = !ok;
    letters.hidden = ok;
    avatar.classList.toggle("has-image", ok);
  });
}

/** The avatar shows nothing any more (its row went): its picture is released. */
export function dropAvatar(avatar, urls) {
  const img = avatar?._parts?.img;
  if (!img?._fileURL || !urls) return;
  urls.release(img._fileURL);
  img._fileURL = "";
}
