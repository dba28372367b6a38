// What more than one view shows the same way: the task states (and their badge) and priorities (SPEC §1), and a
// queue's depths as numeric table cells (the overview's summary and the queues view).

import { h } from "./dom.js";

/** The task states, in the order the views list them. */
export const STATES = ["pending", "scheduled", "running", "retrying", "completed", "failed", "cancelled"];
export const PRIORITIES = ["critical", "high", "normal", "low"];

/** A task state as a coloured badge. */
export function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, state);
}

const NUM = { class: "num" };

/** The column headings for `depthCells`: the priorities, then `fields`. */
export function depthColumns(fields) {
  return [...PRIORITIES, ...fields].map((c) => [c, NUM]);
}

/** A queue's pending tasks per priority, then its `fields` (counts per state), as `row()` cells. */
export function depthCells(queue, fields) {
  return [
    ...PRIORITIES.map((p) => [p, String(queue.pending[p]), NUM]),
    ...fields.map((field) => [field, String(queue[field]), NUM]),
  ];
}

/** The queue's name, linking to its tasks. */
export function queueLink(queue) {
  return h("a", { href: `#/tasks?queue=${encodeURIComponent(queue.name)}` }, queue.name);
}
