// Small DOM helpers. User text only ever goes in through textContent / text nodes:
// nothing here accepts HTML.

/**
 * Create an element.
 * @param {string} tag
 * @param {{class?: string, text?: string, data?: Record<string, string|number>,
 *          attrs?: Record<string, string>, on?: Record<string, EventListener>}} [props]
 * @param {(Node|string|null|undefined|false)[]} [children] strings become text nodes
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [key, value] of Object.entries(props.data ?? {})) element.dataset[key] = String(value);
  for (const [key, value] of Object.entries(props.attrs ?? {})) element.setAttribute(key, value);
  for (const [type, listener] of Object.entries(props.on ?? {})) element.addEventListener(type, listener);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

/** Set an element's text only when it changed (keeps selection and avoids relayout). */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** `$("id")`: the element with that id (the page's static skeleton is in index.html). */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from index.html`);
  return element;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A short time for lists: 14:05 today, "Tue" this week, "3 Mar" before. */
export function shortTime(ms) {
  if (!ms) return "";
  const date = new Date(ms);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return timeFormat.format(date);
  if (now.getTime() - date.getTime() < 6 * 24 * 3600 * 1000) return weekdayFormat.format(date);
  return dateFormat.format(date);
}

export function clockTime(ms) {
  return ms ? timeFormat.format(new Date(ms)) : "";
}

export function fullTime(ms) {
  return ms ? fullFormat.format(new Date(ms)) : "";
}

/** One or two letters for an avatar: "Alice Smith" -> "AS", "bob" -> "B". */
export function initials(name) {
  const words = String(name || "?").trim().split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? "?")[0];
  return letters.toUpperCase();
}

/** A stable hue per ID, so an avatar keeps its colour. */
export function hue(id) {
  let hash = 0;
  for (const char of String(id)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return hash % 360;
}
