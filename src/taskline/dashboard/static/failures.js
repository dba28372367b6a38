// Failures: the recent failures (tasks failed or retrying, newest first) for every role, and
// the dead-letter queue (admin only: /admin/dlq) with retry of one, the selected or all, and
// clear; the bulk actions ask first, naming how many tasks they touch.

import { api, query, seg } from "./api.js";
import { stateBadge } from "./depths.js";
import { h, reloading, replace, row, table, when } from "./dom.js";
import { ADMINS, action, allowed, confirmAction, errorNote, roleNote, toast, toastError } from "./ui.js";

const RECENT = 25;
const DLQ_PAGE = 50;
const ERROR_SHOWN = 300; // characters of an error in a row; the task view has all of it

function shortError(text) {
  if (!text) return h("span", { class: "muted" }, "—");
  return h("span", { class: "error-text" }, text.length > ERROR_SHOWN ? `${text.slice(0, ERROR_SHOWN)}…` : text);
}

function taskLink(task) {
  return h("a", { class: "id", href: `#/tasks/${encodeURIComponent(task.id)}` }, task.id);
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function mount(root) {
  let alive = true;
  let dlqLimit = DLQ_PAGE;
  const selected = new Set();
  const recent = h("div");
  const dlq = h("div");
  const dlqMore = h("div", { class: "actions" });
  const isAdmin = allowed(ADMINS);

  const toolbar = h("div", { class: "actions dlq-actions" },
    action({ label: "Retry selected", testid: "dlq-retry-selected", roles: ADMINS, run: retrySelected }),
    action({ label: "Retry all", testid: "dlq-retry-all", roles: ADMINS, run: retryAll }),
    action({ label: "Clear", testid: "dlq-clear", roles: ADMINS, kind: "danger", run: clear }),
  );
  replace(root,
    h("h1", {}, "Failures"),
    h("section", { class: "card" }, h("h2", {}, "Recent failures"),
      h("p", { class: "muted" }, "Tasks whose last attempt failed: retrying ones will run again, failed ones are in the dead-letter queue."),
      recent),
    h("section", { class: "card" }, h("h2", {}, "Dead-letter queue"), toolbar,
      isAdmin ? [dlq, dlqMore] : roleNote(ADMINS, "The dead-letter queue")),
  );

  async function failedCount() {
    const stats = await api("GET", "/api/v1/stats");
    return stats.states.failed;
  }

  async function retryIds(ids) {
    try {
      const { retried } = await api("POST", "/admin/dlq/retry", ids ? { ids } : undefined);
      for (const id of ids || [...selected]) selected.delete(id);
      toast(`Retried ${plural(retried, "task")}: now pending`);
      await load();
    } catch (error) {
      toastError("Not retried", error);
    }
  }

  async function retrySelected() {
    if (!selected.size) {
      toast("Select tasks in the dead-letter queue first", "error");
      return;
    }
    const ids = [...selected];
    if (await confirmAction(`Retry the ${plural(ids.length, "selected task")}?`, `Retry ${ids.length}`)) await retryIds(ids);
  }

  async function retryAll() {
    const count = await failedCount().catch(() => null);
    const text = count === null ? "Retry every failed task?" : `Retry all ${plural(count, "failed task")}?`;
    if (!(await confirmAction(text, count === null ? "Retry all" : `Retry ${count}`))) return;
    selected.clear();
    await retryIds(null);
  }

  async function clear() {
    const count = await failedCount().catch(() => null);
    const what = count === null ? "every failed task" : `all ${plural(count, "failed task")}`;
    if (!(await confirmAction(`Delete ${what} from the dead-letter queue? They cannot be brought back.`, count === null ? "Delete all" : `Delete ${count}`))) return;
    try {
      const { deleted } = await api("DELETE", "/admin/dlq");
      selected.clear();
      toast(`Deleted ${plural(deleted, "failed task")}`);
      await load();
    } catch (error) {
      toastError("Not cleared", error);
    }
  }

  function dlqRow(task) {
    const box = h("input", { type: "checkbox", testid: "dlq-select", checked: selected.has(task.id), "aria-label": `select ${task.id}` });
    box.addEventListener("change", () => (box.checked ? selected.add(task.id) : selected.delete(task.id)));
    return row({ testid: "dlq-row", "data-task-id": task.id }, [
      ["Select", box],
      ["Id", taskLink(task)],
      ["Type", task.type],
      ["Queue", task.queue],
      ["Attempts", String(task.attempts), { class: "num" }],
      ["Error", shortError(task.error)],
      ["Failed", when(task.completed_at)],
      ["", action({ label: "Retry", testid: "dlq-retry-one", roles: ADMINS, run: () => retryIds([task.id]) })],
    ]);
  }

  async function loadRecent() {
    const pages = await Promise.all(["failed", "retrying"].map((state) => api("GET", `/api/v1/tasks${query({ state, limit: RECENT })}`)));
    const tasks = pages.flatMap((page) => page.tasks)
      .sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at))
      .slice(0, RECENT);
    const rows = tasks.map((task) => row({ testid: "failure-row", "data-task-id": task.id, "data-state": task.state }, [
      ["Id", taskLink(task)],
      ["Type", task.type],
      ["Queue", task.queue],
      ["State", stateBadge(task.state)],
      ["Attempts", String(task.attempts), { class: "num" }],
      ["Error", shortError(task.error)],
      ["When", when(task.updated_at)],
    ]));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No recent failures.")));
    return table(["Id", "Type", "Queue", "State", ["Attempts", { class: "num" }], "Error", "When"], rows);
  }

  async function loadDlq() {
    const page = await api("GET", `/admin/dlq${query({ limit: dlqLimit })}`);
    // A task retried or cleared elsewhere has left the page: it must not stay selected, or
    // "Retry selected" would count (and send) a task the reader can no longer see.
    const onPage = new Set(page.tasks.map((task) => task.id));
    for (const id of selected) if (!onPage.has(id)) selected.delete(id);
    const rows = page.tasks.map(dlqRow);
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "The dead-letter queue is empty.")));
    const more = page.next_cursor && dlqLimit < 500
      ? h("button", { type: "button", class: "secondary", testid: "dlq-more", onclick: () => { dlqLimit += DLQ_PAGE; load(); } }, "Show more")
      : null;
    return [table(["", "Id", "Type", "Queue", ["Attempts", { class: "num" }], "Error", "Failed", ""], rows), more];
  }

  async function load() {
    try {
      const shown = await loadRecent();
      if (alive) replace(recent, shown);
    } catch (error) {
      if (alive) replace(recent, errorNote("Recent failures could not be read", error));
    }
    if (!isAdmin) return;
    try {
      const [shown, more] = await loadDlq();
      if (alive) {
        replace(dlq, shown);
        replace(dlqMore, more);
      }
    } catch (error) {
      if (alive) replace(dlq, errorNote("The dead-letter queue could not be read", error));
    }
  }

  // The events that change what this view lists; a busy queue's started/completed stream does
  // not re-render the lists (and lose the reader's place) unless it concerns a task shown.
  const MOVES = new Set(["task.failed", "task.retrying", "task.pending", "task.deleted", "task.cancelled"]);
  return reloading(load, {
    onEvent(event, reload) {
      const shown = event.task && root.querySelector(`tr[data-task-id="${CSS.escape(event.task.id)}"]`);
      if (MOVES.has(event.event) || shown) reload();
    },
    stop: () => (alive = false),
  });
}
