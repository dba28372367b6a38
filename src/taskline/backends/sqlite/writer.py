"""The one writer: a thread that owns the write connection and commits transitions in groups.

SQLite allows one writer at a time, and a commit (a WAL append, plus an fsync with
`synchronous=FULL`) costs far more than the statements inside it. So the thread takes every
operation queued while it was busy, runs each inside its own SAVEPOINT within one
`BEGIN IMMEDIATE` transaction, commits once, and only then answers the callers: nothing is
acknowledged before it is durable, and one operation's domain error (say LeaseLost) rolls
back that operation alone.
"""

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from taskline.core.schedules import Schedule
from taskline.core.task import Task
from taskline.core.workers import WorkerRecord
from taskline.errors import BackendUnavailable
from taskline.events.types import EventName

T = TypeVar("T")
MAX_BATCH = 256  # bounds the latency a long queue of writes adds to the first of them


@dataclass(slots=True, frozen=True)
class Announcement:
    """A change to announce once committed: its event, the task, worker or schedule as saved,
    for a task whether an attempt ended with it (its run time is counted), and for a schedule
    that fired, the task it submitted."""

    name: EventName
    subject: Task | WorkerRecord | Schedule
    ran: bool = False
    task: Task | None = None


@dataclass(slots=True)
class Wakeups:
    """What a committed operation tells the rest of the process: queues that gained pending
    tasks, whether a due time or lease deadline appeared that the scheduler may not know
    about, and the changes to announce (events and metrics), in the order they were made."""

    ready: set[str] = field(default_factory=set)
    timers: bool = False
    announced: list[Announcement] = field(default_factory=list)

    def announce(
        self, name: EventName, subject: Task | WorkerRecord | Schedule, *, ran: bool = False, task: Task | None = None
    ) -> None:
        self.announced.append(Announcement(name, subject, ran, task))


Operation = Callable[[sqlite3.Connection, Wakeups], T]
"""A write: runs on the writer thread inside a savepoint, records its wake-ups, returns a value."""


@dataclass(slots=True)
class _Job(Generic[T]):
    operation: Operation[T]
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[T]"


@dataclass(slots=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    wakeups: Wakeups | None = None


class Writer:
    """Runs write operations on one thread and one connection, committing them in groups."""

    def __init__(self, conn: sqlite3.Connection, notify: Callable[[Wakeups], None]) -> None:
        """Start the writer thread.

        Args:
            conn: the write connection, used from the writer thread only from now on.
            notify: called on the caller's event loop after a commit, with each operation's wake-ups.
        """
        self._conn = conn
        self._notify = notify
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="taskline-sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, operation: Operation[T]) -> T:
        """Queue `operation`, and return its value once the transaction holding it committed.

        Raises:
            TasklineError: what the operation raised (its savepoint was rolled back).
            BackendUnavailable: the backend is closed, or SQLite failed to write.
        """
        if self._closed:
            raise BackendUnavailable("the SQLite backend is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(operation, loop, future))
        return await future

    async def close(self) -> None:
        """Finish the queued operations, stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)
        self._conn.close()
        while True:  # a job that raced past the closed check is refused, never left hanging
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._answer(job, _Outcome(error=BackendUnavailable("the SQLite backend is closed")))

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch: list[_Job[Any]] = [first]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            for job, outcome in zip(batch, self._commit(batch), strict=True):
                self._answer(job, outcome)
            if stopping:
                return

    def _commit(self, batch: list[_Job[Any]]) -> list[_Outcome]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            outcomes = [self._apply(job.operation) for job in batch]
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            failure = BackendUnavailable(f"SQLite could not commit: {exc}")
            return [_Outcome(error=failure) for _ in batch]
        return outcomes

    def _apply(self, operation: Operation[Any]) -> _Outcome:
        # A savepoint per operation: its failure undoes its own writes and nobody else's.
        self._conn.execute("SAVEPOINT operation")
        wakeups = Wakeups()
        try:
            value = operation(self._conn, wakeups)
        except Exception as exc:
            # If even the rollback fails, the error reaches _commit and fails the whole batch.
            self._conn.execute("ROLLBACK TO operation")
            self._conn.execute("RELEASE operation")
            if isinstance(exc, sqlite3.Error):
                return _Outcome(error=BackendUnavailable(f"SQLite refused a write: {exc}"))
            return _Outcome(error=exc)
        self._conn.execute("RELEASE operation")
        return _Outcome(value=value, wakeups=wakeups)

    def _answer(self, job: _Job[Any], outcome: _Outcome) -> None:
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is left to answer
            job.loop.call_soon_threadsafe(self._settle, job.future, outcome)

    def _settle(self, future: "asyncio.Future[Any]", outcome: _Outcome) -> None:
        # Wake-ups go out even if the caller gave up waiting: the write did commit.
        if outcome.wakeups is not None:
            self._notify(outcome.wakeups)
        if future.done():
            return
        if outcome.error is not None:
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome.value)
