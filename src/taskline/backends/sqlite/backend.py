"""`SqliteBackend`: the `Backend` protocol over one SQLite file, for one process.

Writes go to the `Writer` thread (group commit), reads to the `Reader` thread, and wake-ups,
events and metrics to this process's `WakeupHub`, `LocalEventLog` and `TaskMetrics` once the
write that caused them has committed.
"""

import asyncio
import copy
import random
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from taskline.backends import base
from taskline.backends.sqlite import archive, inspection, outbox, registry, schedules
from taskline.backends.sqlite import samples as sampled
from taskline.backends.sqlite.buckets import TokenBuckets
from taskline.backends.sqlite.connection import Synchronous, connect, ensure_schema
from taskline.backends.sqlite.reader import Reader
from taskline.backends.sqlite.records import to_ms
from taskline.backends.sqlite.transitions import KEEP_PAYLOAD, Transitions
from taskline.backends.sqlite.writer import Wakeups, Writer
from taskline.backends.wakeup import WakeupHub, WorkSignal
from taskline.core.archive import ArchiveBacklog, ArchiveEntry
from taskline.core.clock import Clock, SystemClock
from taskline.core.config import EngineConfig
from taskline.core.measures import TaskMetrics
from taskline.core.outcomes import LeaseAsk, Outcome, Settlement
from taskline.core.samples import Totals
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.spec import TaskSpec
from taskline.core.states import TaskState
from taskline.core.task import HeartbeatAck, Lease, QueueStats, Submitted, Task, TaskFilter, TaskPage
from taskline.core.webhooks import Delivery, DeliveryOutcome
from taskline.core.workers import WorkerDetails, WorkerRecord
from taskline.errors import BackendUnavailable
from taskline.events.log import LocalEventLog
from taskline.events.tally import tally
from taskline.events.types import Event, EventCursor, EventName


