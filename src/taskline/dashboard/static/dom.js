// Building DOM nodes without HTML strings: text goes in through textContent and attributes
// through setAttribute, so data (payloads, errors, type names) can never become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      // Handlers are functions only: a string here would be inline script (and CSP refuses it).
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      element.addEventListener(name.slice(2), value);
    } else if (name === "style") {
      throw new TypeError("no style attributes (CSP style-src 'self'): use a class");
    } else if (name === "testid") {
      element.setAttribute("data-testid", value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append children: nodes as they are, strings and numbers as text, arrays flattened, null skipped. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** `h("td", {class: "num", testid: "count-failed"}, 3)`: an HTML element. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements (namespaced). */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace all of an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Pretty JSON as text (for a <pre>); undefined shows as an empty string. */
export function pretty(value) {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

/** "12 s", "3 min", "2 h", "4 d": a span of seconds, roughly. */
export function span(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** "12 s ago", "3 min ago", "2 h ago" from an RFC 3339 time; "" for null. */
export function ago(time) {
  if (!time) return "";
  return `${span(Math.max(0, (Date.now() - Date.parse(time)) / 1000))} ago`;
}

/** A <time> with a relative text and the exact time as its title. */
export function when(time) {
  if (!time) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: time, title: new Date(time).toLocaleString() }, ago(time));
}

/** The same for a time to come: "in 12 s", "due" once it has passed. */
export function whenNext(time) {
  if (!time) return h("span", { class: "muted" }, "—");
  const seconds = (Date.parse(time) - Date.now()) / 1000;
  return h("time", { datetime: time, title: new Date(time).toLocaleString() }, seconds > 0.5 ? `in ${span(seconds)}` : "due");
}

/**
 * A table whose rows stack on narrow screens: each cell is labelled with its column (CSS reads
 * data-label). A column is its heading, or [heading, thAttrs] (e.g. a numeric column's class).
 */
export function table(columns, rows, attrs = {}) {
  const heading = (c) => (Array.isArray(c) ? h("th", { scope: "col", ...c[1] }, c[0]) : h("th", { scope: "col" }, c));
  const head = h("thead", {}, h("tr", {}, columns.map(heading)));
  const body = h("tbody", {}, rows);
  const classes = ["stack", attrs.class].filter(Boolean).join(" ");
  return h("div", { class: "table-wrap" }, h("table", { ...attrs, class: classes }, head, body));
}

/** A row of labelled cells for `table`: `cells` is [[label, content, cellAttrs?], ...]. */
export function row(attrs, cells) {
  return h("tr", attrs, cells.map(([label, content, cellAttrs]) => h("td", { "data-label": label, ...cellAttrs }, content)));
}

/** Call `fn` at most once per `ms`, the last call always honoured (trailing). */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  const run = () => {
    timer = null;
    last = Date.now();
    fn();
  };
  const throttled = () => {
    if (timer !== null) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return throttled;
}

/**
 * A view's life around its `load`: loaded now, again (throttled) when `onEvent` calls the
 * reload it is given or the shell asks for a refresh, every `everyMs` if given, and never
 * after `unmount` (which also runs the view's own `stop`).
 */
export function reloading(load, { throttleMs = 1000, everyMs = 0, onEvent, stop }) {
  const reload = throttle(load, throttleMs);
  load();
  const ticker = everyMs ? setInterval(reload, everyMs) : null;
  return {
    onEvent: (event) => onEvent(event, reload),
    refresh: reload,
    unmount() {
      stop();
      if (ticker !== null) clearInterval(ticker);
      reload.cancel();
    },
  };
}

// Cells whose content may change without the row being another row: numbers, and times ("3 s ago").
function changeable(cell) {
  return cell.classList.contains("num") || cell.classList.contains("soft");
}

function sameShape(old, fresh) {
  if (old.attributes.length !== fresh.attributes.length) return false;
  for (const { name, value } of fresh.attributes) if (old.getAttribute(name) !== value) return false;
  if (old.cells.length !== fresh.cells.length) return false;
  for (let i = 0; i < fresh.cells.length; i += 1) {
    const cell = fresh.cells[i];
    if (!changeable(cell) && !cell.isEqualNode(old.cells[i])) return false;
  }
  return true;
}

/**
 * Show `fresh` (a `table()`) in `holder`, changing only the numbers when the rows are the
 * same rows in the same order with the same attributes: a refresh while tasks flow then
 * leaves the buttons alone, so keyboard focus and a half-done click survive it. A kept row
 * keeps the handlers it was drawn with, and so the data they closed over: a handler that needs
 * figures that may have changed must look them up by the row's key at click time.
 */
export function patchTable(holder, fresh) {
  const oldBody = holder.querySelector("tbody");
  const newBody = fresh.querySelector("tbody");
  const same = oldBody && oldBody.rows.length === newBody.rows.length
    && [...newBody.rows].every((r, i) => sameShape(oldBody.rows[i], r));
  if (!same) {
    replace(holder, fresh);
    return;
  }
  [...newBody.rows].forEach((r, i) => {
    [...r.cells].forEach((cell, c) => {
      const old = oldBody.rows[i].cells[c];
      if (changeable(cell) && !cell.isEqualNode(old)) old.replaceChildren(...cell.childNodes);
    });
  });
}
