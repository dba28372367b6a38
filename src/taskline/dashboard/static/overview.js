// Overview: tasks per state, queue depths per priority, and the last hour per minute
// (throughput and queue wait) from the server's series, re-read (throttled) as events arrive.

import { api, query } from "./api.js";
import { drawBars, drawLines } from "./chart.js";
import { depthCells, depthColumns, queueLink, STATES } from "./depths.js";
import { h, patchTable, replace, row, s, table, throttle } from "./dom.js";
import { errorNote } from "./ui.js";

const DEPTH_FIELDS = ["scheduled", "running", "retrying", "failed"]; // the work not yet settled
const MINUTES = 60;
const SERIES_EVERY_MS = 20000; // the window slides with the clock even when nothing happens

function sum(minutes, field) {
  return minutes.reduce((total, minute) => total + (minute[field] ?? 0), 0);
}

function countCard(name, testid, label, href) {
  return h("a", { class: `count count-${name}`, href }, h("span", { class: "count-label" }, label), h("span", { class: "count-value", testid }, "–"));
}

export function mount(root) {
  let alive = true;
  const counts = h("section", { class: "counts", "aria-label": "Tasks per state" },
    STATES.map((state) => countCard(state, `count-${state}`, state, `#/tasks?state=${state}`)),
    countCard("total", "count-total", "total", "#/tasks"),
    countCard("workers", "count-workers", "workers", "#/workers"),
  );
  const throughput = s("svg", { testid: "chart-throughput", class: "chart", role: "img", "aria-label": "Tasks completed and failed per minute", "data-completed": 0, "data-failed": 0 });
  const wait = s("svg", { testid: "chart-wait", class: "chart", role: "img", "aria-label": "Queue wait per minute", "data-count": 0 });
  const throughputNote = h("p", { class: "chart-note muted" });
  const waitNote = h("p", { class: "chart-note muted" });
  const depths = h("div", { class: "depths" });
  const problems = h("div");
  replace(root,
    h("h1", {}, "Overview"),
    problems,
    counts,
    h("section", { class: "charts" },
      h("figure", { class: "card" },
        h("figcaption", {}, h("h2", {}, "Throughput per minute"),
          h("span", { class: "legend" }, h("i", { class: "key completed" }), "completed ", h("i", { class: "key failed" }), "failed")),
        throughput, throughputNote),
      h("figure", { class: "card" },
        h("figcaption", {}, h("h2", {}, "Queue wait"),
          h("span", { class: "legend" }, h("i", { class: "key wait-avg" }), "average ", h("i", { class: "key wait-p95" }), "p95")),
        wait, waitNote),
    ),
    h("section", { class: "card" }, h("h2", {}, "Queue depths"), depths),
  );

  // A slow answer must not overwrite a newer one already drawn (answers may arrive out of order).
  let countsAsked = 0;
  let countsDrawn = 0;
  let seriesAsked = 0;
  let seriesDrawn = 0;

  const loadCounts = throttle(async () => {
    const asked = ++countsAsked;
    try {
      const [stats, listed] = await Promise.all([api("GET", "/api/v1/stats"), api("GET", "/api/v1/queues")]);
      if (!alive || asked < countsDrawn) return;
      countsDrawn = asked;
      problems.replaceChildren();
      for (const state of STATES) counts.querySelector(`[data-testid="count-${state}"]`).textContent = String(stats.states[state] ?? 0);
      counts.querySelector('[data-testid="count-total"]').textContent = String(stats.total);
      counts.querySelector('[data-testid="count-workers"]').textContent = String(stats.workers);
      patchTable(depths, depthTable(listed.queues));
    } catch (error) {
      if (alive) replace(problems, errorNote("Counts could not be read", error));
    }
  }, 1000);

  const loadSeries = throttle(async () => {
    const asked = ++seriesAsked;
    try {
      const series = await api("GET", `/api/v1/stats/series${query({ minutes: MINUTES })}`);
      if (!alive || asked < seriesDrawn) return;
      seriesDrawn = asked;
      const minutes = series.minutes;
      drawBars(throughput, minutes, [["completed", "completed", "completed"], ["failed", "failed", "failed"]]);
      throughput.setAttribute("data-completed", sum(minutes, "completed"));
      throughput.setAttribute("data-failed", sum(minutes, "failed"));
      drawLines(wait, minutes, "wait_s", [["avg", "wait-avg", "avg"], ["p95", "wait-p95", "p95"]]);
      wait.setAttribute("data-count", minutes.reduce((total, m) => total + (m.wait_s?.count ?? 0), 0));
      throughputNote.textContent = `${sum(minutes, "completed")} completed, ${sum(minutes, "failed")} failed in the last ${minutes.length} minutes`;
      waitNote.textContent = `${wait.getAttribute("data-count")} tasks started in the last ${minutes.length} minutes`;
    } catch (error) {
      if (alive) throughputNote.textContent = waitNote.textContent = `The per-minute series could not be read: ${error.message}`;
    }
  }, 2000);

  loadCounts();
  loadSeries();
  const ticker = setInterval(loadSeries, SERIES_EVERY_MS);
  return {
    onEvent(event) {
      if (event.event === "task.progress") return; // moves no count
      loadCounts();
      if (event.task) loadSeries();
    },
    refresh() {
      loadCounts();
      loadSeries();
    },
    unmount() {
      alive = false;
      clearInterval(ticker);
      loadCounts.cancel();
      loadSeries.cancel();
    },
  };
}

function depthTable(queues) {
  const columns = ["Queue", ...depthColumns(DEPTH_FIELDS)];
  const rows = queues.map((queue) =>
    row({ "data-queue": queue.name }, [
      ["Queue", [queueLink(queue), queue.paused ? h("span", { class: "badge paused" }, "paused") : null]],
      ...depthCells(queue, DEPTH_FIELDS),
    ]),
  );
  if (!rows.length) {
    rows.push(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "No queues yet: submit a task and its queue appears here.")));
  }
  return table(columns, rows, { testid: "queue-depths", class: "pairs" });
}
