"""The archive outbox's value types: what the live backend holds for PostgreSQL history.

While history is on (EngineConfig.archive), every end of a task (completed, failed,
cancelled) also stores the task as it ended in the live backend's archive outbox, in the
same atomic step; the archiver copies entries to PostgreSQL and then drops exactly those.
"""

from dataclasses import dataclass

from taskline.core.task import Task


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One end of a task waiting to be archived. `ref` names the entry in the outbox (a Redis
    stream id, a SQLite row number): dropping it removes that entry and no other, so a later
    end of the same task (retried by hand, ended again) is never dropped unread."""

    ref: str
    task: Task


@dataclass(frozen=True, slots=True)
class ArchiveBacklog:
    """What waits in the outbox: how many entries, and when the oldest was written (None: empty)."""

    depth: int
    oldest_at: float | None
