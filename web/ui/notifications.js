// Desktop notifications, the favicon's count, and Web Push.
//
// - Notifier: while the page is hidden (document.hidden), one notification per
//   conversation (tag = conversationID, so a newer message replaces the older one) when a
//   record reports a new message from someone else; none for muted conversations
//   (recvMsgOpt 2, rule 13), my own messages, groups I left, or anything before the first
//   sync has ended (a catch-up is not news). A conversation read on any device (its
//   unreadCount back to 0) takes its notification down. Driven by records, which carry
//   absolute state (rule 6): a repeated or late report shows nothing twice.
// - FaviconBadge: the favicon with the SDK's total drawn on it (a canvas, set as a blob:
//   URL: the CSP's img-src allows 'self' and blob:, not data:).
// - PushSubscriber: after permission, PushManager.subscribe with the server's VAPID key
//   (IMSDK.getPushPublicKey) and IMSDK.subscribePush; the "Show message text in
//   notifications" choice is kept per device (localStorage), off by default.
// - NotificationsBar: the "Turn on notifications" button (data-testid="notifications-enable"):
//   permission is asked only from that click (a user gesture), never on load.
// The browser's APIs come in as `env` objects (browserNotifications() etc. below), so the
// rules are tested in Node.

import { isNotification, isRevoked } from "../model.js";
import { SessionType } from "../protocol.js";
import { isMuted, summaryText } from "./list.js";
import { $, setText } from "./dom.js";

const PREVIEWS_KEY = "tidemark.page.pushPreviews";

/** The words on a favicon badge: "" (none), "1".."99", "99+". */
export function badgeText(count) {
  const n = Math.max(0, Math.floor(Number(count) || 0));
  if (n === 0) return "";
  return n > 99 ? "99+" : String(n);
}

/** Whether this device shows message text in notifications (off unless chosen). */
export function previewsOn(storage) {
  try {
    return storage.getItem(PREVIEWS_KEY) === "true";
  } catch {
    return false;
  }
}

/** What a notification for `record` says: its title and body (no text unless `previews`). */
export function notificationFor(record, { previews }) {
  const message = record.latestMsg ?? {};
  const unread = Number(record.unreadCount) || 1;
  const group = record.conversationType === SessionType.GROUP;
  const title = String(record.showName || record.userID || record.groupID || "Tidemark");
  let body = unread > 1 ? `${unread} new messages` : "New message";
  if (previews) {
    const text = isNotification(message) ? "" : summaryText(message);
    if (text) body = group ? `${message.sendID ?? ""}: ${text}` : text;
    if (unread > 1 && text) body = `${body} (+${unread - 1} more)`;
  }
  return { title, options: { body, tag: record.conversationID, renotify: true, icon: "favicon.svg", data: { conversationID: record.conversationID } } };
}

export class Notifier {
  /** conversationID -> {maxSeq, unread} as last reported */
  #seen = new Map();
  /** conversationIDs with a notification up */
  #shown = new Set();

