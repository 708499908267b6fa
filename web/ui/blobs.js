// Object URLs (blob:) of files the server keeps: IMSDK.getFileURL fetches them with the
// token in the worker; the page shows them in <img src> and downloads. Each is counted by
// who shows it and revoked when nothing shows it any more (URL.revokeObjectURL), so an
// image scrolled away or a chat closed gives its memory back. No DOM here.

export class ObjectURLs {
  /** @type {Map<string, {count: number, promise: Promise<string>, blob: string}>} file URL -> its object URL */
  #held = new Map();

  /**
   * @param {(url: string) => Promise<string>} fetchURL IMSDK.getFileURL({url})'s data
   * @param {{revoke?: (blob: string) => void, create?: (file: Blob) => string}} [env]
   *   URL.revokeObjectURL / URL.createObjectURL (tests pass their own)
   */
  constructor(fetchURL, { revoke, create } = {}) {
    this.fetchURL = fetchURL;
    this.revoke = revoke ?? ((blob) => URL.revokeObjectURL(blob));
    /** An object URL of a local File (a pending upload's preview): the caller revokes it. */
    this.createLocal = create ?? ((file) => URL.createObjectURL(file));
  }

  /** The object URL of `url`, held until release(url) is called as often as this. */
  acquire(url) {
    let entry = this.#held.get(url);
    if (!entry) {
      entry = { count: 0, blob: "", promise: Promise.resolve("") };
      const held = entry;
      entry.promise = this.fetchURL(url).then((blob) => {
        held.blob = String(blob ?? "");
        // Released while it was on its way: nothing shows it.
        if (this.#held.get(url) !== held && held.blob) this.revoke(held.blob);
        return held.blob;
      });
      entry.promise.catch(() => {
        if (this.#held.get(url) === held) this.#held.delete(url);
      });
      this.#held.set(url, entry);
    }
    entry.count++;
    return entry.promise;
  }

  /** One who showed `url` no longer does; the last one revokes it. */
  release(url) {
    const entry = this.#held.get(url);
    if (!entry) return;
    entry.count--;
    if (entry.count > 0) return;
    this.#held.delete(url);
    if (entry.blob) this.revoke(entry.blob);
  }

  /** Revoke everything (signing out). */
  clear() {
    for (const entry of this.#held.values()) if (entry.blob) this.revoke(entry.blob);
    this.#held.clear();
  }

  /** How many file URLs are held (tests). */
  get size() {
    return this.#held.size;
  }
}

/**
 * Show the server file `url` in `img` (its object URL, held while shown); a previous one
 * is released. `url` "" shows nothing. `onShown(ok)` is told whether it loaded.
 * @param {HTMLImageElement} img
 * @param {ObjectURLs} urls
 */
export function showFile(img, url, urls, onShown = () => {}) {
  const held = img._fileURL ?? "";
  if (held === url) return;
  if (held) urls.release(held);
  img._fileURL = url;
  if (!url) {
    img.removeAttribute("src");
    onShown(false);
    return;
  }
  urls.acquire(url).then((blob) => {
    if (img._fileURL !== url) return; // replaced meanwhile
    img.src = blob;
    onShown(true);
  }, () => {
    if (img._fileURL === url) onShown(false);
  });
}

/** The element (and those inside it) shows no server files any more: release them. */
export function releaseFiles(root, urls) {
  const images = root.querySelectorAll ? [...root.querySelectorAll("img")] : [];
  if (root.tagName === "IMG") images.push(root);
  for (const img of images) {
    if (img._fileURL) urls.release(img._fileURL);
    img._fileURL = "";
  }
}
