// A small DOM for the page's views in Node (no browser): elements with attributes,
// dataset, classList, style, text, children, events that bubble, focus, <dialog>, and
// querySelector(All) for the selectors the views use (tag, .class, #id, [attr], [attr=v],
// combined without spaces, and descendant selectors). Enough to build and click the
// views; not a browser. install() puts `document` and friends on globalThis.

class Event {
  constructor(type, init = {}) {
    this.type = type;
    this.bubbles = Boolean(init.bubbles);
    this.cancelable = init.cancelable ?? true;
    this.defaultPrevented = false;
    this.target = null;
    this.currentTarget = null;
    this.propagationStopped = false;
    Object.assign(this, init);
  }

  preventDefault() { if (this.cancelable) this.defaultPrevented = true; }
  stopPropagation() { this.propagationStopped = true; }
  stopImmediatePropagation() { this.propagationStopped = true; }
}

class Target {
  #listeners = new Map();
  addEventListener(type, listener, options) {
    if (!listener) return;
    const list = this.#listeners.get(type) ?? [];
    list.push({ listener, once: Boolean(options?.once), capture: options === true || Boolean(options?.capture) });
    this.#listeners.set(type, list);
  }

  removeEventListener(type, listener) {
    this.#listeners.set(type, (this.#listeners.get(type) ?? []).filter((l) => l.listener !== listener));
  }