  /**
   * @param {import("../model.js").Model} model
   * @param {{hidden: () => boolean, permission: () => string, previews: () => boolean,
   *          show: (tag: string, title: string, options: object) => unknown,
   *          close: (tag: string) => unknown}} env
   */
  constructor(model, env) {
    this.model = model;
    this.env = env;
    for (const [id, record] of model.conversations) {
      this.#seen.set(id, { maxSeq: Number(record.maxSeq) || 0, unread: Number(record.unreadCount) || 0 });
    }
    model.subscribe((change) => this.#onChange(change));
  }

  /** conversationIDs whose notification is up (tests). */
  get shown() {
    return this.#shown;
  }

  #onChange(change) {
    const { model, env } = this;
    const conversations = change.conversations;
    if (!conversations) return;
    if (conversations.reset) {
      for (const tag of this.#shown) env.close(tag);
      this.#shown.clear();
      this.#seen.clear();
    }
    // Until the first sync has ended what comes is the cache, or the catch-up: no news.
    const live = Boolean(model.me) && model.screen === "main" && !model.fromCache;
    const me = model.me?.userID ?? "";
    for (const record of conversations.changed) {
      const id = record.conversationID;
      const before = this.#seen.get(id);
      const maxSeq = Number(record.maxSeq) || 0;
      const unread = Number(record.unreadCount) || 0;
      this.#seen.set(id, { maxSeq: Math.max(maxSeq, before?.maxSeq ?? 0), unread });
      if (unread === 0 && (this.#shown.has(id) || (before && before.unread > 0))) {
        // Read, here or on another device: its notification goes (the worker's too).
        this.#shown.delete(id);
        env.close(id);
        continue;
      }
      if (!live || !before || maxSeq <= before.maxSeq || unread === 0) continue;
      const message = record.latestMsg;
      if (!message || message.sendID === me || isRevoked(message)) continue;
      if (isMuted(record) || record.isNotInGroup) continue;
      if (!env.hidden() || env.permission() !== "granted") continue;
      const { title, options } = notificationFor(record, { previews: env.previews() });
      this.#shown.add(id);
      env.show(id, title, options);
    }
    for (const id of conversations.removed) {
      this.#seen.delete(id);
      if (this.#shown.delete(id)) env.close(id);
    }
  }
}

export class FaviconBadge {
  /** The object URL the favicon shows now ("": the plain favicon). */
  #current = "";
  #count = -1;
  #drawing = Promise.resolve();

  /**
   * @param {import("../model.js").Model} model
   * @param {{setIcon: (href: string) => void, base: string,
   *          draw: (text: string) => Promise<string>, revoke: (url: string) => void}} env
   *   draw: the favicon with `text` on a badge, as an object URL
   */
  constructor(model, env) {
    this.model = model;
    this.env = env;
    model.subscribe((change) => {
      if (change.total || change.me) this.show(model.me ? model.total : 0);
    });
  }

  /** Show `count` on the favicon (0: the plain one). Draws run one after another. */
  show(count) {
    const text = badgeText(count);
    if (Number(count) === this.#count) return this.#drawing;
    this.#count = Number(count);
    this.#drawing = this.#drawing.then(async () => {
      if (this.#count !== Number(count)) return; // a newer count is queued
      let next = "";
      if (text) {
        try {
          next = await this.env.draw(text);
        } catch {
          next = ""; // no canvas: the title still says it
        }
      }
      this.env.setIcon(next || this.env.base);
      if (this.#current) this.env.revoke(this.#current);
      this.#current = next;
    });
    return this.#drawing;
  }
}

/** A base64url string as bytes (PushManager's applicationServerKey). */
export function base64urlBytes(text) {
  const base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameBytes(a, b) {
  if (!a || !b) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export class PushSubscriber {
  /**
   * @param {{call: (method: string, ...args: any[]) => Promise<any>, storage: Storage,
   *          permission: () => string,
   *          pushManager: () => Promise<PushManager | null>}} env
   */
  constructor(env) {
    this.env = env;
  }

  get previews() {
    return previewsOn(this.env.storage);
  }

  /** Choose whether notifications show message text here; the server is told at once. */
  async setPreviews(on) {
    this.env.storage.setItem(PREVIEWS_KEY, on ? "true" : "false");
    return this.ensure();
  }

  /**
   * Subscribe this browser (if allowed) and tell the server, with this device's choice of
   * previews. A subscription made for another server key is replaced. True if subscribed.
   */
  async ensure() {
    const { env } = this;
    if (env.permission() !== "granted") return false;
    const manager = await env.pushManager();
    if (!manager) return false;
    const key = base64urlBytes(await env.call("getPushPublicKey"));
    let subscription = await manager.getSubscription();
    if (subscription && !sameBytes(subscription.options?.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await manager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const json = subscription.toJSON();
    await env.call("subscribePush", {
      endpoint: json.endpoint ?? subscription.endpoint,
      keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
      previews: this.previews,
    });
    return true;
  }

  /** Logging out: this browser's subscription goes (the server drops its copy with the session). */
  async unsubscribe() {
    const manager = await this.env.pushManager();
    const subscription = await manager?.getSubscription();
    if (subscription) await subscription.unsubscribe();
  }
}

export class NotificationsBar {
  /**
   * @param {import("../model.js").Model} model
   * @param {{permission: () => string, request: () => Promise<string>}} env
   * @param {PushSubscriber} push
   * @param {{bar?: HTMLElement, button?: HTMLButtonElement, note?: HTMLElement}} [elements]
   */
  constructor(model, env, push, elements = {}) {
    this.model = model;
    this.env = env;
    this.push = push;
    this.bar = elements.bar ?? $("notify-bar");
    this.button = elements.button ?? /** @type {HTMLButtonElement} */ ($("notifications-enable"));
    this.note = elements.note ?? $("notify-note");
    this.button.addEventListener("click", () => this.enable());
    model.subscribe((change) => {
      if (change.me || change.screen) this.render();
    });
  }

  /** The click: ask (a user gesture), then subscribe to push if allowed. */
  async enable() {
    this.button.disabled = true;
    try {
      const answer = await this.env.request();
      if (answer === "granted") await this.push.ensure().catch((error) => console.warn("Tidemark: push subscribe failed", error));
    } finally {
      this.button.disabled = false;
      this.render();
    }
  }

  render() {
    const permission = this.env.permission();
    const show = Boolean(this.model.me) && this.model.screen === "main" && (permission === "default" || permission === "denied");
    this.bar.hidden = !show;
    this.button.hidden = permission !== "default";
    setText(this.note, permission === "denied"
      ? "Notifications are blocked for this site in the browser's settings."
      : "Get notified of new messages.");
  }
}

// -- the browser's side ----------------------------------------------------------------

/** The Notification API, or "unsupported". */
export function notificationPermission() {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** The service worker's registration (web/sw.js), or null where there is none. */
export async function swRegistration() {
  try {
    return (await navigator.serviceWorker?.getRegistration()) ?? null;
  } catch {
    return null;
  }
}

/**
 * Showing and closing notifications: through the service worker's registration when there
 * is one (so the worker's push notifications and these replace each other by tag), else
 * `new Notification`. `onOpen(conversationID)` runs when one is clicked (page-made ones;
 * the worker's click comes as a message, see main.js).
 */
export function browserNotifications(onOpen) {
  /** tag -> a Notification made here */
  const made = new Map();
  return {
    hidden: () => document.hidden,
    permission: notificationPermission,
    async show(tag, title, options) {
      const registration = await swRegistration();
      if (registration) {
        await registration.showNotification(title, options);
        return;
      }
      made.get(tag)?.close();
      const notification = new Notification(title, options);
      notification.addEventListener("click", () => {
        window.focus();
        notification.close();
        onOpen(tag);
      });
      made.set(tag, notification);
    },
    async close(tag) {
      made.get(tag)?.close();
      made.delete(tag);
      const registration = await swRegistration();
      for (const notification of (await registration?.getNotifications({ tag })) ?? []) notification.close();
    },
  };
}

/** The favicon on a canvas with `text` on a red badge, as an object URL of a PNG. */
export function faviconDrawer(base) {
  let image = null;
  return async (text) => {
    if (!image) {
      image = new Image();
      image.src = base;
      await image.decode();
    }
    const size = 64;
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2d canvas");
    ctx.drawImage(image, 0, 0, size, size);
    const radius = text.length > 2 ? 22 : 19;
    const x = size - radius;
    const y = radius;
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, Math.PI * 2);
    ctx.fillStyle = "#d92d20";
    ctx.fill();
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.fillStyle = "#ffffff";
    ctx.font = `bold ${text.length > 2 ? 20 : 26}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x, y + 1);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    if (!blob) throw new Error("toBlob failed");
    return URL.createObjectURL(blob);
  };
}
