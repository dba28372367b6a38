// One task (`#/tasks/<id>`): its fields, payload, result, metadata, each attempt's error, a
// timeline of its states (from the record, plus the events seen live), cancel, and retry as
// it was or with an edited payload. Re-read as the task's events arrive.

import { api, ApiError, apiResponse, seg } from "./api.js";
import { eventsOf } from "./bus.js";
import { stateBadge } from "./depths.js";
import { h, pretty, reloading, replace, when } from "./dom.js";
import { PRODUCERS, action, errorNote, toast, toastError } from "./ui.js";

const CANCELLABLE = new Set(["pending", "scheduled", "retrying", "running"]);
const RETRYABLE = new Set(["failed", "cancelled"]);
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
// An event and a record time this close apart are one happening, shown once.
const SAME_MS = 2000;

function at(time) {
  return time ? Date.parse(time) : null;
}

/** The timeline from what the record holds: [{ms, text, kind, cls}]. */
function recordEntries(task) {
  const entries = [{ ms: at(task.created_at), text: `created in queue ${task.queue}`, kind: "created" }];
  if (task.scheduled_at && at(task.scheduled_at) > at(task.created_at) && task.attempts === 0) {
    entries.push({ ms: at(task.scheduled_at), text: "due (scheduled)", kind: "due" });
  }
  for (const error of task.errors) {
    entries.push({ ms: at(error.at), text: `attempt ${error.attempt} failed: ${error.error}`, kind: "attempt-failed", cls: "bad" });
  }
  if (task.started_at) entries.push({ ms: at(task.started_at), text: `attempt ${task.attempts} started`, kind: "started" });
  if (task.state === "retrying" && task.scheduled_at) {
    entries.push({ ms: at(task.scheduled_at), text: "retry due", kind: "due" });
  }
  if (TERMINAL.has(task.state) && task.completed_at) {
    entries.push({ ms: at(task.completed_at), text: task.state, kind: task.state, cls: task.state === "completed" ? "good" : "bad" });
  }
  return entries.filter((entry) => entry.ms !== null);
}

const EVENT_KIND = {
  "task.created": "created", "task.started": "started", "task.completed": "completed",
  "task.failed": "failed", "task.cancelled": "cancelled", "task.retrying": "attempt-failed",
};

function liveEntries(events, record) {
  return events
    .filter((event) => event.event !== "task.progress")
    .filter((event) => !record.some((entry) => entry.kind === EVENT_KIND[event.event] && Math.abs(entry.ms - Date.parse(event.ts)) < SAME_MS))
    .map((event) => ({ ms: Date.parse(event.ts), text: `${event.event.replace("task.", "")} (state ${event.task.state})`, cls: "live", live: true }));
}

function timeline(task) {
  const record = recordEntries(task);
  const entries = [...record, ...liveEntries(eventsOf(task.id), record)].sort((a, b) => a.ms - b.ms);
  return entries.map((entry) =>
    h("li", { testid: "timeline-entry", class: entry.cls },
      h("time", { datetime: new Date(entry.ms).toISOString() }, new Date(entry.ms).toLocaleString()), " ",
      entry.text, entry.live ? h("span", { class: "muted" }, " · seen live") : null));
}

function field(label, content, testid) {
  return [h("dt", {}, label), h("dd", { testid }, content)];
}

