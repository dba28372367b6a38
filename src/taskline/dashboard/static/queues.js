// Queues: depths per priority and per state, paused or not, pause/resume, and purge of the
// pending tasks (after a confirmation naming how many). Reading is open to every role;
// the actions are admin routes.

import { api, seg } from "./api.js";
import { depthCells, depthColumns, PRIORITIES, queueLink } from "./depths.js";
import { h, patchTable, reloading, replace, row, table } from "./dom.js";
import { ADMINS, action, confirmAction, errorNote, toast, toastError } from "./ui.js";

const COUNTS = ["scheduled", "running", "retrying", "failed", "completed", "cancelled"]; // a queue's tasks per state besides pending

function pendingOf(queue) {
  return PRIORITIES.reduce((total, p) => total + queue.pending[p], 0);
}

export function mount(root) {
  let alive = true;
  const tableHolder = h("div");
  const problems = h("div");
  // name → the queue as last read: patchTable keeps a row (and the handlers its buttons were
  // drawn with) while only its numbers change, so a handler looks its figures up here.
  const latest = new Map();
  replace(root, h("h1", {}, "Queues"),
    h("p", { class: "muted" }, "critical, high, normal and low are the pending tasks of each priority."), problems, tableHolder);

  function queueActions(queue) {
    const verb = queue.paused ? "resume" : "pause";
    const toggle = action({
      label: queue.paused ? "Resume" : "Pause", testid: `queue-${verb}`, roles: ADMINS,
      run: async () => {
        try {
          await api("POST", `/admin/queues/${seg(queue.name)}/${verb}`);
          toast(`Queue ${queue.name} ${queue.paused ? "resumed" : "paused: workers take nothing from it, submits are still accepted"}`);
          await load();
        } catch (error) {
          toastError(`Queue ${queue.name} not ${verb}d`, error);
        }
      },
    });
    const purge = action({
      label: "Purge", testid: "queue-purge", roles: ADMINS, kind: "danger",
      run: async () => {
        const count = pendingOf(latest.get(queue.name) ?? queue);
        const ok = await confirmAction(`Delete the ${count} pending ${count === 1 ? "task" : "tasks"} of queue ${queue.name}? They cannot be brought back.`, `Delete ${count}`);
        if (!ok) return;
        try {
          const { purged } = await api("DELETE", `/admin/queues/${seg(queue.name)}`);
          toast(`Purged ${purged} pending ${purged === 1 ? "task" : "tasks"} from ${queue.name}`);
          await load();
        } catch (error) {
          toastError(`Queue ${queue.name} not purged`, error);
        }
      },
    });
    return h("div", { class: "actions" }, toggle, purge);
  }

  function queueRow(queue) {
    return row({ testid: "queue-row", "data-queue": queue.name, "data-paused": String(queue.paused) }, [
      ["Queue", queueLink(queue)],
      ["State", h("span", { class: `state ${queue.paused ? "state-paused" : "state-completed"}` }, queue.paused ? "paused" : "active")],
      ...depthCells(queue, COUNTS),
      ["", queueActions(queue)],
    ]);
  }

  async function load() {
    try {
      const { queues } = await api("GET", "/api/v1/queues");
      if (!alive) return;
      problems.replaceChildren();
      latest.clear();
      for (const queue of queues) latest.set(queue.name, queue);
      const rows = queues.map(queueRow);
      const columns = ["Queue", "State", ...depthColumns(COUNTS), ""];
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "No queues yet: a queue appears with its first task.")));
      patchTable(tableHolder, table(columns, rows, { testid: "queue-table", class: "pairs" }));
    } catch (error) {
      if (alive) replace(problems, errorNote("The queues could not be read", error));
    }
  }

  return reloading(load, {
    onEvent: (event, reload) => event.task && reload(),
    stop: () => (alive = false),
  });
}
