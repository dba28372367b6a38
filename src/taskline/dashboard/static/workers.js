// Placeholder until this view lands.
import { h, replace } from "./dom.js";

export function mount(root) {
  replace(root, h("h1", {}, "workers"), h("p", { class: "muted" }, "Coming next."));
  return {};
}
