"""The one seam between the use cases and storage: `Backend`, a protocol of atomic transitions.

Each method is one atomic step (a Lua script on Redis, one transaction on SQLite) and
names the SPEC §2 states it moves between. Backends take an `EngineConfig` and a `Clock`
when built, so calls carry only what the caller knows. They raise `taskline.errors` only.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from taskline.backends.wakeup import WorkSignal
from taskline.core.archive import ArchiveBacklog, ArchiveEntry
from taskline.core.measures import TaskMetrics
from taskline.core.outcomes import LeaseAsk, Outcome, Settlement
from taskline.core.samples import Totals
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.sentinel import UNCHANGED as UNCHANGED
from taskline.core.spec import TaskSpec
from taskline.core.states import TaskState
from taskline.core.task import HeartbeatAck, Lease, QueueStats, Submitted, Task, TaskFilter, TaskPage
from taskline.core.webhooks import Delivery, DeliveryOutcome
from taskline.core.workers import WorkerDetails, WorkerRecord
from taskline.events.types import Event, EventCursor


class Backend(Protocol):
    name: Literal["redis", "sqlite"]

    async def submit(self, specs: Sequence[TaskSpec]) -> list[Submitted]:
        """Store new tasks, all or nothing: → pending, or → scheduled when due later.

        Results are in input order. A spec whose `unique_key` (scoped by queue) names a task
        that is not terminal, or was submitted less than its `unique_ttl` ago, stores nothing
        and returns that task with `created=False`; a later spec in the same batch with an
        earlier one's key gets the earlier one's task.

        Raises:
            QueueFull: a queue would hold more than `max_queue_size` pending + scheduled +
                retrying tasks; nothing was stored.
        """
        ...

    async def get(self, task_id: str) -> Task | None: ...

    async def find_ids(self, prefix: str, *, limit: int) -> list[str]:
        """Ids of stored tasks that start with `prefix` (a canonical id's start, `ids.id_prefix`),
        in id order, at most `limit`: a range read of the id order, never a scan of every task."""
        ...

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None = None) -> TaskPage:
        """Tasks newest first (by id). `cursor` is the `next_cursor` of the previous page;
        a page may hold fewer than `limit` tasks and still have a `next_cursor`."""
        ...

    async def cancel(self, task_id: str) -> Task:
        """pending | scheduled | retrying → cancelled; running → running with cancel_requested.

        Raises:
            NotFound: no such task.  InvalidTransition: the task is terminal.
        """
        ...

    async def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        """failed | cancelled → pending, attempts kept, `max_retries` counted afresh.
        Never refused for queue size (SPEC §4).

        Raises:
            NotFound: no such task.  InvalidTransition: not failed or cancelled.
        """
        ...

    async def lease(
        self,
        *,
        worker_id: str,
        queues: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        max: int = 1,
    ) -> list[Lease]:
        """pending → running for up to `max` tasks of the given queues and types (None: any),
        never from a paused queue, in lease order: higher priority first, then due time
        (with priority aging, SPEC §2), across all the queues asked for.

        Each lease gets a fresh fencing token and ends at the earlier of now + lease_s and
        the attempt's deadline (started_at + timeout). `attempts` counts the new attempt.
        """
        ...

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None = None) -> HeartbeatAck:
        """Renew a lease (running → running) up to the attempt's deadline; store progress.

        Raises:
            NotFound: no such task.  LeaseLost: the token is not the running attempt's.
        """
        ...

    async def complete(self, task_id: str, token: str, *, result: Any = None) -> Task:
        """running → completed. The same token again on the completed task returns it
        unchanged (the first result stands).

        Raises:
            NotFound: no such task.  LeaseLost: the token is not the running attempt's.
        """
        ...

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool = True, retry_after_s: float | None = None
    ) -> Task:
        """End a running attempt in failure: → cancelled if cancel was requested; else →
        retrying (due after the backoff, or `retry_after_s`) while retries are left and
        `retry` is true; else → failed (the DLQ).

        Raises:
            NotFound: no such task.  LeaseLost: not the running attempt's token.
        """
        ...

    async def settle(
        self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None = None, with_tasks: bool = False
    ) -> Settlement:
        """End many attempts in one step, each as `complete` or `fail` would (in the order
        given), then lease up to `then_lease.max` tasks as `lease` would.

        An outcome that `complete` or `fail` would refuse is refused alone: its `Settled`
        carries the NotFound or LeaseLost, and the others and the leases go ahead. Each
        `Settled` says the task's new state; `with_tasks` adds the task as saved.
        """
        ...

    async def release(self, task_id: str, token: str) -> Task:
        """running → pending without using up the attempt: a worker shutting down hands it back.
        A task whose cancel was requested ends cancelled instead.

        Raises:
            NotFound: no such task.  LeaseLost: not the running attempt's token.
        """
        ...

    async def forward_due(self, *, limit: int = 1000) -> int:
        """scheduled | retrying → pending for tasks due by now; returns how many moved."""
        ...

    async def recover_expired(self, *, limit: int = 1000) -> int:
        """Running tasks whose lease ran out: a failed attempt with error `timeout` (deadline
        reached) or `lease expired`, ending as `fail` would (cancelled, retrying or failed).
        Returns how many were recovered; their tokens are stale from then on."""
        ...

    async def resolve_abandoned(self) -> int:
        """Finish what a bulk's submitter left undone past its deadline (it died, its connection
        dropped, it stalled): store the whole bulk if its decision was commit, else drop it all.
        Returns how many bulks were resolved. Nothing to do where a bulk is one transaction
        (SQLite); on Redis a bulk spanning queues is a two-phase commit (redis/batches.py)."""
        ...

    async def next_timer(self) -> float | None:
        """The earliest time at which `forward_due` or `recover_expired` will have work."""
        ...

    async def counts(self) -> dict[TaskState, int]:
        """Tasks per state, every state present."""
        ...

    async def queue_stats(self) -> list[QueueStats]:
        """Every known queue, by name."""
        ...

    async def pause_queue(self, queue: str) -> None: ...

    async def resume_queue(self, queue: str) -> None: ...

    async def purge(self, queue: str, *, priority: int | None = None) -> int:
        """Delete the queue's pending tasks (of one priority, or all); returns how many."""
        ...

    async def dlq_list(self, *, limit: int, cursor: str | None = None) -> TaskPage:
        """Failed tasks, most recently failed first."""
        ...

    async def dlq_retry(self, ids: Sequence[str] | None = None) -> int:
        """failed → pending for the listed failed tasks (None: all); returns how many moved."""
        ...

    async def dlq_delete(self) -> int:
        """Delete every failed task; returns how many."""
        ...

    async def trim_retention(self, *, limit: int = 1000) -> int:
        """Delete completed and cancelled tasks older than `retention_s` and failed ones older
        than `dlq_retention_s` (age from `completed_at`); returns how many."""
        ...

    async def take_token(self, client: str, *, rate: float, burst: int) -> float:
        """Spend one token of `client`'s bucket (refilled at `rate`/s, holding `burst`).

        Returns 0 when allowed, else the seconds until a token will be there. Kept in the
        store so that every API instance on one Redis shares each client's bucket.
        """
        ...

    # The worker registry (SPEC §3 "Admin", §5): global, not per queue.

    async def register_worker(
        self, worker_id: str, details: WorkerDetails, *, since: float | None = None
    ) -> WorkerRecord | None:
        """Record a sighting of a worker: creates it (active, started now) on first sight; the
        details given overwrite, those left None are kept; `last_seen` becomes now. Returns the
        record, so the caller learns whether the worker is paused.

        `since` is when the request that saw the worker began (None: now). A sighting from a
        request that began before the worker said it left (`forget_worker`) is stale, a poll or
        heartbeat that was in flight as it shut down: nothing is recorded and None is returned,
        so the worker does not come back as a ghost. A sighting that began later is a worker of
        that id starting again: it joins afresh."""
        ...

    async def list_workers(self, *, seen_since: float) -> list[WorkerRecord]:
        """Workers last seen at or after `seen_since`, by id."""
        ...

    async def count_workers(self, *, seen_since: float) -> int:
        """How many workers `list_workers` would list, counted by the store without reading a
        record (`/api/v1/stats` asks on every dashboard refresh)."""
        ...

    async def get_worker(self, worker_id: str) -> WorkerRecord | None: ...

    async def set_worker_paused(self, worker_id: str, paused: bool) -> WorkerRecord | None:
        """Pause (it takes no new tasks) or resume a known worker; None if there is no such worker."""
        ...

    async def forget_worker(self, worker_id: str) -> bool:
        """Delete a worker's record (it shut down); False if there was none. Either way the time
        it left is kept for `core.workers.DEPARTURE_KEPT_S`, which `register_worker`'s `since` is held to."""
        ...

    async def prune_workers(self, *, seen_before: float) -> int:
        """Delete the records of workers last seen before `seen_before`; returns how many.
        One that had not left yet leaves (worker.left)."""
        ...

    async def depart_workers(self, *, seen_before: float) -> int:
        """Workers last seen before `seen_before` have left: each is announced once
        (worker.left) and its record kept until pruned; returns how many left now."""
        ...

    # The event log (SPEC §3 /ws). Every transition above appends its event (events.types.
    # EventName) in the same atomic step, so no change is ever unannounced; the log keeps
    # about EVENTS_KEPT events per stream.

    async def event_cursor(self, since: str | None = None, *, queue: str | None = None) -> EventCursor:
        """A read position just after event `since`, or at the end of the log (None);
        `queue` limits it to one queue's task events.

        Raises:
            EventsLost: events after `since` are no longer kept.
            ValueError: `since` is not an event id.
        """
        ...

    async def read_events(self, cursor: EventCursor, *, wait_s: float, limit: int = 1000) -> list[Event]:
        """The events after `cursor`, in id order (so a task's events in the order they
        happened), waiting up to `wait_s` for the first; advances the cursor.

        Raises:
            EventsLost: the reader fell behind the events kept (start again with a new cursor).
        """
        ...

    async def task_metrics(self) -> TaskMetrics:
        """The task counters and histograms of /metrics, counted by the transitions themselves
        (on Redis in the store, so every instance reports the same figures)."""
        ...

    # Per-minute samples of those totals (core.samples), cluster-wide like them: what the
    # minute sampler stores and `GET /api/v1/stats/series` reads.

    async def record_sample(self, minute: int, totals: Totals) -> bool:
        """Store `totals` as the figures at the start of `minute` (minutes since the epoch)
        unless that minute already has a sample: the first writer wins, so any number of
        servers may sample one minute. Storing one drops those before `oldest_kept(minute)`.
        True if this call stored it."""
        ...

    async def samples(self, first: int, last: int) -> dict[int, Totals]:
        """The samples of minutes `first` to `last` (inclusive) that exist, by minute, looking
        at most KEPT_MINUTES back from `last` (`core.samples.readable`); one that cannot be read
        (taken by a Taskline with other histogram buckets) is left out."""
        ...

    # Periodic schedules (SPEC §10, core.schedules): global, not per queue. Each change appends
    # its schedule.* event in the same atomic step, as task and worker changes do.

    async def put_schedule(self, definition: ScheduleDefinition) -> tuple[Schedule, bool]:
        """Create the schedule (True), or replace the definition of the one of that name (False):
        paused state, created_at and last run kept, the next run computed from now
        (`core.schedules.replaced`). schedule.created | schedule.updated."""
        ...

    async def get_schedule(self, name: str) -> Schedule | None: ...

    async def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""
        ...

    async def delete_schedule(self, name: str) -> bool:
        """Delete it (schedule.deleted); the tasks it submitted stay. False if there was none."""
        ...

    async def set_schedule_paused(self, name: str, paused: bool) -> Schedule | None:
        """Pause (no next run), or resume with the next run computed from now; a schedule
        already in that state is returned unchanged, unannounced. None if there is no such one."""
        ...

    async def due_schedules(self, *, limit: int) -> list[Schedule]:
        """Schedules whose next run is at or before now (never paused ones), earliest first."""
        ...

    async def advance_schedule(
        self, name: str, *, due_at: float, next_run_at: float | None, ran_at: float, task: Task | None
    ) -> bool:
        """A compare-and-set: if the schedule's next run is still `due_at` (and it is not paused),
        make it `next_run_at`, record the run at `ran_at` (the tick) and its `task`, and announce
        schedule.fired with the task. False, changing nothing, when another scheduler advanced
        it first or it was paused, replaced or deleted meanwhile."""
        ...

    async def next_schedule_at(self) -> float | None:
        """The earliest next run of any schedule (None: none is due ever), for the scheduler's
        wake-up; a change that makes it earlier wakes `wait_timers`."""
        ...

    # The webhook outbox (SPEC §6): each terminal state of a task with a webhook adds a
    # delivery in the same atomic step as the state itself.

    async def claim_deliveries(self, *, limit: int, claim_s: float) -> list[Delivery]:
        """Take up to `limit` deliveries due by now and make them due again at now + `claim_s`,
        so another dispatcher does not take the same attempt meanwhile, and one whose
        dispatcher died is taken again after `claim_s`."""
        ...

    async def settle_delivery(self, delivery: Delivery, outcome: DeliveryOutcome) -> bool:
        """Record one attempt's outcome: delivered or failed leaves the outbox, pending is due
        again after `outcome.retry_in_s`; counts it for /metrics (`webhook|<outcome>`).

        The task's `webhook_status` becomes the outcome's only while the task still ends as
        the delivery saw it (same `completed_at`): a delivery from before a manual retry never
        overwrites the status of a later one. Returns False, changing nothing, when the attempt
        was already settled (another dispatcher took it after the claim ran out).
        """
        ...

    # The archive outbox (PostgreSQL history, core.archive): while EngineConfig.archive is on,
    # each end of a task (completed, failed, cancelled) adds the task as it ended, in the same
    # atomic step as the end. Retention never touches it: an entry holds the whole record, so
    # trimming the task itself loses nothing the archiver has not copied yet.

    async def read_archive(self, *, limit: int) -> list[ArchiveEntry]:
        """Up to `limit` entries, oldest first (per queue on Redis). Reading removes nothing. On
        Redis several servers split the queues (a queue's entries go to one reader at a time, a
        claim of a few seconds); where two still read the same entries, at a hand-over, their
        idempotent upserts and exact drops make that harmless."""
        ...

    async def drop_archived(self, entries: Sequence[ArchiveEntry]) -> int:
        """Remove exactly these entries (those already gone are skipped); returns how many went."""
        ...

    async def archive_backlog(self) -> ArchiveBacklog:
        """How many entries wait, and when the oldest was written."""
        ...

    async def keep_history_on(self, ttl_s: float) -> None:
        """Say, for `ttl_s`, that a server archives this store: on Redis every process then adds
        its ends to the outbox, TASKLINE_POSTGRES_URL set or not (redis/history_flag.py). On
        SQLite the serving process is the one that ends tasks, so it does nothing."""
        ...

    def watch(self, queues: Sequence[str] | None) -> AbstractContextManager[WorkSignal]:
        """A signal set whenever a task may have become pending in `queues` (None: any).
        Register before leasing, then wait on it, and no wake-up is missed."""
        ...

    async def wait_timers(self, max_wait_s: float) -> None:
        """Sleep up to `max_wait_s`, returning early when a new due time or deadline may
        precede `next_timer()`'s answer."""
        ...

    async def ping(self) -> bool:
        """True if the store answers (a Redis Cluster: if any of its nodes does)."""
        ...

    async def health(self) -> tuple[bool, list[str] | None]:
        """For /health, in one look: whether the store answers (`ping`), and the addresses of a
        Redis Cluster's nodes that do not (None for a store that is not a cluster: one server,
        whose answer says it all)."""
        ...

    async def durability_warning(self) -> str | None:
        """Why tasks would not survive a restart of the store, or None if they would (or the
        store cannot tell and says so). A server logs it at start."""
        ...

    async def close(self) -> None: ...
