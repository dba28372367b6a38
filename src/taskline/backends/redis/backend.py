"""RedisBackend: the Backend protocol on Redis, each transition one Lua script.

This module marshals arguments, runs scripts and decodes replies. The state machine lives
in the scripts (lua/) and in core (backoff, order keys, retry rules); key names in keys.py;
reads in inspect.py. Decisions that need randomness or policy (backoff jitter, may a task
retry) are made in Python from a fresh read and checked by the script, since Lua can't draw
them: for outcomes in settling.py, where complete and fail go as a settle of one.
"""

import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, TypeVar

from redis.asyncio.cluster import RedisCluster

from taskline.backends.base import UNCHANGED
from taskline.backends.redis import archive, batches, housekeeping, nodes, outbox, timers
from taskline.backends.redis import samples as sampled
from taskline.backends.redis.calls import Args, cancel_call, new_tasks, retry_call, submit_call, submit_outcomes
from taskline.backends.redis.coalescer import SubmitCoalescer
from taskline.backends.redis.codec import decode_task, from_ms, to_ms
from taskline.backends.redis.connecting import AnyRedis, open_client
from taskline.backends.redis.context import RedisContext
from taskline.backends.redis.events import RedisEventLog
from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.format import check_format
from taskline.backends.redis.inspect import Inspector
from taskline.backends.redis.keys import DEFAULT_NAMESPACE, KeySpace, QueueKeys
from taskline.backends.redis.leasing import Leaser
from taskline.backends.redis.measures import metrics_from_hashes
from taskline.backends.redis.registry import WorkerRegistry
from taskline.backends.redis.schedules import ScheduleStore
from taskline.backends.redis.settling import Settler
from taskline.backends.redis.wake import WakeListener
from taskline.backends.wakeup import MAX_TIMER_WAIT_S, WakeupHub, WorkSignal
from taskline.core.archive import ArchiveBacklog, ArchiveEntry
from taskline.core.clock import Clock, SystemClock
from taskline.core.config import EngineConfig
from taskline.core.measures import TaskMetrics
from taskline.core.outcomes import Completion, Failure, LeaseAsk, Outcome, Settlement
from taskline.core.samples import Totals
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.spec import TaskSpec
from taskline.core.states import TaskState
from taskline.core.task import HeartbeatAck, Lease, QueueStats, Submitted, Task, TaskFilter, TaskPage
from taskline.core.webhooks import Delivery, DeliveryOutcome
from taskline.core.workers import WorkerDetails, WorkerRecord
from taskline.errors import BackendUnavailable, NotFound, TasklineError
from taskline.events.types import Event, EventCursor

T = TypeVar("T")


