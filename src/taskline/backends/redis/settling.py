"""Settling a worker's outcomes on Redis: one `settle` script per queue involved, and the next
lease inside that script when the settled queue holds the best task the lease looks at (up
to the next queue's head); else the lease goes after, through the `Leaser`, which keeps lease
order across queues. With TASKLINE_REDIS_WAIT_REPLICAS the lease always goes after (the
settle waits for its replicas, the lease does not)."""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from taskline.backends.redis.codec import decode_task, encode_json, to_ms
from taskline.backends.redis.context import Command, RedisContext
from taskline.backends.redis.inspect import Inspector
from taskline.backends.redis.leasing import Head, Leaser, bound_arg
from taskline.backends.redis.scripts import error_for
from taskline.backends.wakeup import MAX_TIMER_WAIT_S
from taskline.core.outcomes import Completion, Failure, LeaseAsk, Outcome, Settled
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.errors import LeaseLost, NotFound

STALE_READ_RETRIES = 5
"""Times a fail is read again when its task moved on between the read and the script."""

RetryDelay = Callable[[Task, float | None], int]
"""The backoff in ms before a failed attempt's retry (one jitter draw), or `retry_after_s`."""


@dataclass(slots=True, frozen=True)
class _Item:
    index: int  # in the caller's list
    outcome: Outcome
    queue: str
    task: Task | None  # as read first, for a fail: its backoff depends on the attempt


