// The app shell: asks who the key belongs to, keeps the live stream, and mounts one view per
// hash route (`#/`, `#/tasks/<id>`, ...). A view module exports `mount(root, params)` and
// returns `{onEvent?, refresh?, unmount?}`.

import { api, ApiError, getKey, onUnauthorized, setKey } from "./api.js";
import { remember } from "./bus.js";
import { h, replace } from "./dom.js";
import { Live } from "./live.js";
import { role, setRole } from "./ui.js";
import * as overview from "./overview.js";
import * as live from "./events.js";
import * as workers from "./workers.js";
import * as queues from "./queues.js";
import * as tasks from "./tasks.js";
import * as task from "./task.js";
import * as failures from "./failures.js";
import * as schedules from "./schedules.js";

const ROUTES = { "": overview, live, workers, queues, tasks, failures, schedules };
const NAV_OF = { "": "overview" };
const CONN_TEXT = { live: "live", polling: "polling every 2 s", connecting: "connecting…", offline: "offline" };

const main = document.getElementById("view");
const keys = document.querySelector(".keys");
const keyForm = document.querySelector('[data-testid="key-form"]');
const keyInput = document.querySelector('[data-testid="key-input"]');
const keyError = keyForm.querySelector(".form-error");
const conn = document.querySelector('[data-testid="conn"]');

let current = null; // the mounted view's hooks
let askingForKey = false;

const stream = new Live({
  onEvent(event) {
    if (event.event !== "lagged") remember(event);
    current?.onEvent?.(event);
  },
  onState(state) {
    conn.dataset.state = state;
    conn.textContent = CONN_TEXT[state];
    // The page loaded while the server was away: ask again who we are, and redraw the
    // view's controls once the role is known.
    if (state === "live" && role() === null) identify().then(() => role() !== null && route());
  },
  onRefresh() {
    current?.refresh?.();
  },
});

/** `#/tasks/abc?x=1` → {view, params: {id: "abc", query: URLSearchParams}}. */
function parse(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, search = ""] = text.split("?", 2);
  const query = new URLSearchParams(search);
  const nowhere = { view: null, name: null, params: { query } };
  let parts;
  try {
    parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  } catch (error) {
    // A malformed escape (`#/tasks/%E0`, typed or pasted) names no view: say so, rather than
    // leave the page blank with an uncaught URIError.
    if (error instanceof URIError) return nowhere;
    throw error;
  }
  if (parts[0] === "tasks" && parts.length === 2) return { view: task, name: "tasks", params: { id: parts[1], query } };
  const name = parts.length <= 1 ? parts[0] || "" : null;
  if (name === null || !(name in ROUTES)) return nowhere;
  return { view: ROUTES[name], name: NAV_OF[name] ?? name, params: { query } };
}

function route() {
  if (askingForKey) return;
  current?.unmount?.();
  current = null;
  const { view, name, params } = parse(location.hash);
  for (const link of document.querySelectorAll("nav a[data-route]")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.replaceChildren();
  document.title = name ? `${name[0].toUpperCase()}${name.slice(1)} · Taskline` : "Taskline";
  if (view === null) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, "There is no such view. ", h("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  current = view.mount(main, params) || {};
}

function showRole(role, keysOn) {
  setRole(role);
  const holder = document.querySelector(".role");
  holder.querySelector('[data-testid="key-role"]').textContent = role ?? "";
  holder.hidden = role === null;
  document.querySelector('[data-testid="key-forget"]').hidden = !(keysOn || getKey());
}

/** Ask the server who we are; false when it wants a key. */
async function identify() {
  try {
    const who = await api("GET", "/api/v1/whoami");
    showRole(who.role, who.keys);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    // A server without /whoami (older), or one unreachable right now: the server still
    // enforces roles, so controls stay enabled and a refusal shows as a message.
    showRole(null, Boolean(getKey()));
    return true;
  }
}

function askForKey(refused) {
  if (askingForKey) return;
  askingForKey = true;
  stream.stop();
  current?.unmount?.();
  current = null;
  main.replaceChildren();
  main.hidden = true;
  keys.hidden = false;
  conn.dataset.state = "offline"; // nothing streams until a key is given
  conn.textContent = "needs a key";
  showRole(null, Boolean(getKey()));
  keyError.hidden = !refused;
  keyError.textContent = refused ? "That key was refused: check it and try again." : "";
  keyInput.value = "";
  keyInput.focus();
}

async function start() {
  if (!(await identify())) {
    askForKey(Boolean(getKey()));
    return;
  }
  askingForKey = false;
  keys.hidden = true;
  main.hidden = false;
  stream.start();
  route();
}

onUnauthorized(() => askForKey(Boolean(getKey())));

keyForm.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  setKey(key);
  askingForKey = false;
  if (!(await identify())) {
    setKey(null);
    askForKey(true);
    return;
  }
  stream.restart();
  keys.hidden = true;
  main.hidden = false;
  route();
});

document.querySelector('[data-testid="key-forget"]').addEventListener("click", () => {
  setKey(null);
  stream.stop();
  start();
});

// The skip link would otherwise be a hash route of its own.
document.querySelector(".skip").addEventListener("click", (click) => {
  click.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => {
  route();
  main.focus({ preventScroll: true });
});

start();