class RedisBackend:
    """The Backend protocol on a Redis server or cluster."""

    name: Literal["redis", "sqlite"] = "redis"

    def __init__(
        self,
        client: "AnyRedis",
        *,
        config: EngineConfig,
        clock: Clock,
        namespace: str = DEFAULT_NAMESPACE,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._rng = rng or random.Random()
        self._ctx = RedisContext(client, KeySpace(namespace), config)
        self._keys = self._ctx.keys
        self._scripts = self._ctx.scripts
        self._catalog = self._ctx.catalog
        self._offsets = self._ctx.offsets
        self._inspector = Inspector(self._ctx)
        self._leaser = Leaser(self._ctx)
        self._settler = Settler(self._ctx, self._inspector, self._leaser, self._retry_delay_ms)
        self._registry = WorkerRegistry(self._ctx)
        self._schedules = ScheduleStore(self._ctx, clock)
        self._events = RedisEventLog(self._ctx)
        self._hub = WakeupHub()
        self._coalescer = SubmitCoalescer(self._submit_to_queue)
        self._listener = WakeListener(client, self._keys.wake_channel, self._hub)
        self._next_orphan_sweep_ms = 0  # batches.sweep_orphans, from resolve_abandoned
        self._archive_reader = uuid.uuid4().hex  # who holds a queue's archive claim (archive.py)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        config: EngineConfig | None = None,
        clock: Clock | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        rng: random.Random | None = None,
        max_connections: int = 64,
        wake_ups: bool = True,
    ) -> "RedisBackend":
        """Connect to `url` (redis:// or rediss://) and start the wake-up listener. A cluster
        node's URL gets redis-py's cluster client (connecting.py).

        Raises:
            BackendUnavailable: Redis does not answer, holds Taskline data in another record
                format, or is a cluster node and the URL names a database other than 0.

        Args:
            url: the server.
            config: the engine's tunables.
            clock: where `now` comes from (tests pass a FrozenClock).
            namespace: the prefix of every key.
            rng: the source of backoff jitter draws.
            max_connections: connections in the pool (per node on a cluster); further concurrent
                calls wait for one.
            wake_ups: subscribe to the wake channel, so polls and the scheduler here hear of work
                other processes add. A client that neither polls nor schedules passes False and
                is not sent every submit's wake-up.
        """
        client = await open_client(url, max_connections=max_connections)
        backend = cls(
            client, config=config or EngineConfig(), clock=clock or SystemClock(), namespace=namespace, rng=rng
        )
        try:
            with redis_unavailable():
                # A cluster's nodes answered for its slot map already; its PING goes to the first
                # primary of the map, which may be down while the rest serve.
                if not isinstance(client, RedisCluster):
                    await client.ping()
                await check_format(client, backend._keys)
                if wake_ups:
                    await backend._listener.start()
        except BaseException:
            await client.aclose()
            raise
        return backend

    def _now_ms(self) -> int:
        return to_ms(self._clock.now())

    def _channel_args(self, queue: str) -> Args:
        return [self._keys.wake_channel, queue]

    # --- submit -------------------------------------------------------------------------

    async def submit(self, specs: Sequence[TaskSpec]) -> list[Submitted]:
        tasks = new_tasks(specs, self._clock.now())
        by_queue: dict[str, list[int]] = {}
        for index, task in enumerate(tasks):
            by_queue.setdefault(task.queue, []).append(index)
        await self._catalog.register(set(by_queue))
        if len(by_queue) == 1:
            return await self._coalescer.submit(tasks[0].queue, tasks)
        # Spanning queues (slots, on a cluster): staged everywhere, then one decision (batches.py).
        parts = {queue: [tasks[i] for i in indexes] for queue, indexes in by_queue.items()}
        stored = await batches.submit_across(self._ctx, parts, self._now_ms())
        results: list[Submitted | None] = [None] * len(tasks)
        for queue, outcomes in stored.items():
            self._announce(queue, outcomes)
            for index, outcome in zip(by_queue[queue], outcomes, strict=True):
                results[index] = outcome
        return [r for r in results if r is not None]

    async def _submit_to_queue(self, queue: str, batch: list[Task]) -> list[Submitted]:
        keys = self._keys.queue(queue)
        call = submit_call(
            keys, batch, now_ms=self._now_ms(), config=self._config, wake_channel=self._keys.wake_channel
        )
        replicas = self._config.redis_wait_replicas
        reply = await self._scripts.run(call.name, call.keys, call.args, replicas=replicas)
        outcomes = submit_outcomes(queue, batch, reply)
        self._announce(queue, outcomes)
        return outcomes

    def _announce(self, queue: str, outcomes: list[Submitted]) -> None:
        """Remember where the new tasks live, and wake this process's pollers and scheduler."""
        for outcome in outcomes:
            if outcome.created:
                self._catalog.remember(outcome.task.id, queue, outcome.task.type)
        if any(o.created and o.task.state is TaskState.PENDING for o in outcomes):
            self._hub.work_ready(queue)
        if any(o.created and o.task.state is TaskState.SCHEDULED for o in outcomes):
            self._hub.timers_changed()

    # --- one task by id -----------------------------------------------------------------

    async def get(self, task_id: str) -> Task | None:
        return await self._inspector.get(task_id)

    async def find_ids(self, prefix: str, *, limit: int) -> list[str]:
        return await self._inspector.find_ids(prefix, limit=limit)

    async def _read(self, task_id: str) -> Task:
        task = await self._inspector.get(task_id)
        if task is None:
            raise NotFound.of("task", task_id)
        return task

    async def _on_task(self, task_id: str, call: Callable[[QueueKeys, str], Awaitable[T]]) -> T:
        """Run `call(queue keys, task type)` for a task, finding its queue first if not remembered."""
        place = self._catalog.place_of(task_id)
        if place is None:
            task = await self._read(task_id)
            place = (task.queue, task.type)
        return await call(self._keys.queue(place[0]), place[1])

    def _task_reply(self, keys: QueueKeys, task_id: str, raw: bytes) -> Task:
        return decode_task(task_id, keys.name, raw)

    async def cancel(self, task_id: str) -> Task:
        async def call(keys: QueueKeys, task_type: str) -> Task:
            script = cancel_call(keys, task_type, task_id, now_ms=self._now_ms())
            return self._task_reply(keys, task_id, await self._scripts.run(script.name, script.keys, script.args))

        return await self._on_task(task_id, call)

    async def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        async def call(keys: QueueKeys, task_type: str) -> Task:
            script = retry_call(
                keys,
                task_type,
                task_id,
                payload,
                now_ms=self._now_ms(),
                offsets=self._offsets,
                wake_channel=self._keys.wake_channel,
            )
            raw = await self._scripts.run(script.name, script.keys, script.args)
            self._hub.work_ready(keys.name)
            return self._task_reply(keys, task_id, raw)

        return await self._on_task(task_id, call)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None = None) -> HeartbeatAck:
        async def call(keys: QueueKeys, _: str) -> HeartbeatAck:
            progress_arg = "" if progress is None else repr(float(progress))
            args: Args = [task_id, token, self._now_ms(), to_ms(self._config.lease_s), progress_arg]
            expires_ms, cancel_requested = await self._scripts.run(
                "heartbeat", [keys.tasks, keys.running, *keys.announcing], args
            )
            return HeartbeatAck(expires_at=from_ms(expires_ms), cancel_requested=bool(cancel_requested))

        return await self._on_task(task_id, call)

    async def complete(self, task_id: str, token: str, *, result: Any = None) -> Task:
        return await self._settle_one(Completion(task_id, token, result))

    async def release(self, task_id: str, token: str) -> Task:
        async def call(keys: QueueKeys, task_type: str) -> Task:
            script_keys = [keys.tasks, keys.counts, keys.running, keys.cancelled, keys.pending(task_type), *keys.ending]
            args: Args = [task_id, token, self._now_ms(), *self._offsets, *self._channel_args(keys.name)]
            task = self._task_reply(keys, task_id, await self._scripts.run("release", script_keys, args))
            self._catalog.settled(task_id)
            if task.state is TaskState.PENDING:  # ended cancelled instead: nothing to take
                self._hub.work_ready(keys.name)
            return task

        return await self._on_task(task_id, call)

    def _retry_delay_ms(self, task: Task, retry_after_s: float | None) -> int:
        """The backoff before the next attempt (one jitter draw per failed attempt)."""
        if retry_after_s is not None:
            return to_ms(retry_after_s)
        return to_ms(self._config.backoff.delay_s(task.attempts_since_retry, self._rng.random()))

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool = True, retry_after_s: float | None = None
    ) -> Task:
        return await self._settle_one(Failure(task_id, token, error, retry, retry_after_s))

    async def _settle_one(self, outcome: Outcome) -> Task:
        """`complete` or `fail`: a settle of that one outcome, so the read, the backoff draw and
        the retry of a stale read are written once, in `Settler`."""
        (settled,) = (await self.settle([outcome], with_tasks=True)).settled
        if settled.refused is not None:
            raise settled.refused
        assert settled.task is not None
        return settled.task

    # --- leasing and timers -------------------------------------------------------------

    async def lease(
        self,
        *,
        worker_id: str,
        queues: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        max: int = 1,
    ) -> list[Lease]:
        now = self._clock.now()
        leased = await self._leaser.lease(LeaseAsk(worker_id, max, queues, types), to_ms(now))
        return self._leases(leased, now)

    def _leases(self, leased: list[Task], now: float) -> list[Lease]:
        if any(t.lease_expires_at is not None and t.lease_expires_at - now < MAX_TIMER_WAIT_S for t in leased):
            self._hub.timers_changed()  # sooner than the scheduler's next look (the script said so too)
        return [Lease(task=t, token=t.lease_token or "", expires_at=t.lease_expires_at or 0.0) for t in leased]

    async def settle(
        self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None = None, with_tasks: bool = False
    ) -> Settlement:
        now = self._clock.now()
        ask = then_lease if then_lease is not None and then_lease.max > 0 else None
        settled, leased = await self._settler.settle(outcomes, ask, with_tasks=with_tasks, now_ms=to_ms(now))
        if any(s.state is TaskState.RETRYING for s in settled):
            self._hub.timers_changed()
        return Settlement(settled, self._leases(leased, now))

    async def forward_due(self, *, limit: int = 1000) -> int:
        moved = await timers.forward_due(self._ctx, self._now_ms(), limit)
        for queue in moved:
            self._hub.work_ready(queue)
        return sum(moved.values())

    async def recover_expired(self, *, limit: int = 1000) -> int:
        recovered = await timers.recover_expired(
            self._ctx, self._now_ms(), limit, lambda task: self._retry_delay_ms(task, None)
        )
        if recovered:
            self._hub.timers_changed()
        return recovered

    async def resolve_abandoned(self) -> int:
        now_ms = self._now_ms()
        resolved = await batches.resolve_abandoned(self._ctx, now_ms)
        if now_ms >= self._next_orphan_sweep_ms:  # a read of every queue: not at every tick
            self._next_orphan_sweep_ms = now_ms + to_ms(batches.DEADLINE_S)
            resolved += await batches.sweep_orphans(self._ctx, await self._catalog.queues(fresh=True), now_ms)
        return resolved

    async def next_timer(self) -> float | None:
        return await self._inspector.next_timer()

    def watch(self, queues: Sequence[str] | None) -> AbstractContextManager[WorkSignal]:
        return self._hub.watch(queues)

    async def wait_timers(self, max_wait_s: float) -> None:
        await self._hub.wait_timers(max_wait_s)

    # --- reads --------------------------------------------------------------------------

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None = None) -> TaskPage:
        return await self._inspector.list_tasks(filter, limit=limit, cursor=cursor)

    async def counts(self) -> dict[TaskState, int]:
        return await self._inspector.counts()

    async def queue_stats(self) -> list[QueueStats]:
        return await self._inspector.queue_stats()

    async def dlq_list(self, *, limit: int, cursor: str | None = None) -> TaskPage:
        return await self._inspector.dlq_list(limit=limit, cursor=cursor)

    # --- admin --------------------------------------------------------------------------

    async def pause_queue(self, queue: str) -> None:
        await self._catalog.register({queue})
        with redis_unavailable():
            await self._client.set(self._keys.queue(queue).paused, 1)

    async def resume_queue(self, queue: str) -> None:
        with redis_unavailable():
            await self._client.delete(self._keys.queue(queue).paused)
            await self._client.publish(self._keys.wake_channel, queue)
        self._hub.work_ready(queue)

    async def purge(self, queue: str, *, priority: int | None = None) -> int:
        return await housekeeping.purge(self._ctx, queue, priority, self._now_ms())

    async def dlq_retry(self, ids: Sequence[str] | None = None) -> int:
        by_queue: dict[str, list[str]] = {}
        if ids is None:
            for queue in await self._catalog.queues(fresh=True):
                by_queue[queue] = await housekeeping.failed_ids(self._ctx, queue)
        else:
            for task_id in dict.fromkeys(ids):
                task = await self._inspector.get(task_id)
                if task is not None:
                    by_queue.setdefault(task.queue, []).append(task_id)
        moved = 0
        for queue, queue_ids in by_queue.items():
            if queue_ids:
                count = await housekeeping.dlq_retry(self._ctx, queue, queue_ids, self._now_ms())
                if count:
                    self._hub.work_ready(queue)
                moved += count
        return moved

    async def dlq_delete(self) -> int:
        queues = await self._catalog.queues(fresh=True)
        return sum([await housekeeping.dlq_delete(self._ctx, q, self._now_ms()) for q in queues])

    async def trim_retention(self, *, limit: int = 1000) -> int:
        return await housekeeping.trim_retention(self._ctx, self._now_ms(), limit)

    async def take_token(self, client: str, *, rate: float, burst: int) -> float:
        if rate <= 0:
            return 0.0
        args: Args = [self._now_ms(), repr(float(rate)), burst]
        return float(await self._scripts.run("take_token", [self._keys.rate_limit(client)], args))

    # --- the worker registry ------------------------------------------------------------

    async def register_worker(
        self, worker_id: str, details: WorkerDetails, *, since: float | None = None
    ) -> WorkerRecord | None:
        now_ms = self._now_ms()
        return await self._registry.register(worker_id, details, now_ms, now_ms if since is None else to_ms(since))

    async def list_workers(self, *, seen_since: float) -> list[WorkerRecord]:
        return await self._registry.seen_since(to_ms(seen_since))

    async def count_workers(self, *, seen_since: float) -> int:
        return await self._registry.count_seen_since(to_ms(seen_since))

    async def get_worker(self, worker_id: str) -> WorkerRecord | None:
        return await self._registry.get(worker_id)

    async def set_worker_paused(self, worker_id: str, paused: bool) -> WorkerRecord | None:
        return await self._registry.set_paused(worker_id, paused, self._now_ms())

    async def forget_worker(self, worker_id: str) -> bool:
        return await self._registry.forget([worker_id], now_ms=self._now_ms()) > 0

    async def prune_workers(self, *, seen_before: float) -> int:
        return await self._registry.prune(to_ms(seen_before), self._now_ms())

    async def depart_workers(self, *, seen_before: float) -> int:
        return await self._registry.depart(to_ms(seen_before), self._now_ms())

    # --- periodic schedules -------------------------------------------------------------

    async def put_schedule(self, definition: ScheduleDefinition) -> tuple[Schedule, bool]:
        return await self._schedules.put(definition)

    async def get_schedule(self, name: str) -> Schedule | None:
        return await self._schedules.get(name)

    async def list_schedules(self) -> list[Schedule]:
        return await self._schedules.all()

    async def delete_schedule(self, name: str) -> bool:
        return await self._schedules.delete(name)

    async def set_schedule_paused(self, name: str, paused: bool) -> Schedule | None:
        return await self._schedules.set_paused(name, paused)

    async def due_schedules(self, *, limit: int) -> list[Schedule]:
        return await self._schedules.due(limit)

    async def advance_schedule(
        self, name: str, *, due_at: float, next_run_at: float | None, ran_at: float, task: Task | None
    ) -> bool:
        return await self._schedules.advance(name, due_at=due_at, next_run_at=next_run_at, ran_at=ran_at, task=task)

    async def next_schedule_at(self) -> float | None:
        return await self._schedules.next_run()

    # --- events -------------------------------------------------------------------------

    async def event_cursor(self, since: str | None = None, *, queue: str | None = None) -> EventCursor:
        return await self._events.cursor(since, queue=queue)

    async def read_events(self, cursor: EventCursor, *, wait_s: float, limit: int = 1000) -> list[Event]:
        return await self._events.read(cursor, wait_s=wait_s, limit=limit)

    async def task_metrics(self) -> TaskMetrics:
        queues = await self._catalog.queues(fresh=True)
        hashes = await self._ctx.pipeline([("hgetall", (self._keys.queue(q).metrics,)) for q in queues])
        return metrics_from_hashes(dict(zip(queues, hashes, strict=True)))

    async def record_sample(self, minute: int, totals: Totals) -> bool:
        return await sampled.record(self._ctx, minute, totals)

    async def samples(self, first: int, last: int) -> dict[int, Totals]:
        return await sampled.between(self._ctx, first, last)

    # --- the webhook outbox -------------------------------------------------------------

    async def claim_deliveries(self, *, limit: int, claim_s: float) -> list[Delivery]:
        return await outbox.claim(self._ctx, self._now_ms(), limit=limit, claim_s=claim_s)

    async def settle_delivery(self, delivery: Delivery, outcome: DeliveryOutcome) -> bool:
        return await outbox.settle(self._ctx, delivery, outcome, self._now_ms())

    # --- the archive outbox (PostgreSQL history) ---------------------------------------

    async def read_archive(self, *, limit: int) -> list[ArchiveEntry]:
        return await archive.read(self._ctx, limit=limit, reader=self._archive_reader)

    async def drop_archived(self, entries: Sequence[ArchiveEntry]) -> int:
        return await archive.drop(self._ctx, entries)

    async def archive_backlog(self) -> ArchiveBacklog:
        return await archive.backlog(self._ctx)

    async def keep_history_on(self, ttl_s: float) -> None:
        with redis_unavailable():
            await self._ctx.client.set(self._keys.history, "1", px=round(ttl_s * 1000))

    # --- connection ---------------------------------------------------------------------

    async def ping(self) -> bool:
        if isinstance(self._client, RedisCluster):  # up while any node answers (SPEC §8)
            answers, _ = await nodes.unreachable(self._client)
            return answers
        try:
            with redis_unavailable():
                return bool(await self._client.ping())
        except BackendUnavailable:
            return False

    async def health(self) -> tuple[bool, list[str] | None]:
        if not isinstance(self._client, RedisCluster):
            return await self.ping(), None
        return await nodes.unreachable(self._client)  # one round of PINGs says both

    async def durability_warning(self) -> str | None:
        try:
            with redis_unavailable():
                settings = await self._persistence()
        except TasklineError as exc:  # CONFIG is often renamed or denied on managed Redis
            return f"could not tell whether Redis persists tasks across a restart ({exc.message})"
        off = sorted(node for node, (appendonly, save) in settings.items() if appendonly == "no" and save == "")
        if off:
            where = "" if not isinstance(self._client, RedisCluster) else f" on cluster nodes {', '.join(off)}"
            return (
                f"Redis persistence is off (appendonly no, save ''){where}: a Redis restart loses every task; "
                "turn on appendonly for at-least-once delivery across restarts"
            )
        return None

    async def _persistence(self) -> dict[str, tuple[Any, Any]]:
        """(appendonly, save) of the server, or of every primary of a cluster, by address."""
        if not isinstance(self._client, RedisCluster):
            appendonly = (await self._client.config_get("appendonly")).get("appendonly")
            save = (await self._client.config_get("save")).get("save")
            return {"redis": (appendonly, save)}
        primaries = self._client.get_primaries()
        # A node's own CONFIG GET: the cluster client would ask one node for the whole cluster.
        replies = [await self._client.config_get("appendonly", "save", target_nodes=node) for node in primaries]
        return {n.name: (r.get("appendonly"), r.get("save")) for n, r in zip(primaries, replies, strict=True)}

    async def close(self) -> None:
        await self._listener.stop()
        await self._client.aclose()