class Settler:
    """Backend.settle on Redis; Backend.complete and Backend.fail are a settle of one."""

    def __init__(self, ctx: RedisContext, inspector: Inspector, leaser: Leaser, retry_delay_ms: RetryDelay) -> None:
        self._ctx = ctx
        self._inspector = inspector
        self._leaser = leaser
        self._retry_delay_ms = retry_delay_ms

    async def settle(
        self, outcomes: Sequence[Outcome], ask: LeaseAsk | None, *, with_tasks: bool, now_ms: int
    ) -> tuple[list[Settled], list[Task]]:
        """Each outcome's fate in input order, and the tasks leased."""
        results: list[Settled | None] = [None] * len(outcomes)
        leased: list[Task] = []
        todo = list(range(len(outcomes)))
        for _ in range(STALE_READ_RETRIES):
            by_queue: dict[str, list[_Item]] = {}
            for item in await self._locate(outcomes, todo, results):
                by_queue.setdefault(item.queue, []).append(item)
            leased += await self._settle_then_lease(by_queue, ask, results, with_tasks=with_tasks, now_ms=now_ms)
            ask = None  # leased once; what is left to do is fails read again
            todo = [i for i, settled in enumerate(results) if settled is None]
            if not todo:
                break
        for i in todo:
            refused = LeaseLost(f"task {outcomes[i].task_id} kept changing while failing it")
            results[i] = Settled(outcomes[i].task_id, refused=refused)
        return [settled for settled in results if settled is not None], leased

    async def _locate(self, outcomes: Sequence[Outcome], todo: list[int], results: list[Settled | None]) -> list[_Item]:
        """The queue of each outcome's task, and a fresh read of those that fail or whose queue
        this process does not know; a task that is not there is settled as NotFound."""
        catalog = self._ctx.catalog
        reads = [
            outcomes[i].task_id
            for i in todo
            if isinstance(outcomes[i], Failure) or catalog.place_of(outcomes[i].task_id) is None
        ]
        read = await self._read(reads)
        items = []
        for i in todo:
            outcome = outcomes[i]
            if outcome.task_id not in read:
                place = catalog.place_of(outcome.task_id)
                assert place is not None
                items.append(_Item(i, outcome, place[0], None))
            elif (task := read[outcome.task_id]) is None:
                results[i] = Settled(outcome.task_id, refused=NotFound.of("task", outcome.task_id))
            else:
                items.append(_Item(i, outcome, task.queue, task))
        return items

    async def _read(self, task_ids: list[str]) -> dict[str, Task | None]:
        """The tasks as stored: one round trip for those in known queues, a search for the rest."""
        known = [(i, place[0]) for i in dict.fromkeys(task_ids) if (place := self._ctx.catalog.place_of(i))]
        commands: list[Command] = [("hget", (self._ctx.keys.queue(q).tasks, i)) for i, q in known]
        found: dict[str, Task | None] = {
            i: None if raw is None else decode_task(i, q, raw)
            for (i, q), raw in zip(known, await self._ctx.pipeline(commands), strict=True)
        }
        for task_id in dict.fromkeys(task_ids):
            if task_id not in found:
                found[task_id] = await self._inspector.get(task_id)
        return found

    async def _settle_then_lease(
        self,
        by_queue: dict[str, list[_Item]],
        ask: LeaseAsk | None,
        results: list[Settled | None],
        *,
        with_tasks: bool,
        now_ms: int,
    ) -> list[Task]:
        """Settle each queue's outcomes; lease as `Leaser.lease` would, inside the settle script
        when its queue has the best head of all the lease looks at (up to the next queue's head)."""
        if ask is None or self._ctx.config.redis_wait_replicas > 0:
            # A settle that waits for replicas may be refused (503) after its script ran: tasks
            # it leased too would be lost with its reply, running under tokens nobody holds. So
            # with WAIT_REPLICAS the lease goes after it, through the Leaser, and does not wait.
            await self._settle_only(by_queue, results, with_tasks, now_ms)
            return [] if ask is None else await self._leaser.lease(ask, now_ms)
        candidates = await self._leaser.candidates(ask.queues, ask.types)
        queue = next(iter(by_queue)) if len(by_queue) == 1 else None
        heads = None
        if queue in candidates and len(candidates) > 1:
            heads = await self._leaser.heads(candidates)  # lease order across queues: every head
        # The settled queue leads when the lease looks at no other, or its head is the best of all.
        leads = queue in candidates and (heads is None or (bool(heads) and heads[0][2] == queue))
        if queue is None or not leads:
            await self._settle_only(by_queue, results, with_tasks, now_ms)
            # Settling adds no pending task, so heads read before it still tell the lease order.
            leased = await self._leaser.lease_in_order(candidates, ask, now_ms, heads=heads)
        else:
            bound = heads[1] if heads and len(heads) > 1 else None
            items = by_queue[queue]
            leased = await self._run(queue, items, ask, candidates[queue], bound, results, with_tasks, now_ms)
            if len(leased) < ask.max and bound is not None:  # stopped at another queue's head: go on
                rest = replace(ask, max=ask.max - len(leased))
                leased += await self._leaser.lease_in_order(candidates, rest, now_ms, heads=None)
        return leased or await self._leaser.lease_from_new(candidates, ask, now_ms)

    async def _settle_only(
        self, by_queue: dict[str, list[_Item]], results: list[Settled | None], with_tasks: bool, now_ms: int
    ) -> None:
        for queue, items in by_queue.items():
            await self._run(queue, items, None, [], None, results, with_tasks, now_ms)

    async def _run(
        self,
        queue: str,
        items: list[_Item],
        ask: LeaseAsk | None,
        pending_keys: list[str],
        bound: Head | None,
        results: list[Settled | None],
        with_tasks: bool,
        now_ms: int,
    ) -> list[Task]:
        keys = self._ctx.keys.queue(queue)
        script_keys = [keys.tasks, keys.counts, keys.running, keys.completed, keys.retrying, keys.failed]
        script_keys += [keys.cancelled, keys.paused, *keys.ending, *pending_keys]
        args: list[str | int | float] = [now_ms, self._ctx.keys.wake_channel, len(items), int(with_tasks)]
        args += [to_ms(self._ctx.config.lease_s), "" if ask is None else ask.worker_id, to_ms(MAX_TIMER_WAIT_S)]
        args.append(bound_arg(bound))
        for item in items:
            args += self._outcome_args(item)
        args += [secrets.token_hex(16) for _ in range(0 if ask is None else ask.max)]
        replicas = self._ctx.config.redis_wait_replicas
        states, records, lease_reply = await self._ctx.scripts.run("settle", script_keys, args, replicas=replicas)
        for item, raw_state, raw in zip(items, states, records, strict=True):
            task_id, state = item.outcome.task_id, raw_state.decode()
            if state == "STALE":
                continue  # read again and retried by the caller
            # Settled or refused, the lease is not this process's any more (a retry leased again,
            # in this script's lease below too, is remembered again as it is decoded).
            self._ctx.catalog.settled(task_id)
            refused = error_for(state, task_id)
            if isinstance(refused, NotFound | LeaseLost):
                results[item.index] = Settled(task_id, refused=refused)
            else:
                task = decode_task(task_id, queue, raw) if with_tasks else None
                results[item.index] = Settled(task_id, TaskState(state), task=task)
        return self._leaser.decode_leased(queue, lease_reply)

    def _outcome_args(self, item: _Item) -> list[str | int | float]:
        outcome = item.outcome
        if isinstance(outcome, Completion):
            result = "" if outcome.result is None else encode_json(outcome.result)
            return ["c", outcome.task_id, outcome.token, result, "", "", ""]
        task = item.task
        assert task is not None
        may_retry = outcome.retry and task.may_retry
        delay_ms = self._retry_delay_ms(task, outcome.retry_after_s)
        return ["f", outcome.task_id, outcome.token, outcome.error, task.attempts, int(may_retry), delay_ms]