export function mount(root, { id }) {
  let alive = true;
  let task = null;
  let edited = false;
  // "history": the live backend no longer has the task (retention removed it) and this is its
  // archived record from PostgreSQL; it can be read, not cancelled or retried.
  let source = "live";
  const view = h("article", { testid: "task-view", "data-task-id": id, "data-state": "" });
  replace(root, view);

  const meta = h("dl", { class: "meta" });
  const payload = h("pre", { class: "json", testid: "task-payload" });
  const result = h("pre", { class: "json", testid: "task-result" });
  const metadata = h("pre", { class: "json", testid: "task-metadata" });
  const errors = h("ol", { class: "errors", testid: "task-errors" });
  const steps = h("ol", { class: "timeline", testid: "timeline" });
  const retryPayload = h("textarea", { id: "retry-payload", testid: "retry-payload", spellcheck: "false", rows: 8 });
  const retryError = h("p", { class: "form-error", role: "alert", testid: "retry-error", hidden: true });
  const controls = h("div", { class: "actions" });
  retryPayload.addEventListener("input", () => {
    edited = true;
  });

  function render() {
    view.setAttribute("data-state", task.state);
    view.setAttribute("data-source", source);
    historyNote.hidden = source !== "history";
    retryForm.hidden = source === "history";
    replace(meta,
      field("Type", task.type, "task-type"),
      field("Queue", task.queue, "task-queue"),
      field("State", stateBadge(task.state), "task-state"),
      field("Priority", String(task.priority)),
      field("Attempts", `${task.attempts} of ${task.max_retries + 1}`),
      field("Timeout", `${task.timeout} s`),
      task.progress !== null ? field("Progress", `${task.progress} %`) : null,
      task.worker_id ? field("Worker", task.worker_id) : null,
      task.cancel_requested ? field("Cancel", "requested") : null,
      task.unique_key ? field("Unique key", task.unique_key) : null,
      task.webhook ? field("Webhook", [task.webhook, task.webhook_status ? ` (${task.webhook_status.state})` : ""]) : null,
      field("Created", when(task.created_at)),
      task.scheduled_at ? field("Due", when(task.scheduled_at)) : null,
      field("Started", when(task.started_at)),
      field("Finished", when(task.completed_at)),
    );
    payload.textContent = pretty(task.payload);
    result.textContent = task.result === null ? "null" : pretty(task.result);
    metadata.textContent = pretty(task.metadata);
    replace(errors, task.errors.length
      ? task.errors.map((e) => h("li", { testid: "task-error" }, h("span", { class: "muted" }, `attempt ${e.attempt}, `, when(e.at), ": "), h("span", { class: "error-text" }, e.error)))
      : h("li", { class: "muted" }, "No attempt has failed."));
    replace(steps, timeline(task));
    if (!edited) retryPayload.value = pretty(task.payload);
    replace(controls, source === "history" ? null : [
      action({
        label: task.state === "running" ? "Request cancel" : "Cancel", testid: "task-cancel", roles: PRODUCERS, kind: "danger",
        disabledBecause: CANCELLABLE.has(task.state) ? null : `a ${task.state} task cannot be cancelled`,
        run: cancel,
      }),
      action({
        label: "Retry", testid: "task-retry", roles: PRODUCERS,
        disabledBecause: RETRYABLE.has(task.state) ? null : "only failed or cancelled tasks can be retried",
        run: () => retry(undefined),
      }),
    ]);
    replace(submitHolder, retrySubmit());
  }

  function retrySubmit() {
    return action({
      label: "Retry with this payload", testid: "retry-submit", roles: PRODUCERS,
      disabledBecause: task && RETRYABLE.has(task.state) ? null : "only failed or cancelled tasks can be retried",
      run: async () => {
        let parsed;
        try {
          parsed = JSON.parse(retryPayload.value);
        } catch (error) {
          retryError.textContent = `The payload is not valid JSON: ${error.message}`;
          retryError.hidden = false;
          toast("Not retried: the payload is not valid JSON", "error");
          return;
        }
        retryError.hidden = true;
        await retry(parsed);
      },
    });
  }

  const historyNote = h("p", { class: "notice", testid: "task-from-history", hidden: true },
    "From history: retention removed this task from the live queue; this is its archived record "
    + "(PostgreSQL), as it last ended. It can no longer be cancelled or retried.");
  const submitHolder = h("div", { class: "actions" });
  const retryForm = h("section", { class: "card" },
    h("h2", {}, h("label", { for: "retry-payload" }, "Retry with an edited payload")),
    retryPayload, retryError, submitHolder);

  async function cancel() {
    try {
      task = await api("DELETE", `/api/v1/tasks/${seg(id)}`);
      toast(task.state === "cancelled" ? "Task cancelled" : "Cancel requested: the worker sees it on its next heartbeat");
      if (alive) render();
    } catch (error) {
      toastError("Not cancelled", error);
    }
  }

  async function retry(newPayload) {
    try {
      const body = newPayload === undefined ? undefined : { payload: newPayload };
      task = await api("POST", `/api/v1/tasks/${seg(id)}/retry`, body);
      edited = false;
      toast(`Task retried: now ${task.state}`);
      if (alive) render();
    } catch (error) {
      toastError("Not retried", error);
    }
  }

  async function load() {
    try {
      const loaded = await apiResponse("GET", `/api/v1/tasks/${seg(id)}`);
      if (!alive) return;
      const first = task === null;
      task = loaded.data;
      source = loaded.headers.get("X-Taskline-Source") === "history" ? "history" : "live";
      if (first) layout();
      render();
    } catch (error) {
      if (!alive) return;
      if (task === null) {
        const missing = error instanceof ApiError && error.status === 404;
        replace(view, h("h1", {}, "Task"), missing
          ? h("p", { class: "notice", testid: "task-missing" }, `There is no task with id ${id} (or retention removed it).`)
          : errorNote("The task could not be read", error));
      } else {
        toastError("The task could not be re-read", error);
      }
    }
  }

  function layout() {
    replace(view,
      h("h1", {}, "Task ", h("span", { class: "id" }, id)),
      historyNote,
      h("div", { class: "grid2" },
        h("section", { class: "card" }, h("h2", {}, "Details"), meta, h("div", { class: "actions task-actions" }, controls)),
        h("section", { class: "card" }, h("h2", {}, "Timeline"), steps)),
      h("div", { class: "grid2" },
        h("section", { class: "card" }, h("h2", {}, "Payload"), payload),
        h("section", { class: "card" }, h("h2", {}, "Result"), result)),
      h("div", { class: "grid2" },
        h("section", { class: "card" }, h("h2", {}, "Errors"), errors),
        h("section", { class: "card" }, h("h2", {}, "Metadata"), metadata)),
      retryForm,
    );
  }

  return reloading(load, {
    throttleMs: 500,
    onEvent(event, reload) {
      if (event.task && event.task.id === id) {
        if (task) replace(steps, timeline(task)); // the event is in the bus already
        reload();
      }
    },
    stop: () => (alive = false),
  });
}
