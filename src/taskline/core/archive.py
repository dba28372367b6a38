"""The archive outbox's value types: what the live backend holds for PostgreSQL history.

While history is on (EngineConfig.archive), every end of a task (completed, failed,
cancelled) also stores the task as it ended in the live backend's archive outbox, in the
same atomic step; the archiver copies entries to PostgreSQL and then drops exactly those.
"""

from dataclasses import dataclass

from taskline.core.task import Task

HISTORY_ON_TTL_S = 15 * 60.0
"""How long a server's word that it archives lasts (renewed by every archiver while it runs,
PostgreSQL up or down): through a rolling restart ends keep going to the outbox; once history
is turned off everywhere the outbox stops growing after this long."""


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One end of a task waiting to be archived. `ref` names the entry in the outbox (a Redis
    stream id, a SQLite row number): dropping it removes that entry and no other, so a later
    end of the same task (retried by hand, ended again) is never dropped unread."""

    ref: str
    task: Task | None
    """The task as it ended; None when the stored record could not be read (`problem` says why)."""
    task_id: str = ""
    queue: str = ""
    problem: str | None = None

    @classmethod
    def of(cls, ref: str, task: Task) -> "ArchiveEntry":
        return cls(ref, task, task.id, task.queue)

    @classmethod
    def unreadable(cls, ref: str, *, task_id: str, queue: str, problem: str) -> "ArchiveEntry":
        """An entry whose record does not decode: the archiver logs it and sets it aside."""
        return cls(ref, None, task_id, queue, problem)


@dataclass(frozen=True, slots=True)
class ArchiveBacklog:
    """What waits in the outbox: how many entries, and when the oldest was written (None: empty)."""

    depth: int
    oldest_at: float | None
