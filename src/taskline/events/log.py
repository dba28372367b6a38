"""The in-process event log: the SQLite backend's events, kept in memory for `?since=` replay.

One process owns a SQLite file, so every change is announced here, in commit order, by the
process that made it. Ids are `<boot_ms>-<seq>`: a restart starts a new log, and an id from
an earlier one reads as lost (the reader is told `lagged`).
"""

import asyncio
import itertools
import time
from collections import deque

from taskline.core.schedules import Schedule, schedule_summary
from taskline.core.task import Task
from taskline.core.workers import WorkerRecord
from taskline.events.types import (
    EVENTS_KEPT,
    Event,
    EventCursor,
    EventName,
    EventsLost,
    Position,
    event_id,
    resume_cursor,
    task_summary,
)
from taskline.waiting import wait_event


class LocalEventLog:
    """The last `kept` events of this process, and readers waiting for the next."""

    def __init__(self, kept: int = EVENTS_KEPT, *, boot_ms: int | None = None) -> None:
        self._boot_ms = boot_ms if boot_ms is not None else time.time_ns() // 1_000_000
        self._events: deque[Event] = deque(maxlen=kept)
        self._seq = 0
        self._arrived = asyncio.Event()

    def append(
        self,
        name: EventName,
        ts: float,
        *,
        task: Task | None = None,
        worker: WorkerRecord | None = None,
        schedule: Schedule | None = None,
    ) -> Event:
        """Announce a committed change (called on the event loop, in commit order)."""
        self._seq += 1
        shown = None if task is None else task_summary(task)
        event_at = event_id(self._boot_ms, self._seq)
        summary = None if schedule is None else schedule_summary(schedule)
        event = Event(id=event_at, name=name, ts=ts, task=shown, worker=worker, schedule=summary)
        self._events.append(event)
        self._arrived.set()
        self._arrived = asyncio.Event()
        return event

    def cursor(self, since: str | None, *, queue: str | None = None) -> EventCursor:
        """A cursor after `since`, or at the end of the log.

        Raises:
            EventsLost: `since` is older than the oldest kept event, or from an earlier process.
            ValueError: `since` is not an event id.
        """
        if since is None:
            return EventCursor(start=(self._boot_ms, self._seq), queue=queue)
        cursor = resume_cursor(since, queue=queue)
        if cursor.position("") < self._oldest_kept_after():
            raise EventsLost(f"events after {since} are no longer kept")
        return cursor

    def _oldest_kept_after(self) -> Position:
        """The position after which every event is still here."""
        first_seq = self._seq - len(self._events) + 1
        return (self._boot_ms, first_seq - 1)

    async def read(self, cursor: EventCursor, *, wait_s: float, limit: int) -> list[Event]:
        """Events after the cursor (of its queue, if it has one), oldest first; waits up to
        `wait_s` for the first. Advances the cursor.

        Raises:
            EventsLost: the reader fell behind the events kept.
        """
        events = self._after(cursor, limit)
        if not events and wait_s > 0 and await wait_event(self._arrived, wait_s):
            events = self._after(cursor, limit)
        return events

    def _after(self, cursor: EventCursor, limit: int) -> list[Event]:
        ms, seq = cursor.position("")
        after_seq = seq if ms == self._boot_ms else 0 if ms < self._boot_ms else self._seq
        first_seq = self._seq - len(self._events) + 1
        if after_seq + 1 < first_seq:  # the reader fell behind what is kept
            raise EventsLost(f"events after {self._boot_ms}-{after_seq} are no longer kept")
        start = after_seq + 1 - first_seq
        found: list[Event] = []
        last_seq = after_seq
        for index, event in enumerate(itertools.islice(self._events, start, None), start):
            last_seq = first_seq + index
            if cursor.queue is None or event.queue == cursor.queue:
                found.append(event)
                if len(found) >= limit:
                    break
        cursor.after[""] = (self._boot_ms, last_seq)
        return found
