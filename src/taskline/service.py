"""TaskService: the use cases, named as SPEC's verbs, and the only caller of the Backend.

Routes, the CLI and in-process workers come through here; it validates what callers send,
applies the limits of SPEC §4 that are not storage's business, and waits for work.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from taskline.backends.base import Backend
from taskline.backends.factory import open_backend
from taskline.core.archive import ArchiveBacklog
from taskline.core.clock import Clock, SystemClock
from taskline.core.ids import MIN_PREFIX_DIGITS, id_prefix, is_task_id, short_length
from taskline.core.measures import TaskMetrics
from taskline.core.outcomes import Completion, LeaseAsk, Outcome, Settlement
from taskline.core.priority import parse_priority
from taskline.core.samples import KEPT_MINUTES, minute_of, totals_of
from taskline.core.schedules import Schedule, parse_definition
from taskline.core.sentinel import UNCHANGED
from taskline.core.series import MinuteFigures, series
from taskline.core.spec import NAME_RE, TaskSpec, check_payload_size, parse_spec, stored_json_size
from taskline.core.states import TaskState
from taskline.core.task import (
    HeartbeatAck,
    Lease,
    QueueStats,
    Source,
    Stats,
    Submitted,
    Task,
    TaskFilter,
    TaskPage,
)
from taskline.core.webhooks import Delivery, DeliveryOutcome
from taskline.core.workers import SEEN_WITHIN_S, WorkerDetails, WorkerRecord, WorkerState
from taskline.errors import AmbiguousId, IdempotencyConflict, NotFound, PayloadTooLarge, TasklineError, ValidationFailed
from taskline.events.types import Event, EventCursor
from taskline.roster import REFRESH_S, Roster

if TYPE_CHECKING:
    from taskline.config import Settings
    from taskline.history.reader import HistoryReader
    from taskline.history.store import HistoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BULK = 1000
MAX_POLL_WAIT_S = 60.0
MAX_DLQ_RETRY_IDS = 1000
# A long poll looks again this often even when nothing wakes it, so a worker that only
# long-polls stays listed (seen within a minute) however long its `wait`.
POLL_KEEPALIVE_S = 20.0
# A health check answers within this even when the store hangs (a half-open TCP connection).
PING_TIMEOUT_S = 2.0


def _same_request(task: Task, spec: TaskSpec) -> bool:
    """Whether a resent Idempotency-Key carries the body that created `task` (Stripe's rule).
    Due times are left out: a resent `delay` is relative to a later now."""
    return (task.type, task.queue, task.payload, task.priority, task.max_retries, task.timeout) == (
        spec.type,
        spec.queue,
        spec.payload,
        spec.priority,
        spec.max_retries,
        spec.timeout,
    ) and (task.metadata, task.webhook) == (spec.metadata, spec.webhook)


def keyed_spec(spec: TaskSpec, idempotency_key: str | None) -> TaskSpec:
    """`spec` with the Idempotency-Key as its unique_key (SPEC §1).

    Raises:
        ValidationFailed: the key is not 1-256 characters, or differs from the spec's unique_key.
    """
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 256:
            raise ValidationFailed(
                "Idempotency-Key is not valid",
                [{"field": "Idempotency-Key", "message": "must be a string of 1-256 characters"}],
            )
        if spec.unique_key is not None and spec.unique_key != idempotency_key:
            raise ValidationFailed(
                "Idempotency-Key and unique_key differ",
                [{"field": "unique_key", "message": "must equal the Idempotency-Key header when both are given"}],
            )
        spec.unique_key = idempotency_key
    return spec


def checked_replay(submitted: Submitted, spec: TaskSpec, idempotency_key: str | None) -> Submitted:
    """`submitted`, unless an Idempotency-Key found a task another request created.

    Raises:
        IdempotencyConflict: the key's task was created with a different body.
    """
    if idempotency_key is not None and not submitted.created and not _same_request(submitted.task, spec):
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different request", {"task_id": submitted.task.id}
        )
    return submitted


def parse_specs(items: object, parse: Callable[[object], TaskSpec]) -> list[TaskSpec]:
    """The specs of a bulk submit, each checked by `parse`; every broken item named by `index`.

    Raises:
        ValidationFailed: not an array of 1-MAX_BULK, or items broken (details per item).
        PayloadTooLarge: an item is over a size limit.
    """
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BULK:
        raise ValidationFailed(
            f"the body must be a JSON array of 1 to {MAX_BULK} tasks",
            [{"index": None, "field": "", "message": f"must be an array of 1-{MAX_BULK} task objects"}],
        )
    specs: list[TaskSpec] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            specs.append(parse(item))
        except ValidationFailed as exc:
            problems += [{"index": index, **detail} for detail in exc.details]
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(f"task {index}: {exc.message}", [{"index": index, **exc.details[0]}]) from None
    if problems:
        raise ValidationFailed("some tasks are not valid; nothing was submitted", problems)
    return specs


SHORT_IDS_MOST = 500
"""The most ids one `short_ids` call abbreviates: a task list's largest page."""

AMBIGUOUS_COUNTED = 100
"""An ambiguous id prefix's error counts the ids that start with it up to this many."""


def _task_ids(ids: object, *, most: int) -> list[str]:
    """`ids` checked to be a list of 1 to `most` task ids (a ValidationFailed naming each that is not)."""
    if not isinstance(ids, list) or not 1 <= len(ids) <= most:
        message = f"must be a list of 1 to {most} task ids"
        raise ValidationFailed(f"ids {message}", [{"field": "ids", "message": message}])
    wrong = [
        {"field": "ids", "index": i, "message": "is not a task id"}
        for i, value in enumerate(ids)
        if not (isinstance(value, str) and is_task_id(value))
    ]
    if wrong:
        raise ValidationFailed("ids must be whole task ids", wrong)
    return ids


class TaskService:
    def __init__(
        self,
        backend: Backend,
        *,
        max_payload_bytes: int = 1 << 20,
        clock: Clock | None = None,
        allow_private_webhooks: bool = False,
    ) -> None:
        self.backend = backend
        self.max_payload_bytes = max_payload_bytes
        self.allow_private_webhooks = allow_private_webhooks  # TASKLINE_WEBHOOK_ALLOW_PRIVATE
        self.clock = clock or SystemClock()
        self.roster = Roster(backend)
        # PostgreSQL history (TASKLINE_POSTGRES_URL): the pool, which a server's archiver writes
        # through, and the reads; both None while history is off (`attach_history`).
        self.history_store: HistoryStore | None = None
        self.history: HistoryReader | None = None

    @classmethod
    async def open(
        cls,
        settings: "Settings",
        *,
        redis_url: str | None,
        clock: Clock | None = None,
        wake_ups: bool = True,
        history: bool = True,
    ) -> "TaskService":
        """The service over the backend `settings` describe (Redis at `redis_url`, else SQLite);
        `wake_ups` as `open_backend` takes it, `history` as `over`."""
        backend = await open_backend(
            redis_url=redis_url,
            sqlite_path=settings.sqlite_path,
            config=settings.engine_config(),
            clock=clock,
            wake_ups=wake_ups,
        )
        try:
            return cls.over(backend, settings, clock=clock, history=history)
        except BaseException:
            await backend.close()
            raise

    @classmethod
    def over(
        cls, backend: Backend, settings: "Settings", *, clock: Clock | None = None, history: bool = True
    ) -> "TaskService":
        """The service over an open backend, with the limits `settings` set and, with
        TASKLINE_POSTGRES_URL, PostgreSQL history's reads (unless `history` is False: a process
        that only works tasks, which need not have asyncpg installed to end them).

        Raises:
            ValueError: TASKLINE_POSTGRES_URL is not a postgresql:// URL.
            RuntimeError: it is set, `history` is on and asyncpg is not installed.
        """
        service = cls(
            backend,
            max_payload_bytes=settings.max_payload_bytes,
            clock=clock,
            allow_private_webhooks=settings.webhook_allow_private,
        )
        if history and (dsn := settings.postgres_dsn()) is not None:
            from taskline.history.store import HistoryStore  # asyncpg only where history is read

            service.attach_history(HistoryStore(dsn))
        return service

    def attach_history(self, store: "HistoryStore") -> None:
        """Read PostgreSQL history through `store` (closed with the service)."""
        from taskline.history.reader import HistoryReader

        self.history_store = store
        self.history = HistoryReader(store)

    # The store itself: what health checks, the rate limiter and shutdown need of it.

    @property
    def backend_name(self) -> Literal["redis", "sqlite"]:
        return self.backend.name

    async def ping(self, *, timeout_s: float = PING_TIMEOUT_S) -> bool:
        """True if the backend answers within `timeout_s`; never raises, never hangs longer."""
        try:
            async with asyncio.timeout(timeout_s):  # not wait_for, which can lose a cancellation
                return await self.backend.ping()
        except (TimeoutError, TasklineError):
            return False

    async def health(self, *, timeout_s: float = PING_TIMEOUT_S) -> tuple[bool, list[str] | None]:
        """Whether the backend answers within `timeout_s`, and the cluster nodes that do not
        (None: not a cluster); one call, never raises, never hangs longer."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.backend.health()
        except (TimeoutError, TasklineError):
            return False, None

    async def take_token(self, client: str, *, rate: float, burst: int) -> float:
        """Spend one of `client`'s rate-limit tokens: 0 if allowed, else seconds to wait.

        Raises:
            BackendUnavailable: the store (which holds the buckets) does not answer.
        """
        return await self.backend.take_token(client, rate=rate, burst=burst)

    async def durability_warning(self) -> str | None:
        """Why tasks would not survive a restart of the store (None: they would)."""
        return await self.backend.durability_warning()

    async def close_history(self) -> None:
        """Close PostgreSQL history's pool, if any; history reads are off afterwards."""
        store, self.history_store, self.history = self.history_store, None, None
        if store is not None:
            await store.close()

    async def close(self) -> None:
        """Close history and the backend; the service is unusable afterwards."""
        try:
            await self.close_history()
        finally:
            await self.backend.close()

    def _spec(self, data: object) -> TaskSpec:
        return parse_spec(
            data,
            now=self.clock.now(),
            max_payload_bytes=self.max_payload_bytes,
            allow_private_webhooks=self.allow_private_webhooks,
        )

    async def submit(self, data: object, *, idempotency_key: str | None = None) -> Submitted:
        """Validate and store one task; `idempotency_key` acts as its unique_key.

        Raises:
            ValidationFailed, PayloadTooLarge, QueueFull, IdempotencyConflict.
        """
        spec = keyed_spec(self._spec(data), idempotency_key)
        (submitted,) = await self.backend.submit([spec])
        return checked_replay(submitted, spec, idempotency_key)

    async def submit_many(self, items: object) -> list[Submitted]:
        """Validate every item first, then store all or nothing.

        Raises:
            ValidationFailed: details name each broken item by `index`.
            PayloadTooLarge: an item is over a size limit (the whole request fails).
        """
        return await self.backend.submit(parse_specs(items, self._spec))

    async def get(self, task_id: str) -> Task:
        """The task, live or else from history.

        Raises:
            NotFound: in neither.  BackendUnavailable: a store that had to be asked is unreachable.
        """
        task, _ = await self.find(task_id)
        return task

    async def find(self, task_id: str) -> tuple[Task, Source]:
        """The task and where it was found: the live backend first, then (with history on)
        PostgreSQL, where a task retention removed still is. `task_id` may be a prefix of a live
        task's id (`resolve_id`).

        Raises:
            NotFound: in neither.  AmbiguousId: a prefix of several ids.
            BackendUnavailable: a store that had to be asked is unreachable.
        """
        task_id = await self.resolve_id(task_id)
        task = await self.backend.get(task_id)
        if task is not None:
            return task, "live"
        if self.history is not None and (task := await self.history.get(task_id)) is not None:
            return task, "history"
        raise NotFound.of("task", task_id)

    async def list_tasks(
        self, filter: TaskFilter, *, limit: int, cursor: str | None, source: Source = "live"
    ) -> TaskPage:
        """Tasks newest first from the live backend, or from PostgreSQL history (`source`).

        Raises:
            ValidationFailed: `source="history"` with history off, or a cursor neither gave.
        """
        if source == "live":
            return await self.backend.list_tasks(filter, limit=limit, cursor=cursor)
        if self.history is None:
            raise ValidationFailed(
                "history is off on this server: TASKLINE_POSTGRES_URL is not set",
                [{"field": "source", "message": "history needs TASKLINE_POSTGRES_URL on the server"}],
            )
        return await self.history.list_tasks(filter, limit=limit, cursor=cursor)

    async def resolve_id(self, text: str) -> str:
        """The id `text` names: itself when it is a whole id, else the one stored task's whose id
        starts with it (`ids.id_prefix`: 8 or more hex digits, dashes optional), as git takes a
        commit's abbreviation. Only the live backend is asked: history needs the whole id.

        Raises:
            NotFound: no stored id starts with it.  AmbiguousId: several do.
        """
        if is_task_id(text):
            return text
        prefix = id_prefix(text)
        if prefix is None:
            short = len(text.replace("-", "")) < MIN_PREFIX_DIGITS
            hint = f"(a prefix needs {MIN_PREFIX_DIGITS} hex digits or more)" if short else ""
            raise NotFound.of("task", text, qualifier=hint)
        found = await self.backend.find_ids(prefix, limit=AMBIGUOUS_COUNTED + 1)
        if not found:
            raise NotFound.of("task", text, qualifier="(no task id starts with it)")
        if len(found) == 1:
            return found[0]
        exact = len(found) <= AMBIGUOUS_COUNTED
        count = f"{len(found)} task ids start" if exact else f"more than {AMBIGUOUS_COUNTED} task ids start"
        raise AmbiguousId(
            f"{text} is ambiguous: {count} with {prefix}; give more of the id",
            {"count": min(len(found), AMBIGUOUS_COUNTED), "count_is_exact": exact, "candidates": found[:10]},
        )

    async def short_ids(self, ids: object) -> dict[str, str]:
        """Each id's abbreviation: its shortest prefix, of at least 8 hex digits, that no other
        stored task's id starts with. An id not stored (from history, say) is told apart from the
        other ids given only.

        Raises:
            ValidationFailed: `ids` is not a list of 1–500 task ids.
        """
        ordered = sorted(set(_task_ids(ids, most=SHORT_IDS_MOST)))
        short: dict[str, str] = {}
        for i, task_id in enumerate(ordered):
            # the ids given are stored ids too: their neighbours bound the length from below
            length = short_length(task_id, ordered[max(i - 1, 0) : i + 2])
            while length < len(task_id):
                found = await self.backend.find_ids(task_id[:length], limit=2)
                if len(found) < 2:
                    break
                length = short_length(task_id, found)
            short[task_id] = task_id[:length]
        return short

    async def cancel(self, task_id: str) -> Task:
        """Cancel a task, by its id or a prefix of it (`resolve_id`)."""
        return await self.backend.cancel(await self.resolve_id(task_id))

    async def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        """Retry a failed or cancelled task, by its id or a prefix of it (`resolve_id`)."""
        if payload is not UNCHANGED:
            check_payload_size(payload, self.max_payload_bytes)  # the same size rule as a submit
        return await self.backend.retry(await self.resolve_id(task_id), payload=payload)

    async def poll(
        self,
        *,
        worker_id: str,
        queues: Sequence[str] | None,
        types: Sequence[str] | None,
        wait_s: float,
        max: int,
    ) -> list[Lease]:
        """Lease up to `max` tasks, waiting up to `wait_s` for one to arrive.

        The poll registers (or refreshes) `worker_id` in the worker registry. A paused worker's
        poll leases nothing: it waits out `wait_s`, leasing after all if resumed meanwhile.
        The wake-up signal is registered before the first look, so a task submitted between
        a look and the wait still wakes the poll.
        """
        deadline = time.monotonic() + min(wait_s, MAX_POLL_WAIT_S)
        began = self.clock.now()  # every sighting of this poll is as old as the poll
        first_sighting = WorkerDetails(queues=list(queues or []), types=list(types or []))
        with self.backend.watch(queues) as signal:
            while True:
                paused = await self.roster.paused(worker_id, first_sighting, since=began)
                leases = [] if paused else await self._lease_or_hand_back(worker_id, queues, types, max)
                remaining = deadline - time.monotonic()
                if leases or remaining <= 0:
                    return leases
                log.debug("poll by %s waits up to %.1fs", worker_id, remaining)
                if paused:  # look again when resumed here, or after REFRESH_S for a resume elsewhere
                    await self.roster.wait_for_change(worker_id, min(remaining, REFRESH_S))
                else:
                    await signal.wait(min(remaining, POLL_KEEPALIVE_S))

    async def _lease_or_hand_back(
        self, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, max: int
    ) -> list[Lease]:
        lease = self.backend.lease(worker_id=worker_id, queues=queues, types=types, max=max)
        return await self._handing_back(lease, lambda leases: leases)

    async def _handing_back(self, call: Awaitable[T], leases_of: Callable[[T], Sequence[Lease]]) -> T:
        """Run a store call that leases, to the end even if its caller gives up meanwhile."""
        running = asyncio.ensure_future(call)
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # The lease commits even though its caller gave up: hand the tasks straight back
            # rather than leave them running, unseen, until their leases expire. Shielded: in
            # a task being cancelled, every store call is cancelled too (backends/redis/failures.py).
            await asyncio.shield(self.hand_back(leases_of(await running)))
            raise

    async def hand_back(self, leases: Sequence[Lease]) -> None:
        """Release leases nobody will work on (a poll whose client went away)."""
        for lease in leases:
            try:
                await self.backend.release(lease.task.id, lease.token)
            except TasklineError as exc:
                log.warning("could not hand back task %s: %s", lease.task.id, exc.message)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None = None) -> HeartbeatAck:
        return await self.backend.heartbeat(task_id, token, progress=progress)

    async def settle(
        self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None = None, with_tasks: bool = False
    ) -> Settlement:
        """End many attempts (one refused alone, see `Backend.settle`), then lease up to
        `then_lease.max` tasks for the worker as a poll without waiting would: the worker is
        registered, and a paused one leases nothing.

        Raises:
            ValidationFailed: a result cannot be stored as JSON (`stored_json_size`), before anything
                is settled; details name each such outcome by its `index`.
        """
        _check_results(outcomes, indexed=True)
        return await self._settle(outcomes, then_lease, with_tasks)

    async def _settle(self, outcomes: Sequence[Outcome], then_lease: LeaseAsk | None, with_tasks: bool) -> Settlement:
        if then_lease is not None:
            began = self.clock.now()
            details = WorkerDetails(queues=list(then_lease.queues or []), types=list(then_lease.types or []))
            if then_lease.max < 1 or await self.roster.paused(then_lease.worker_id, details, since=began):
                then_lease = None
        call = self.backend.settle(outcomes, then_lease=then_lease, with_tasks=with_tasks)
        return await self._handing_back(call, lambda settlement: settlement.leases)

    async def settle_one(self, outcome: Outcome, then_lease: LeaseAsk | None = None) -> tuple[Task, list[Lease]]:
        """`complete` or `fail`, and with `then_lease` the worker's next tasks in the same step:
        the task as saved, and the leases.

        Raises:
            NotFound, LeaseLost: as `complete` or `fail` would (nothing is leased then).
            ValidationFailed: the result cannot be stored as JSON (`stored_json_size`).
        """
        _check_results([outcome], indexed=False)
        settlement = await self._settle([outcome], then_lease, with_tasks=True)
        (settled,) = settlement.settled
        if settled.refused is not None:
            # The caller gets an error, not these: hand them back (rare: a stale or repeated report).
            await self.hand_back(settlement.leases)
            raise settled.refused
        assert settled.task is not None
        return settled.task, settlement.leases

    async def release(self, task_id: str, token: str) -> Task:
        """Hand a running task back to pending without using up its attempt (a worker shutting down)."""
        return await self.backend.release(task_id, token)

    async def stats(self) -> Stats:
        """Tasks in each state (every state present), their total, and the live workers."""
        counts = await self.backend.counts()
        states = {state: counts.get(state, 0) for state in TaskState}
        workers = await self.backend.count_workers(seen_since=self.clock.now() - SEEN_WITHIN_S)
        return Stats(states=states, total=sum(states.values()), workers=workers)

    async def queues(self) -> list[QueueStats]:
        return await self.backend.queue_stats()

    async def task_metrics(self) -> TaskMetrics:
        """The task counters, run/wait histograms and webhook outcomes of /metrics (cluster-wide)."""
        return await self.backend.task_metrics()

    async def series(self, minutes: int) -> list[MinuteFigures]:
        """The last `minutes` minutes' task figures (cluster-wide), oldest first, ending with
        the current, partial minute: the minute sampler's samples, and the live totals.

        Raises:
            ValidationFailed: `minutes` is not 1 to KEPT_MINUTES (the samples kept).
        """
        if not 1 <= minutes <= KEPT_MINUTES:
            raise ValidationFailed(
                "minutes is out of range", [{"field": "minutes", "message": f"must be 1 to {KEPT_MINUTES}"}]
            )
        now_minute = minute_of(self.clock.now())
        samples = await self.backend.samples(now_minute - minutes + 1, now_minute)
        live = totals_of(await self.backend.task_metrics())
        return series(samples, live, now_minute=now_minute, minutes=minutes)

    # Admin (SPEC §3): tending queues and the dead-letter queue.

    async def pause_queue(self, queue: str) -> None:
        """No worker takes from `queue` until it is resumed; submits are still accepted."""
        await self.backend.pause_queue(_queue_name(queue))

    async def resume_queue(self, queue: str) -> None:
        await self.backend.resume_queue(_queue_name(queue))

    async def purge(self, queue: str, *, priority: int | str | None = None) -> int:
        """Delete the queue's pending tasks, of one priority (0-3 or its name, as a query string
        gives either) or all; returns how many.

        Raises:
            ValidationFailed: a bad queue name or priority.
        """
        level = None
        if priority is not None:
            try:
                level = int(parse_priority(int(priority) if str(priority).isdigit() else priority))
            except ValueError as exc:
                raise ValidationFailed("priority is not valid", [{"field": "priority", "message": str(exc)}]) from None
        return await self.backend.purge(_queue_name(queue), priority=level)

    async def dlq_list(self, *, limit: int, cursor: str | None) -> TaskPage:
        """Failed tasks, most recently failed first."""
        return await self.backend.dlq_list(limit=limit, cursor=cursor)

    async def dlq_retry(self, ids: object = None) -> int:
        """failed → pending for the listed tasks (None: every failed task); returns how many moved.
        Listed ids that are not failed are skipped, not refused: the DLQ may have moved on.

        Raises:
            ValidationFailed: `ids` is not a list of 1-1000 strings.
        """
        if ids is not None and (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_DLQ_RETRY_IDS
            or not all(isinstance(i, str) and i for i in ids)
        ):
            raise ValidationFailed(
                "ids must be a list of task ids",
                [{"field": "ids", "message": f"must be an array of 1-{MAX_DLQ_RETRY_IDS} non-empty strings"}],
            )
        return await self.backend.dlq_retry(ids)

    async def dlq_delete(self) -> int:
        """Delete every failed task; returns how many."""
        return await self.backend.dlq_delete()

    # The webhook outbox (SPEC §6): what the dispatcher works through.

    async def archive_backlog(self) -> ArchiveBacklog:
        """What waits in the archive outbox for PostgreSQL history (all zero while history is off)."""
        return await self.backend.archive_backlog()

    async def claim_deliveries(self, *, limit: int, claim_s: float) -> list[Delivery]:
        """Take due webhook deliveries, kept from other dispatchers for `claim_s`."""
        return await self.backend.claim_deliveries(limit=limit, claim_s=claim_s)

    async def settle_delivery(self, delivery: Delivery, outcome: DeliveryOutcome) -> bool:
        """Record one delivery attempt's outcome; False if another dispatcher already had."""
        return await self.backend.settle_delivery(delivery, outcome)

    # The worker registry (SPEC §3 "Admin", §5).

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        """A worker reports itself (alive, and its details) and learns if it is paused. A heartbeat
        that came in before its worker said it left is not recorded (no ghost): active, as it
        was, since the worker is going anyway."""
        record = await self.roster.report(worker_id, details, since=self.clock.now())
        return WorkerState.ACTIVE if record is None else record.state

    async def worker_left(self, worker_id: str) -> None:
        """A worker shut down: it leaves the list at once rather than a minute later."""
        self.roster.forget(worker_id)
        await self.backend.forget_worker(worker_id)

    async def workers(self) -> list[WorkerRecord]:
        """Workers seen in the last minute, by id."""
        return await self.backend.list_workers(seen_since=self.clock.now() - SEEN_WITHIN_S)

    async def worker(self, worker_id: str) -> WorkerRecord:
        """One worker seen in the last minute.

        Raises:
            NotFound: no such worker, or it has not been seen for a minute (it left).
        """
        record = await self.backend.get_worker(worker_id)
        if record is None or record.last_seen < self.clock.now() - SEEN_WITHIN_S:
            raise NotFound.of("worker", worker_id, qualifier=f"seen in the last {SEEN_WITHIN_S:.0f}s")
        return record

    async def pause_worker(self, worker_id: str) -> WorkerRecord:
        """The worker takes no new tasks (its polls lease nothing) and finishes what it has.

        Raises:
            NotFound: the registry has no such worker.
        """
        return await self._set_worker_paused(worker_id, True)

    async def resume_worker(self, worker_id: str) -> WorkerRecord:
        """Raises NotFound: the registry has no such worker."""
        return await self._set_worker_paused(worker_id, False)

    async def _set_worker_paused(self, worker_id: str, paused: bool) -> WorkerRecord:
        record = await self.backend.set_worker_paused(worker_id, paused)
        if record is None:
            raise NotFound.of("worker", worker_id)
        self.roster.changed(record)
        return record

    # Periodic schedules (SPEC §10): what `/api/v1/schedules` does; the scheduler loop fires them.

    async def put_schedule(self, data: object) -> tuple[Schedule, bool]:
        """Create a schedule (True) or replace the definition of the one of that name (False).

        Raises:
            ValidationFailed: details name each broken field (the task's as `task.<field>`).
            PayloadTooLarge: the task's payload or metadata is over its limit.
        """
        definition = parse_definition(
            data,
            now=self.clock.now(),
            max_payload_bytes=self.max_payload_bytes,
            allow_private_webhooks=self.allow_private_webhooks,
        )
        return await self.backend.put_schedule(definition)

    async def schedules(self) -> list[Schedule]:
        """Every schedule, by name."""
        return await self.backend.list_schedules()

    async def schedule(self, name: str) -> Schedule:
        """Raises NotFound: no such schedule."""
        schedule = await self.backend.get_schedule(name)
        if schedule is None:
            raise _no_schedule(name)
        return schedule

    async def delete_schedule(self, name: str) -> None:
        """Delete a schedule; the tasks it already submitted stay.

        Raises:
            NotFound: no such schedule.
        """
        if not await self.backend.delete_schedule(name):
            raise _no_schedule(name)

    async def pause_schedule(self, name: str) -> Schedule:
        """No tick fires until resumed; pausing a paused schedule changes nothing.

        Raises:
            NotFound: no such schedule.
        """
        return await self._set_schedule_paused(name, True)

    async def resume_schedule(self, name: str) -> Schedule:
        """Fire again from the first tick after now (ticks during the pause are not made up);
        resuming a running schedule changes nothing.

        Raises:
            NotFound: no such schedule.
        """
        return await self._set_schedule_paused(name, False)

    async def _set_schedule_paused(self, name: str, paused: bool) -> Schedule:
        schedule = await self.backend.set_schedule_paused(name, paused)
        if schedule is None:
            raise _no_schedule(name)
        return schedule

    # The event log (SPEC §3 `/ws`, §11 `events()`).

    async def event_cursor(self, since: str | None = None, *, queue: str | None = None) -> EventCursor:
        """A read position just after event `since`, or at the end of the log (None).

        Raises:
            EventsLost: events after `since` are no longer kept.
            ValueError: `since` is not an event id.
        """
        return await self.backend.event_cursor(since, queue=queue)

    async def read_events(self, cursor: EventCursor, *, wait_s: float, limit: int = 1000) -> list[Event]:
        """The events after `cursor`, oldest first, waiting up to `wait_s` for the first."""
        return await self.backend.read_events(cursor, wait_s=wait_s, limit=limit)


def _no_schedule(name: str) -> NotFound:
    return NotFound.of("schedule", name)


def _queue_name(queue: str) -> str:
    if not 1 <= len(queue) <= 64 or not NAME_RE.match(queue):
        raise ValidationFailed(
            "the queue name is not valid", [{"field": "queue", "message": "must be 1-64 characters of A-Za-z0-9_.:-"}]
        )
    return queue


def _check_results(outcomes: Sequence[Outcome], *, indexed: bool) -> None:
    """The one check of how deep and what a result may be (SPEC §1's payload rule): here, where
    every report passes, over HTTP or straight on the backend (`Client("redis://…")`), so the
    answer is one 422 however it came; else the backend's encoder fails with a 500.

    Raises:
        ValidationFailed: a result cannot be stored; with `indexed`, each one named by its index.
    """
    problems: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Completion) and outcome.result is not None:
            try:
                stored_json_size(outcome.result, "result")
            except ValidationFailed as exc:
                if not indexed:
                    raise
                problems += [{"index": index, **detail} for detail in exc.details]
    if problems:
        raise ValidationFailed("some results cannot be stored as JSON; nothing was settled", problems)
