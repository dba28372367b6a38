// Live: the event feed as it arrives over /ws, newest first, with the events seen since the
// page loaded. A filter narrows it; "Pause" freezes the list for reading while events keep
// being collected.

import { recentEvents } from "./bus.js";
import { h, replace } from "./dom.js";

const SHOWN = 200;
const KINDS = {
  all: () => true,
  tasks: (e) => Boolean(e.task),
  workers: (e) => Boolean(e.worker),
  schedules: (e) => Boolean(e.schedule),
  failures: (e) => e.event === "task.failed" || e.event === "task.retrying",
};

function clock(ts) {
  const date = new Date(ts);
  return h("time", { datetime: ts, title: date.toLocaleString() },
    date.toLocaleTimeString([], { hour12: false }) + `.${String(date.getMilliseconds()).padStart(3, "0")}`);
}

function eventItem(event, fresh) {
  const task = event.task;
  const worker = event.worker;
  const name = event.event;
  const tone = name.endsWith("failed") ? "state-failed" : name.endsWith("completed") ? "state-completed" : name.endsWith("retrying") ? "state-retrying" : "";
  let subject;
  if (event.schedule) {
    // A schedule's event; `schedule.fired` also carries the task that run submitted.
    subject = [h("a", { class: "id", href: "#/schedules" }, event.schedule.name),
      task ? [" → ", h("a", { class: "id", href: `#/tasks/${encodeURIComponent(task.id)}` }, task.id)] : null];
  } else if (task) {
    subject = [h("a", { class: "id", href: `#/tasks/${encodeURIComponent(task.id)}` }, task.id), " ",
      h("span", { class: "muted" }, `${task.type} on ${task.queue} → ${task.state}`),
      name === "task.progress" && task.progress !== null ? h("span", { class: "muted" }, ` (${task.progress} %)`) : null];
  } else if (worker) {
    subject = [h("span", { class: "id" }, worker.id), " ", h("span", { class: "muted" }, [worker.host, worker.pid ? `pid ${worker.pid}` : null].filter(Boolean).join(" "))];
  }
  return h("li", {
    testid: "event", class: fresh ? "fresh" : null,
    "data-event-id": event.id, "data-event": name, "data-task-id": task ? task.id : "",
  }, clock(event.ts), h("strong", { class: tone }, name), h("span", {}, subject));
}

export function mount(root) {
  let kind = "all";
  let paused = false;
  let missed = 0;
  const list = h("ol", { class: "events", testid: "event-list", "aria-live": "off" });
  // Two holders: the mode notice is redrawn on every refresh, which must not wipe the notice
  // that events were missed (a lagged stream is followed by a refresh at once).
  const mode = h("div");
  const notes = h("div");
  const select = h("select", { id: "event-kind", testid: "event-filter" },
    Object.keys(KINDS).map((name) => h("option", { value: name }, name)));
  const pause = h("button", { type: "button", class: "secondary", testid: "event-pause", "aria-pressed": "false" }, "Pause");

  function render() {
    const events = recentEvents().filter(KINDS[kind]).slice(0, SHOWN);
    replace(list, events.length ? events.map((e) => eventItem(e, false)) : []);
    missed = 0;
    pause.textContent = "Pause";
  }

  function showMode() {
    const state = document.querySelector('[data-testid="conn"]').dataset.state;
    // "Refused", not "blocked": the page sees the same failed upgrade whether a proxy blocks
    // WebSockets or the server turns away one socket too many from this client (429).
    replace(mode, state === "polling"
      ? h("p", { class: "notice" }, "The live connection is refused (blocked on the way, or too many open from here); polling every 2 s: the other views refresh, but events cannot be streamed here. They are kept by the server and replayed when the connection opens again.")
      : null);
  }

  select.addEventListener("change", () => {
    kind = select.value;
    render();
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) render();
    else pause.textContent = "Resume";
  });
  replace(root, h("h1", {}, "Live events"),
    h("div", { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: "event-kind" }, "Show"), select), pause),
    mode, notes, list);
  render();
  showMode();
  return {
    onEvent(event) {
      if (event.event === "lagged") {
        notes.append(h("p", { class: "notice notice-error" }, "Some events were missed: the server could not replay them. Counts elsewhere were re-read."));
        return;
      }
      if (!KINDS[kind](event)) return;
      if (paused) {
        missed += 1;
        pause.textContent = `Resume (${missed} new)`;
        return;
      }
      list.prepend(eventItem(event, true));
      while (list.children.length > SHOWN) list.lastElementChild.remove();
    },
    refresh: showMode,
  };
}
