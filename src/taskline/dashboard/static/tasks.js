// Tasks: the list (newest first) with filters kept in the hash (`#/tasks?state=failed&queue=q`),
// live or from PostgreSQL history (`&source=history`, the server needs TASKLINE_POSTGRES_URL),
// cursor paging, and a search box that opens a task by id. Rows already shown follow their
// task's events; tasks created meanwhile are offered behind a button rather than pushed in, so
// the list does not move under the reader.

import { api, query } from "./api.js";
import { STATES, stateBadge } from "./depths.js";
import { h, replace, row, table, when } from "./dom.js";
import { errorNote } from "./ui.js";

const PAGE = 50;

function taskRow(task) {
  return row({ testid: "task-row", "data-task-id": task.id, "data-state": task.state }, [
    ["Id", h("a", { class: "id", href: `#/tasks/${encodeURIComponent(task.id)}` }, task.id)],
    ["Type", task.type],
    ["Queue", task.queue],
    ["State", stateBadge(task.state), { class: "state-cell" }],
    ["Priority", String(task.priority), { class: "num" }],
    ["Attempts", String(task.attempts), { class: "num attempts-cell" }],
    ["Created", when(task.created_at)],
  ]);
}

function filterForm(filters) {
  const state = h("select", { id: "filter-state", testid: "filter-state" },
    h("option", { value: "" }, "any state"),
    STATES.map((name) => h("option", { value: name, selected: filters.state === name }, name)));
  const source = h("select", { id: "filter-source", testid: "filter-source" },
    h("option", { value: "" }, "live"),
    h("option", { value: "history", selected: filters.source === "history" }, "history"));
  const type = h("input", { id: "filter-type", testid: "filter-type", value: filters.type, placeholder: "any type", maxlength: 128 });
  const queue = h("input", { id: "filter-queue", testid: "filter-queue", value: filters.queue, placeholder: "any queue", maxlength: 64 });
  const form = h("form", { class: "toolbar", "aria-label": "Filters" },
    h("div", { class: "field" }, h("label", { for: "filter-state" }, "State"), state),
    h("div", { class: "field" }, h("label", { for: "filter-type" }, "Type"), type),
    h("div", { class: "field" }, h("label", { for: "filter-queue" }, "Queue"), queue),
    h("div", { class: "field" }, h("label", { for: "filter-source" }, "From"), source),
    h("button", { type: "submit", testid: "apply-filters" }, "Apply"),
  );
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    location.hash = `#/tasks${query({ state: state.value, type: type.value.trim(), queue: queue.value.trim(), source: source.value })}`;
  });
  return form;
}

function searchForm() {
  const input = h("input", { id: "search", testid: "search", placeholder: "task id", autocomplete: "off", spellcheck: "false" });
  const form = h("form", { class: "toolbar", role: "search" },
    h("div", { class: "field" }, h("label", { for: "search" }, "Open a task by id"), input),
    h("button", { type: "submit", testid: "search-go", class: "secondary" }, "Open"),
  );
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const id = input.value.trim();
    if (id) location.hash = `#/tasks/${encodeURIComponent(id)}`;
  });
  return form;
}

function matches(filters, task) {
  return (!filters.state || task.state === filters.state)
    && (!filters.type || task.type === filters.type)
    && (!filters.queue || task.queue === filters.queue);
}

export function mount(root, { query: params }) {
  const filters = {
    state: params.get("state") || "", type: params.get("type") || "", queue: params.get("queue") || "",
    source: params.get("source") === "history" ? "history" : "",
  };
  const history = filters.source === "history";
  let alive = true;
  let cursors = []; // cursors of the pages before this one: [] on the first page
  let cursor = null;
  let newCount = 0;
  const list = h("div");
  const pager = h("div", { class: "actions pager" });
  const fresh = h("button", { type: "button", class: "secondary", testid: "show-new", hidden: true });
  fresh.addEventListener("click", () => load(null, []));
  replace(root, h("h1", {}, history ? "Tasks from history" : "Tasks"), searchForm(), filterForm(filters), fresh, list, pager);

  async function load(at, before) {
    try {
      const page = await api("GET", `/api/v1/tasks${query({ ...filters, limit: PAGE, cursor: at })}`);
      if (!alive) return;
      cursor = at;
      cursors = before;
      newCount = 0;
      fresh.hidden = true;
      const rows = page.tasks.map(taskRow);
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No tasks match.")));
      replace(list, table(["Id", "Type", "Queue", "State", ["Priority", { class: "num" }], ["Attempts", { class: "num" }], "Created"], rows, { testid: "task-table" }));
      const buttons = [];
      if (cursors.length) {
        buttons.push(h("button", { type: "button", class: "secondary", testid: "first-page", onclick: () => load(null, []) }, "First page"));
        buttons.push(h("button", { type: "button", class: "secondary", testid: "previous-page", onclick: () => load(cursors.at(-1), cursors.slice(0, -1)) }, "Previous page"));
      }
      if (page.next_cursor) {
        buttons.push(h("button", { type: "button", class: "secondary", testid: "next-page", onclick: () => load(page.next_cursor, [...cursors, cursor]) }, "Next page"));
      }
      replace(pager, buttons);
    } catch (error) {
      if (alive) replace(list, errorNote("The tasks could not be read", error));
    }
  }

  load(null, []);
  return {
    onEvent(event) {
      const task = event.task;
      if (!task) return;
      const shown = list.querySelector(`tr[data-task-id="${CSS.escape(task.id)}"]`);
      if (shown) {
        shown.setAttribute("data-state", task.state);
        replace(shown.querySelector(".state-cell"), stateBadge(task.state));
        shown.querySelector(".attempts-cell").textContent = String(task.attempts);
      } else if (!history && event.event === "task.created" && cursor === null && matches(filters, task)) {
        newCount += 1;
        fresh.textContent = `${newCount} new ${newCount === 1 ? "task" : "tasks"}: show`;
        fresh.hidden = false;
      }
    },
    refresh() {
      if (cursor === null) load(null, []);
    },
    unmount() {
      alive = false;
    },
  };
}
