// Workers (admin only: /admin/workers): state, host/pid, queues, concurrency, counts, last
// seen, and pause/resume. Re-read on worker events and every few seconds, since heartbeats
// (last seen, active counts) are not events.

import { api, seg } from "./api.js";
import { h, patchTable, reloading, replace, row, table, when } from "./dom.js";
import { ADMINS, action, allowed, errorNote, roleNote, toast, toastError } from "./ui.js";

const EVERY_MS = 5000;

function any(list) {
  return list && list.length ? list.join(", ") : h("span", { class: "muted" }, "any");
}

export function mount(root) {
  const body = h("div");
  replace(root, h("h1", {}, "Workers"), body);
  if (!allowed(ADMINS)) {
    replace(body, roleNote(ADMINS, "The worker list"));
    return {};
  }
  let alive = true;

  function workerRow(worker) {
    const verb = worker.state === "paused" ? "resume" : "pause";
    const button = action({
      label: verb === "pause" ? "Pause" : "Resume", testid: `worker-${verb}`, roles: ADMINS,
      run: async () => {
        try {
          await api("POST", `/admin/workers/${seg(worker.id)}/${verb}`);
          toast(`Worker ${worker.id} ${verb === "pause" ? "paused: it finishes what it runs and takes nothing new" : "resumed"}`);
          await load();
        } catch (error) {
          toastError(`Worker ${worker.id} not ${verb}d`, error);
        }
      },
    });
    return row({ testid: "worker-row", "data-worker-id": worker.id, "data-state": worker.state }, [
      ["Worker", h("span", { class: "id" }, worker.id)],
      ["State", h("span", { class: `state state-${worker.state}` }, worker.state)],
      ["Host", [worker.host ?? "—", worker.pid !== null && worker.pid !== undefined ? ` (pid ${worker.pid})` : ""]],
      ["Queues", any(worker.queues)],
      ["Types", any(worker.types)],
      ["Concurrency", worker.concurrency === null ? "—" : String(worker.concurrency), { class: "num" }],
      ["Active", String(worker.active ?? "—"), { class: "num" }],
      ["Processed", String(worker.processed ?? "—"), { class: "num" }],
      ["Failed", String(worker.failed ?? "—"), { class: "num" }],
      ["Last seen", when(worker.last_seen), { class: "soft" }],
      ["", h("div", { class: "actions" }, button)],
    ]);
  }

  async function load() {
    try {
      const { workers } = await api("GET", "/admin/workers");
      if (!alive) return;
      const rows = workers.map(workerRow);
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 11, class: "muted" }, "No worker was seen in the last minute. Start one with `taskline worker module:app`.")));
      const num = { class: "num" };
      patchTable(body, table(["Worker", "State", "Host", "Queues", "Types", ["Concurrency", num], ["Active", num], ["Processed", num], ["Failed", num], "Last seen", ""], rows, { testid: "worker-table" }));
    } catch (error) {
      if (alive) replace(body, errorNote("The workers could not be read", error));
    }
  }

  return reloading(load, {
    everyMs: EVERY_MS,
    onEvent: (event, reload) => event.worker && reload(),
    stop: () => (alive = false),
  });
}
