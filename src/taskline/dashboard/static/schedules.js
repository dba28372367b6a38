// Schedules: every periodic schedule (cron or every N seconds, SPEC §10) by name, with its next
// run and the task its last run submitted; pause/resume and remove (producer, admin). Re-read
// on `schedule.*` events, and every few seconds so "in 5 s" stays true between runs.

import { api, seg } from "./api.js";
import { h, patchTable, reloading, replace, row, table, when, whenNext } from "./dom.js";
import { PRODUCERS, action, confirmAction, errorNote, toast, toastError } from "./ui.js";

const EVERY_MS = 5000;

const UNITS = [["d", 86400], ["h", 3600], ["min", 60]];

/** "every 90 s", "every 6 h": exact, unlike the rounded spans of times. */
function every(seconds) {
  const unit = UNITS.find(([, size]) => seconds >= size && seconds % size === 0);
  return unit ? `every ${seconds / unit[1]} ${unit[0]}` : `every ${seconds} s`;
}

// Each cell's content is one element: on a phone a cell is a flex row (label, then content),
// where loose parts would be spread apart.
function runs(schedule) {
  if (schedule.cron === null) return every(schedule.every);
  return h("span", {}, h("code", {}, schedule.cron), schedule.timezone === "UTC" ? null : h("span", { class: "muted" }, ` ${schedule.timezone}`));
}

function task(schedule) {
  const { type, queue } = schedule.task;
  return h("span", {}, type, queue === "default" ? null : h("span", { class: "muted" }, ` on ${queue}`));
}

function lastRun(schedule) {
  if (!schedule.last_task_id) return h("span", { class: "muted" }, "never");
  return h("span", {}, when(schedule.last_run_at), " ",
    h("a", { class: "id", href: `#/tasks/${seg(schedule.last_task_id)}`, testid: "schedule-last-task" }, schedule.last_task_id));
}

export function mount(root) {
  let alive = true;
  const tableHolder = h("div");
  const problems = h("div");
  replace(root, h("h1", {}, "Schedules"),
    h("p", { class: "muted" }, "Each run submits the schedule's task, once however many servers run. Add or replace one with ",
      h("code", {}, "taskline schedules add"), " or ", h("code", {}, "POST /api/v1/schedules"), "."),
    problems, tableHolder);

  function actions(schedule) {
    const verb = schedule.paused ? "resume" : "pause";
    const toggle = action({
      label: schedule.paused ? "Resume" : "Pause", testid: `schedule-${verb}`, roles: PRODUCERS,
      run: async () => {
        try {
          const changed = await api("POST", `/api/v1/schedules/${seg(schedule.name)}/${verb}`);
          toast(changed.paused ? `Schedule ${schedule.name} paused: it submits nothing until resumed` : `Schedule ${schedule.name} resumed`);
          await load();
        } catch (error) {
          toastError(`Schedule ${schedule.name} not ${verb}d`, error);
        }
      },
    });
    const remove = action({
      label: "Remove", testid: "schedule-remove", roles: PRODUCERS, kind: "danger",
      run: async () => {
        const ok = await confirmAction(`Remove schedule ${schedule.name}? It submits no more tasks; the tasks it submitted stay.`, "Remove");
        if (!ok) return;
        try {
          await api("DELETE", `/api/v1/schedules/${seg(schedule.name)}`);
          toast(`Removed schedule ${schedule.name}`);
          await load();
        } catch (error) {
          toastError(`Schedule ${schedule.name} not removed`, error);
        }
      },
    });
    return h("div", { class: "actions" }, toggle, remove);
  }

  function scheduleRow(schedule) {
    const state = schedule.paused ? "paused" : "active";
    return row({ testid: "schedule-row", "data-schedule": schedule.name, "data-paused": String(schedule.paused) }, [
      ["Name", h("span", { class: "id" }, schedule.name)],
      ["Runs", runs(schedule)],
      ["Task", task(schedule)],
      ["State", h("span", { class: `state state-${state}` }, state)],
      // "soft": patchTable redraws these in place, so a run (or the clock) does not take the buttons away.
      ["Next run", schedule.paused ? h("span", { class: "muted" }, "—") : whenNext(schedule.next_run_at), { class: "soft", testid: "schedule-next" }],
      ["Last run", lastRun(schedule), { class: "soft", testid: "schedule-last" }],
      ["", actions(schedule)],
    ]);
  }

  async function load() {
    try {
      const { schedules } = await api("GET", "/api/v1/schedules");
      if (!alive) return;
      problems.replaceChildren();
      const columns = ["Name", "Runs", "Task", "State", "Next run", "Last run", ""];
      const rows = schedules.map(scheduleRow);
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "No schedules yet.")));
      patchTable(tableHolder, table(columns, rows, { testid: "schedule-table" }));
    } catch (error) {
      if (alive) replace(problems, errorNote("The schedules could not be read", error));
    }
  }

  return reloading(load, {
    everyMs: EVERY_MS,
    onEvent: (event, reload) => event.schedule && reload(),
    stop: () => (alive = false),
  });
}
