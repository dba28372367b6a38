"""`EventFilter`: which events a reader asked for (SPEC §3 `?events=a,b&task_id=&queue=`)."""

from collections.abc import Iterable
from dataclasses import dataclass

from taskline.events.types import Event, EventName


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Events whose name is in `names` (None: any), of task `task_id` and of `queue` if set.

    A `task_id` or `queue` filter leaves worker events out: they belong to no task or queue.
    """

    names: frozenset[EventName] | None = None
    task_id: str | None = None
    queue: str | None = None

    @classmethod
    def of(
        cls, names: Iterable[str] | None = None, *, task_id: str | None = None, queue: str | None = None
    ) -> "EventFilter":
        """A filter from event names as strings.

        Raises:
            ValueError: a name is not an event name (the message lists the known ones).
        """
        if names is None:
            return cls(None, task_id or None, queue or None)
        wanted = [name.strip() for name in names if name.strip()]
        unknown = [name for name in wanted if name not in EventName.__members__.values()]
        if unknown:
            known = ", ".join(EventName)
            raise ValueError(f"unknown event name(s) {', '.join(unknown)}; known: {known}")
        return cls(frozenset(EventName(name) for name in wanted) or None, task_id or None, queue or None)

    def matches(self, event: Event) -> bool:
        if self.names is not None and event.name not in self.names:
            return False
        if self.task_id is not None and (event.task is None or event.task.id != self.task_id):
            return False
        return self.queue is None or event.queue == self.queue
