// What every view shares: the caller's role (and the controls it may not use), the toast,
// the confirmation dialog and in-place notices.

import { h } from "./dom.js";

export const PRODUCERS = ["producer", "admin"];
export const ADMINS = ["admin"];

let currentRole = null; // null: not known (the server predates /whoami): the server decides

export function setRole(role) {
  currentRole = role;
}

export function role() {
  return currentRole;
}

/** Whether the caller's role is one of `roles` (true while the role is unknown). */
export function allowed(roles) {
  return currentRole === null || roles.includes(currentRole);
}

function needs(roles) {
  return roles.length === 1 ? `needs the ${roles[0]} role` : `needs the ${roles.slice(0, -1).join(", ")} or ${roles.at(-1)} role`;
}

/**
 * A button for an action only some roles may take: disabled, with a title naming the role
 * needed, when the caller's role may not. `run` gets the button; clicks while it runs are ignored.
 */
export function action({ label, testid, roles, run, kind = "secondary", title, disabledBecause }) {
  const permitted = allowed(roles);
  const button = h("button", {
    type: "button",
    class: kind,
    testid,
    disabled: !permitted || Boolean(disabledBecause),
    title: !permitted ? needs(roles) : disabledBecause || title,
  }, label);
  // Busy rather than disabled while it runs: a disabled button drops keyboard focus, and the
  // confirmation dialog hands focus back to the button that opened it.
  let busy = false;
  button.addEventListener("click", async () => {
    if (busy) return;
    busy = true;
    button.setAttribute("aria-busy", "true");
    try {
      await run(button);
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
    }
  });
  return button;
}

/** A note that the caller's role cannot read this part, instead of an error. */
export function roleNote(roles, what) {
  return h("p", { class: "notice", testid: "role-note" }, `${what} ${needs(roles)}; this key's role is ${currentRole}.`);
}

let toastTimer = null;

/** Show the result or error of an action. */
export function toast(text, kind = "info") {
  const element = document.querySelector('[data-testid="toast"]');
  element.textContent = text;
  element.className = `toast toast-${kind}`;
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    element.hidden = true;
  }, kind === "error" ? 10000 : 6000);
}

/** Toast an action's failure (an ApiError's message is the server's sentence). */
export function toastError(prefix, error) {
  toast(`${prefix}: ${error.message}`, "error");
}

/** Ask with the <dialog>: resolves true on OK, false on Cancel or Escape. */
export function confirmAction(text, okLabel = "OK") {
  const dialog = document.querySelector('dialog[data-testid="confirm"]');
  dialog.querySelector(".confirm-text").textContent = text;
  dialog.querySelector('[data-testid="confirm-ok"]').textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    dialog.querySelector('[data-testid="confirm-cancel"]').focus(); // a stray Enter does not destroy
  });
}

/** An error shown where the data would be. */
export function errorNote(what, error) {
  return h("p", { class: "notice notice-error", role: "alert" }, `${what}: ${error.message}`);
}