class SqliteBackend:
    """The embedded backend: durable against a killed process, one process per file."""

    name: Literal["redis", "sqlite"] = "sqlite"

    def __init__(
        self,
        writer: Writer,
        reader: Reader,
        transitions: Transitions,
        hub: WakeupHub,
        buckets: TokenBuckets,
        clock: Clock,
        announcer: "Announcer",
    ) -> None:
        """Use `SqliteBackend.open`; this only wires the parts together."""
        self._announcer = announcer
        self._clock = clock
        self._writer = writer
        self._reader = reader
        self._tx = transitions
        self._hub = hub
        self._buckets = buckets
        self._departures = registry.Departures()  # the writer's alone, as the registry's writes are

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        config: EngineConfig | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        synchronous: Synchronous = "NORMAL",
    ) -> "SqliteBackend":
        """Open (creating if needed) the database at `path`.

        Args:
            path: the database file; its `-wal` and `-shm` companions live beside it.
            config: the engine's tunables.
            clock: where `now` comes from; never the wall clock directly, so tests can move it.
            rng: the source of backoff jitter (one draw per failed attempt).
            synchronous: `NORMAL` survives a killed process; `FULL` also survives power loss,
                at the price of an fsync per group commit.

        Raises:
            BackendUnavailable: the file cannot be opened or has an unknown schema version.
        """
        hub = WakeupHub()
        clock = clock or SystemClock()
        announcer = Announcer(hub, clock)
        write_conn, read_conn = await asyncio.to_thread(_connect_pair, path, synchronous)
        writer = Writer(write_conn, announcer.committed)
        transitions = Transitions(config or EngineConfig(), clock, rng or random.Random())
        return cls(writer, Reader(read_conn), transitions, hub, TokenBuckets(clock), clock, announcer)

    # -- submit and read ------------------------------------------------------------------

    async def submit(self, specs: Sequence[TaskSpec]) -> list[Submitted]:
        return await self._writer.run(partial(self._tx.submit, specs=list(specs)))

    async def get(self, task_id: str) -> Task | None:
        return await self._reader.run(partial(inspection.get, task_id=task_id))

    async def find_ids(self, prefix: str, *, limit: int) -> list[str]:
        return await self._reader.run(partial(inspection.find_ids, prefix=prefix, limit=limit))

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None = None) -> TaskPage:
        return await self._reader.run(partial(inspection.list_tasks, filter=filter, limit=limit, cursor=cursor))

    async def cancel(self, task_id: str) -> Task:
        return await self._writer.run(partial(self._tx.cancel, task_id=task_id))

    async def retry(self, task_id: str, *, payload: Any = base.UNCHANGED) -> Task:
        kept = KEEP_PAYLOAD if payload is base.UNCHANGED else payload
        return await self._writer.run(partial(self._tx.retry, task_id=task_id, payload=kept))

    # -- workers --------------------------------------------------------------------------

    async def lease(
        self,
        *,
        worker_id: str,
        queues: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        max: int = 1,
    ) -> list[Lease]:
        operation = partial(self._tx.lease, worker_id=worker_id, queues=queues, types=types, max=max)
        return await self._writer.run(operation)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None = None) -> HeartbeatAck:
        return await self._writer.run(partial(self._tx.heartbeat, task_id=task_id, token=token, progress=progress))

    async def complete(self, task_id: str, token: str, *, result: Any = None) -> Task:
        return await self._writer.run(partial(self._tx.complete, task_id=task_id, token=token, result=result))

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool = True, retry_after_s: float | None = None
    ) -> Task:
        operation = partial(
            self._tx.fail, task_id=task_id, token=token, error=error, retry=retry, retry_after_s=retry_after_s
        )
        return await self._writer.run(operation)

    async def settle(
        self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None = None, with_tasks: bool = False
    ) -> Settlement:
        operation = partial(self._tx.settle, outcomes=list(outcomes), then_lease=then_lease, with_tasks=with_tasks)
        return await self._writer.run(operation)

    async def release(self, task_id: str, token: str) -> Task:
        return await self._writer.run(partial(self._tx.release, task_id=task_id, token=token))

    # -- scheduler ------------------------------------------------------------------------

    async def forward_due(self, *, limit: int = 1000) -> int:
        return await self._writer.run(partial(self._tx.forward_due, limit=limit))

    async def recover_expired(self, *, limit: int = 1000) -> int:
        return await self._writer.run(partial(self._tx.recover_expired, limit=limit))

    async def resolve_abandoned(self) -> int:
        return 0  # a bulk is one transaction here: nothing is ever left half done

    async def next_timer(self) -> float | None:
        return await self._reader.run(inspection.next_timer)

    async def trim_retention(self, *, limit: int = 1000) -> int:
        return await self._writer.run(partial(self._tx.trim_retention, limit=limit))

    # -- stats and admin ------------------------------------------------------------------

    async def counts(self) -> dict[TaskState, int]:
        return await self._reader.run(inspection.counts)

    async def queue_stats(self) -> list[QueueStats]:
        return await self._reader.run(inspection.queue_stats)

    async def pause_queue(self, queue: str) -> None:
        await self._writer.run(partial(self._tx.set_paused, queue=queue, paused=True))

    async def resume_queue(self, queue: str) -> None:
        await self._writer.run(partial(self._tx.set_paused, queue=queue, paused=False))

    async def purge(self, queue: str, *, priority: int | None = None) -> int:
        return await self._writer.run(partial(self._tx.purge, queue=queue, priority=priority))

    async def dlq_list(self, *, limit: int, cursor: str | None = None) -> TaskPage:
        return await self._reader.run(partial(inspection.dlq_list, limit=limit, cursor=cursor))

    async def dlq_retry(self, ids: Sequence[str] | None = None) -> int:
        return await self._writer.run(partial(self._tx.dlq_retry, ids=None if ids is None else list(ids)))

    async def dlq_delete(self) -> int:
        return await self._writer.run(self._tx.dlq_delete)

    # -- the worker registry --------------------------------------------------------------

    async def register_worker(
        self, worker_id: str, details: WorkerDetails, *, since: float | None = None
    ) -> WorkerRecord | None:
        now_ms = to_ms(self._clock.now())
        since_ms = now_ms if since is None else to_ms(since)
        sighting = partial(registry.register, departures=self._departures, worker_id=worker_id, details=details)
        return await self._writer.run(partial(sighting, now_ms=now_ms, since_ms=since_ms))

    async def list_workers(self, *, seen_since: float) -> list[WorkerRecord]:
        return await self._reader.run(partial(registry.seen_since, seen_since_ms=to_ms(seen_since)))

    async def count_workers(self, *, seen_since: float) -> int:
        return await self._reader.run(partial(registry.count_seen_since, seen_since_ms=to_ms(seen_since)))

    async def get_worker(self, worker_id: str) -> WorkerRecord | None:
        return await self._reader.run(partial(registry.get, worker_id=worker_id))

    async def set_worker_paused(self, worker_id: str, paused: bool) -> WorkerRecord | None:
        return await self._writer.run(partial(registry.set_paused, worker_id=worker_id, paused=paused))

    async def forget_worker(self, worker_id: str) -> bool:
        now_ms = to_ms(self._clock.now())
        return await self._writer.run(
            partial(registry.forget, departures=self._departures, worker_id=worker_id, now_ms=now_ms)
        )

    async def prune_workers(self, *, seen_before: float) -> int:
        return await self._writer.run(partial(registry.prune, seen_before_ms=to_ms(seen_before)))

    async def depart_workers(self, *, seen_before: float) -> int:
        now_ms = to_ms(self._clock.now())
        return await self._writer.run(partial(registry.depart, seen_before_ms=to_ms(seen_before), now_ms=now_ms))

    # -- events and metrics ---------------------------------------------------------------

    async def event_cursor(self, since: str | None = None, *, queue: str | None = None) -> EventCursor:
        return self._announcer.log.cursor(since, queue=queue)

    async def read_events(self, cursor: EventCursor, *, wait_s: float, limit: int = 1000) -> list[Event]:
        return await self._announcer.log.read(cursor, wait_s=wait_s, limit=limit)

    async def task_metrics(self) -> TaskMetrics:
        return copy.deepcopy(self._announcer.metrics)

    async def record_sample(self, minute: int, totals: Totals) -> bool:
        return await self._writer.run(partial(sampled.record, minute=minute, totals=totals))

    async def samples(self, first: int, last: int) -> dict[int, Totals]:
        return await self._reader.run(partial(sampled.between, first=first, last=last))

    # -- periodic schedules ---------------------------------------------------------------

    async def put_schedule(self, definition: ScheduleDefinition) -> tuple[Schedule, bool]:
        return await self._writer.run(partial(schedules.put, definition=definition, now=self._clock.now()))

    async def get_schedule(self, name: str) -> Schedule | None:
        return await self._reader.run(partial(schedules.get, name=name))

    async def list_schedules(self) -> list[Schedule]:
        return await self._reader.run(schedules.all_schedules)

    async def delete_schedule(self, name: str) -> bool:
        return await self._writer.run(partial(schedules.delete, name=name))

    async def set_schedule_paused(self, name: str, paused: bool) -> Schedule | None:
        operation = partial(schedules.set_paused, name=name, paused=paused, now=self._clock.now())
        return await self._writer.run(operation)

    async def due_schedules(self, *, limit: int) -> list[Schedule]:
        return await self._reader.run(partial(schedules.due, now_ms=to_ms(self._clock.now()), limit=limit))

    async def advance_schedule(
        self, name: str, *, due_at: float, next_run_at: float | None, ran_at: float, task: Task | None
    ) -> bool:
        operation = partial(
            schedules.advance, name=name, due_at=due_at, next_run_at=next_run_at, ran_at=ran_at, task=task
        )
        return await self._writer.run(operation)

    async def next_schedule_at(self) -> float | None:
        return await self._reader.run(schedules.next_run)

    # -- the webhook outbox ---------------------------------------------------------------

    async def claim_deliveries(self, *, limit: int, claim_s: float) -> list[Delivery]:
        now_ms = to_ms(self._clock.now())
        operation = partial(outbox.claim, now_ms=now_ms, limit=limit, until_ms=now_ms + to_ms(claim_s))
        return await self._writer.run(operation)

    async def settle_delivery(self, delivery: Delivery, outcome: DeliveryOutcome) -> bool:
        now_ms = to_ms(self._clock.now())
        settle = partial(outbox.settle, delivery=delivery, outcome=outcome, now_ms=now_ms, archive=self._tx.archives)
        settled = await self._writer.run(settle)
        if settled:  # counted once committed, as the transitions' own metrics are (Announcer)
            self._announcer.metrics.webhook(outcome.metric)
        return settled

    # -- the archive outbox (PostgreSQL history) ----------------------------------------

    async def read_archive(self, *, limit: int) -> list[ArchiveEntry]:
        return await self._reader.run(partial(archive.read, limit=limit))

    async def drop_archived(self, entries: Sequence[ArchiveEntry]) -> int:
        if not entries:
            return 0
        return await self._writer.run(partial(archive.drop, refs=[int(entry.ref) for entry in entries]))

    async def archive_backlog(self) -> ArchiveBacklog:
        return await self._reader.run(archive.backlog)

    async def keep_history_on(self, ttl_s: float) -> None:
        return None  # one process ends the tasks of a SQLite store: its own setting decides

    # -- wake-ups and lifecycle -----------------------------------------------------------

    async def take_token(self, client: str, *, rate: float, burst: int) -> float:
        return self._buckets.take(client, rate=rate, burst=burst)

    def watch(self, queues: Sequence[str] | None) -> AbstractContextManager[WorkSignal]:
        return self._hub.watch(queues)

    async def wait_timers(self, max_wait_s: float) -> None:
        await self._hub.wait_timers(max_wait_s)

    async def ping(self) -> bool:
        try:
            return await self._reader.run(inspection.ping)
        except BackendUnavailable:
            return False

    async def health(self) -> tuple[bool, list[str] | None]:
        return await self.ping(), None  # one file, no nodes

    async def durability_warning(self) -> str | None:
        return None  # every transition is a committed transaction in the file

    async def close(self) -> None:
        """Finish queued writes, then stop both threads and close both connections."""
        await self._writer.close()
        await self._reader.close()


