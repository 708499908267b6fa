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

const SVG = "http://www.w3.org/2000/svg";
/** Icon outlines (24×24, stroked): decorative, always aria-hidden. */
const ICONS = {
  more: "M12 5.5v.01M12 12v.01M12 18.5v.01",
  pin: "M9 4h6l-1 5 3 3v2H7v-2l3-3-1-5zM12 14v6",
  muted: "M9 18a3 3 0 0 0 6 0M6 16h12l-1.5-2V10a4.5 4.5 0 0 0-7.7-3.2M6.2 8.6A4.5 4.5 0 0 0 7.5 10v4L6 16M4 4l16 16",
};

/** An inline SVG icon (no external assets), hidden from assistive technology. */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name] ?? "");
  svg.append(path);
  return svg;
}
