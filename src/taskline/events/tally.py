"""Counting events into `TaskMetrics`: what the Redis scripts do in `_lib.lua`'s `announce`,
for a backend that counts in process (SQLite). The two are held together by a test that runs
the same tasks through both backends and compares their figures."""

from taskline.core.measures import Counter, TaskMetrics
from taskline.core.task import Task
from taskline.events.types import EventName

COUNTED: dict[EventName, Counter] = {
    EventName.TASK_CREATED: "submitted",
    EventName.TASK_COMPLETED: "completed",
    EventName.TASK_FAILED: "failed",
    EventName.TASK_RETRYING: "retried",
    EventName.TASK_CANCELLED: "cancelled",
}


def tally(metrics: TaskMetrics, name: EventName, task: Task, *, ran: bool) -> None:
    """Count one task event, as saved by its transition (whose time is `updated_at`); `ran`: an
    attempt ended with it, so its run time is observed."""
    counter = COUNTED.get(name)
    if counter is not None:
        metrics.count(counter, task.queue, task.type)
    if task.started_at is None:
        return
    if name is EventName.TASK_STARTED:
        metrics.observe("wait", task.queue, task.type, max(task.started_at - task.due_at, 0.0))
    elif ran:
        metrics.observe("run", task.queue, task.type, max(task.updated_at - task.started_at, 0.0))
