"""The event names of SPEC §3, the `Event` record both backends emit, and event ids.

An event id is `<ms>-<seq>` or `<ms>-<seq>@<stream>`: the position in the stream that holds
it (on Redis, one stream per queue plus one for workers, so the stream names the queue;
on SQLite, one stream). Ids of one stream are ordered by `(ms, seq)`; across streams `ms`
orders them to the millisecond. `position` and `stream_of` are the only parsers.
"""

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from taskline.core.schedules import Schedule
from taskline.core.task import Task
from taskline.core.workers import WorkerRecord

EVENTS_KEPT = 10_000
"""Events kept per stream for `?since=` replay (SPEC §3 asks for at least 1,000)."""


class EventName(StrEnum):
    TASK_CREATED = "task.created"
    TASK_PENDING = "task.pending"  # scheduled, retrying, released or retried by hand → leasable
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_COMPLETED = "task.completed"
    TASK_RETRYING = "task.retrying"
    TASK_FAILED = "task.failed"
    TASK_CANCELLED = "task.cancelled"
    TASK_DELETED = "task.deleted"  # purged or cleared from the DLQ;
    # retention's quiet removal of old finished tasks is not announced
    WORKER_JOINED = "worker.joined"
    WORKER_LEFT = "worker.left"
    WORKER_PAUSED = "worker.paused"
    WORKER_RESUMED = "worker.resumed"
    SCHEDULE_CREATED = "schedule.created"
    SCHEDULE_UPDATED = "schedule.updated"  # its definition replaced by a POST of the same name
    SCHEDULE_DELETED = "schedule.deleted"
    SCHEDULE_PAUSED = "schedule.paused"
    SCHEDULE_RESUMED = "schedule.resumed"
    SCHEDULE_FIRED = "schedule.fired"  # a tick submitted its task (the event's `task`)


TERMINAL_EVENTS = frozenset({EventName.TASK_COMPLETED, EventName.TASK_FAILED, EventName.TASK_CANCELLED})
"""The events that start a webhook delivery (SPEC §6)."""

LAGGED = "lagged"
"""Not an event of the log: the notice a reader gets when events it asked for are gone."""


@dataclass(slots=True, frozen=True)
class Event:
    """One thing that happened, as kept in the backend's event log.

    `task` is a summary: the task without payload, result, metadata, errors and lease token,
    so the log stays small whatever tasks carry (a client reads the task for those). A
    schedule's event carries the schedule with its task as a summary too (type, queue and
    priority: `core.schedules.schedule_summary`), and `schedule.fired` the summary of the task
    it submitted.
    """

    id: str
    name: EventName
    ts: float
    task: Task | None = None
    worker: WorkerRecord | None = None
    schedule: Schedule | None = None

    @property
    def queue(self) -> str | None:
        """The queue of its task, or of the tasks its schedule submits; None for a worker's."""
        if self.task is not None:
            return self.task.queue
        return None if self.schedule is None else self.schedule.queue


def task_summary(task: Task) -> Task:
    """The task as an event carries it (see `Event`)."""
    return dataclasses.replace(task, payload={}, result=None, metadata={}, errors=[], lease_token=None)


def event_id(ms: int, seq: int, stream: str = "") -> str:
    return f"{ms}-{seq}@{stream}" if stream else f"{ms}-{seq}"


def position(event_id: str) -> tuple[int, int]:
    """`(ms, seq)` of an id; ValueError if it is not one."""
    head = event_id.partition("@")[0]
    ms, dash, seq = head.partition("-")
    if not dash or not ms.isdigit() or not seq.isdigit():
        raise ValueError(f"{event_id!r} is not an event id")
    return int(ms), int(seq)


def stream_of(event_id: str) -> str:
    """The stream an id belongs to ('' on a backend with one stream)."""
    return event_id.partition("@")[2]


Position = tuple[int, int]
"""`(ms, seq)`: where a stream was last read, exclusive."""


@dataclass(slots=True)
class EventCursor:
    """Where a reader of the event log is: after `after[stream]` in each stream it has read,
    and after `start` in streams it has not read yet (those it learns of later start there).

    `queue`, when set, limits the reader to that queue's events (and no worker events).
    """

    start: Position
    after: dict[str, Position] = field(default_factory=dict)
    queue: str | None = None

    def position(self, stream: str) -> Position:
        return self.after.get(stream, self.start)

    def moved_past(self, event: "Event") -> None:
        self.after[stream_of(event.id)] = position(event.id)

    def covers(self, event: "Event") -> bool:
        """Whether the event is at or before where this cursor has read to (already seen)."""
        return position(event.id) <= self.position(stream_of(event.id))


def resume_cursor(since: str, *, queue: str | None = None) -> EventCursor:
    """The cursor just after event `since`: later events of its stream, and events of other
    streams from the same millisecond on (a few may come twice; none is missed).

    Raises:
        ValueError: `since` is not an event id.
    """
    ms, seq = position(since)
    return EventCursor(start=(ms - 1, MAX_SEQ), after={stream_of(since): (ms, seq)}, queue=queue)


MAX_SEQ = 2**64 - 1


class EventsLost(Exception):
    """Some events after the id asked for are no longer kept (the reader is told `lagged`)."""


@dataclass(slots=True, frozen=True)
class Lagged:
    """The `lagged` notice as a reader sees it: events it asked for were dropped or are gone.

    It has a `name` like `Event`, so a consumer can tell the two apart by name alone.
    """

    ts: float
    name: str = LAGGED