  _fire(event) {
    event.currentTarget = this;
    for (const entry of [...(this.#listeners.get(event.type) ?? [])]) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      if (typeof entry.listener === "function") entry.listener.call(this, event);
      else entry.listener.handleEvent(event);
    }
  }

  dispatchEvent(event) {
    event.target ??= this;
    // Bubble from the target up through its parents, then the document.
    let node = this;
    while (node) {
      node._fire(event);
      if (event.propagationStopped || !event.bubbles || node === doc) break;
      node = node.parentNode ?? (node === doc.documentElement ? doc : null);
    }
    return !event.defaultPrevented;
  }
}

class Node extends Target {
  constructor() {
    super();
    this.parentNode = null;
    this.childNodes = [];
    this.ownerDocument = doc;
  }

  get parentElement() { return this.parentNode instanceof Element ? this.parentNode : null; }
  get firstChild() { return this.childNodes[0] ?? null; }
  get lastChild() { return this.childNodes.at(-1) ?? null; }
  get nextSibling() {
    const siblings = this.parentNode?.childNodes ?? [];
    return siblings[siblings.indexOf(this) + 1] ?? null;
  }

  get isConnected() {
    let node = this;
    while (node.parentNode) node = node.parentNode;
    return node === doc.documentElement;
  }

  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
  set textContent(value) {
    this.replaceChildren();
    if (value !== "" && value !== null && value !== undefined) this.append(new Text(String(value)));
  }

  #adopt(child) {
    if (typeof child === "string") child = new Text(child);
    child.remove?.();
    child.parentNode = this;
    return child;
  }

  append(...children) {
    for (const child of children) this.childNodes.push(this.#adopt(child));
  }

  prepend(...children) {
    this.childNodes.unshift(...children.map((c) => this.#adopt(c)));
  }

  appendChild(child) { this.append(child); return child; }

  insertBefore(child, before) {
    if (!before) return this.appendChild(child);
    const adopted = this.#adopt(child);
    this.childNodes.splice(this.childNodes.indexOf(before), 0, adopted);
    return adopted;
  }

  before(...nodes) {
    if (!this.parentNode) return;
    for (const node of nodes) this.parentNode.insertBefore(node, this);
  }

  replaceChildren(...children) {
    for (const child of this.childNodes) child.parentNode = null;
    this.childNodes = [];
    this.append(...children);
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }

  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
}

class Text extends Node {
  constructor(data) {
    super();
    this.data = data;
    this.nodeType = 3;
  }

  get textContent() { return this.data; }
  set textContent(value) { this.data = String(value); }
}

const camelToKebab = (key) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

class Element extends Node {
  constructor(tagName) {
    super();
    this.tagName = tagName.toUpperCase();
    this.nodeType = 1;
    this.attributes = new Map();
    const element = this;
    this.dataset = new Proxy({}, {
      get: (_t, key) => element.getAttribute(`data-${camelToKebab(String(key))}`) ?? undefined,
      set: (_t, key, value) => { element.setAttribute(`data-${camelToKebab(String(key))}`, String(value)); return true; },
      deleteProperty: (_t, key) => { element.removeAttribute(`data-${camelToKebab(String(key))}`); return true; },
      has: (_t, key) => element.hasAttribute(`data-${camelToKebab(String(key))}`),
    });
    const props = {};
    this.style = new Proxy(props, {
      get: (t, key) => (key === "setProperty" ? (k, v) => { t[k] = String(v); }
        : key === "getPropertyValue" ? (k) => t[k] ?? "" : t[key] ?? ""),
      set: (t, key, value) => { t[key] = String(value); return true; },
    });
    this.classList = {
      add: (...names) => { for (const n of names) if (!this.classList.contains(n)) this.className = `${this.className} ${n}`.trim(); },
      remove: (...names) => { this.className = this.className.split(/\s+/).filter((c) => c && !names.includes(c)).join(" "); },
      contains: (name) => this.className.split(/\s+/).includes(name),
      toggle: (name, force) => {
        const on = force ?? !this.classList.contains(name);
        if (on) this.classList.add(name);
        else this.classList.remove(name);
        return on;
      },
    };
    this.value = "";
    this.disabled = false;
  }

  get children() { return this.childNodes.filter((c) => c instanceof Element); }
  get childElementCount() { return this.children.length; }
  get firstElementChild() { return this.children[0] ?? null; }
  get className() { return this.getAttribute("class") ?? ""; }
  set className(value) { this.setAttribute("class", value); }
  get id() { return this.getAttribute("id") ?? ""; }
  set id(value) { this.setAttribute("id", value); }
  get hidden() { return this.hasAttribute("hidden"); }
  set hidden(value) { if (value) this.setAttribute("hidden", ""); else this.removeAttribute("hidden"); }
  get title() { return this.getAttribute("title") ?? ""; }
  set title(value) { this.setAttribute("title", value); }
  get src() { return this.getAttribute("src") ?? ""; }
  set src(value) { this.setAttribute("src", value); }
  get href() { return this.getAttribute("href") ?? ""; }
  set href(value) { this.setAttribute("href", value); }
  get open() { return this.hasAttribute("open"); }
  get innerHTML() { throw new Error("the views must not use innerHTML"); }
  set innerHTML(_value) { throw new Error("the views must not use innerHTML"); }

  setAttribute(name, value) { this.attributes.set(name, String(value)); }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  hasAttribute(name) { return this.attributes.has(name); }
  removeAttribute(name) { this.attributes.delete(name); }

  focus() { doc.activeElement = this; }
  blur() { if (doc.activeElement === this) doc.activeElement = doc.body; }
  click() {
    if (this.disabled) return;
    this.dispatchEvent(new Event("click", { bubbles: true }));
  }

  scrollIntoView(options) { doc.scrolledIntoView.push({ element: this, options }); }

  // <dialog>
  showModal() { this.setAttribute("open", ""); }
  close() { this.removeAttribute("open"); this.dispatchEvent(new Event("close")); }

  matches(selector) { return selector.split(",").some((s) => matchCompound(this, s.trim())); }

  querySelectorAll(selector) {
    const found = [];
    const walk = (node) => {
      for (const child of node.children) {
        if (child.matches(selector)) found.push(child);
        walk(child);
      }
    };
    walk(this);
    return found;
  }

  querySelector(selector) { return this.querySelectorAll(selector)[0] ?? null; }
}

/** A compound selector ("li.a[data-x=y]"), or descendants of one ("ul li"). */
function matchCompound(element, selector) {
  const parts = selector.split(/\s+/);
  const last = parts.pop();
  if (!matchSimple(element, last)) return false;
  let node = element.parentElement;
  for (let i = parts.length - 1; i >= 0; i--) {
    while (node && !matchSimple(node, parts[i])) node = node.parentElement;
    if (!node) return false;
    node = node.parentElement;
  }
  return true;
}

function matchSimple(element, selector) {
  const pattern = /([.#]?[\w-]+)|\[([\w-]+)(?:=["']?([^"'\]]*)["']?)?\]/g;
  let matched = false;
  for (const [, simple, attr, value] of selector.matchAll(pattern)) {
    matched = true;
    if (attr) {
      if (!element.hasAttribute(attr)) return false;
      if (value !== undefined && element.getAttribute(attr) !== value) return false;
    } else if (simple.startsWith(".")) {
      if (!element.classList.contains(simple.slice(1))) return false;
    } else if (simple.startsWith("#")) {
      if (element.id !== simple.slice(1)) return false;
    } else if (element.tagName !== simple.toUpperCase()) return false;
  }
  return matched;
}

class Document extends Target {
  constructor() {
    super();
    this.scrolledIntoView = [];
    this.hidden = false;
  }

  createElement(tag) { return new Element(tag); }
  createElementNS(_ns, tag) { return new Element(tag); }
  createTextNode(text) { return new Text(String(text)); }
  getElementById(id) { return this.documentElement.querySelector(`#${id}`); }
  querySelector(selector) { return this.documentElement.querySelector(selector); }
  querySelectorAll(selector) { return this.documentElement.querySelectorAll(selector); }
  _fire(event) { super._fire(event); }
}

let doc = null;

/** A fresh document on globalThis (each test file calls it once, or per test). */
export function install() {
  doc = new Document();
  doc.documentElement = new Element("html");
  doc.documentElement.parentNode = null;
  doc.body = new Element("body");
  doc.documentElement.append(doc.body);
  doc.activeElement = doc.body;
  globalThis.document = doc;
  globalThis.Event = Event;
  globalThis.window ??= globalThis;
  globalThis.requestAnimationFrame ??= (run) => setTimeout(run, 0);
  return doc;
}

/** A key press on `element` (bubbles like the browser's). */
export function key(element, name) {
  const event = new Event("keydown", { bubbles: true, key: name });
  element.dispatchEvent(event);
  return event;
}

/** Typing `text` into an input: its value, then an input event. */
export function type(element, text) {
  element.value = text;
  element.dispatchEvent(new Event("input", { bubbles: true }));
}

/** The elements under `root` with data-testid `id`. */
export function byTestId(root, id) {
  return root.querySelectorAll(`[data-testid="${id}"]`);
}

/** Every text node under `node`, and every element's tag, for checking what was built. */
export function nodesOf(node, out = { texts: [], tags: [] }) {
  for (const child of node.childNodes) {
    if (child instanceof Text) out.texts.push(child.data);
    else {
      out.tags.push(child.tagName);
      nodesOf(child, out);
    }
  }
  return out;
}
