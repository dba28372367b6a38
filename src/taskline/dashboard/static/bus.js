// The events seen since the page loaded (the live view shows them, the task view picks its
// own out) and the view currently mounted, which gets each event as it arrives.

const KEPT = 500;
const recent = []; // newest last

export function remember(event) {
  recent.push(event);
  if (recent.length > KEPT) recent.shift();
}

/** The remembered events, newest first. */
export function recentEvents() {
  return recent.slice().reverse();
}

/** The remembered events of one task, oldest first. */
export function eventsOf(taskId) {
  return recent.filter((event) => event.task && event.task.id === taskId);
}
