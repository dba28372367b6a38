// Schedules: reserved for periodic schedules (issue 13); this view only says so.

import { h, replace } from "./dom.js";

export function mount(root) {
  replace(root,
    h("h1", {}, "Schedules"),
    h("p", { class: "notice", testid: "schedules-note" },
      "Periodic schedules (cron or every N seconds) arrive with issue 13. Until then, a task that should run later takes ",
      h("code", {}, "delay"), " or ", h("code", {}, "scheduled_at"), " when it is submitted; those tasks show under ",
      h("a", { href: "#/tasks?state=scheduled" }, "Tasks › scheduled"), "."),
  );
  return {};
}