def _connect_pair(path: Path | str, synchronous: Synchronous) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    write_conn = connect(path, synchronous=synchronous)
    try:
        ensure_schema(write_conn)
        return write_conn, connect(path, synchronous=synchronous)
    except BaseException:
        write_conn.close()
        raise


class Announcer:
    """Tells the process what a committed write did: wakes waiters, logs events, counts metrics.

    One process owns the file, so in-process is cluster-wide here; the figures start afresh
    with the process, as a Prometheus counter may.
    """

    def __init__(self, hub: WakeupHub, clock: Clock) -> None:
        self.hub = hub
        self.clock = clock
        self.log = LocalEventLog()
        self.metrics = TaskMetrics()

    def committed(self, wakeups: Wakeups) -> None:
        """Called on the event loop after the commit, in commit order."""
        for queue in wakeups.ready:
            self.hub.work_ready(queue)
        if wakeups.timers:
            self.hub.timers_changed()
        now = self.clock.now()
        for change in wakeups.announced:
            if isinstance(change.subject, Task):
                # The transition's own time, as on Redis, not the commit's (a deletion has none).
                at = now if change.name is EventName.TASK_DELETED else change.subject.updated_at
                self.log.append(change.name, at, task=change.subject)
                tally(self.metrics, change.name, change.subject, ran=change.ran)
            elif isinstance(change.subject, Schedule):
                self.log.append(change.name, now, schedule=change.subject, task=change.task)
            else:
                self.log.append(change.name, now, worker=change.subject)


if TYPE_CHECKING:

    def _conforms(backend: SqliteBackend) -> base.Backend:
        return backend  # mypy proves here that SqliteBackend satisfies the protocol
