"""Leasing across queues in lease order: peek each queue's best pending order key, then lease
from the best queue for as long as its tasks stay ahead of the next queue's head."""

import secrets
from collections.abc import Sequence

from taskline.backends.redis.codec import decode_task, text, to_ms
from taskline.backends.redis.context import Command, RedisContext
from taskline.backends.redis.fanout import failed
from taskline.backends.wakeup import MAX_TIMER_WAIT_S
from taskline.core.outcomes import LeaseAsk
from taskline.core.task import Task

Head = tuple[float, str, str]
"""A queue's best pending task: (order key, task id, queue). Lease order is that of heads: by
order key, then by id (submission order) where keys tie, across queues as within one."""


def bound_arg(bound: Head | None) -> str:
    """The scripts' ARGV for "take nothing past this head" ('' for no bound): key and id."""
    return "" if bound is None else f"{bound[0]!r} {bound[1]}"


class Leaser:
    """pending → running for up to `max_tasks` tasks of the queues and types asked for."""

    def __init__(self, ctx: RedisContext) -> None:
        self._ctx = ctx

    async def lease(self, ask: LeaseAsk, now_ms: int) -> list[Task]:
        """The leased tasks, best order key first (ties in submission order, across queues too)."""
        candidates = await self.candidates(ask.queues, ask.types)
        leased = await self._lease_in_order(candidates, ask.worker_id, ask.max, now_ms)
        return leased or await self.lease_from_new(candidates, ask, now_ms)

    async def lease_from_new(self, seen: dict[str, list[str]], ask: LeaseAsk, now_ms: int) -> list[Task]:
        """After a lease from the cached `seen` candidates found nothing: lease again if another
        process has added a queue or a type since they were cached (else nothing)."""
        if ask.queues is not None and ask.types is not None:
            return []
        refreshed = await self._candidates(ask.queues, ask.types, fresh=True)
        if refreshed == seen:
            return []
        return await self._lease_in_order(refreshed, ask.worker_id, ask.max, now_ms)

    async def candidates(self, queues: Sequence[str] | None, types: Sequence[str] | None) -> dict[str, list[str]]:
        """Queue -> the pending keys a lease of these queues and types looks at (from the cache)."""
        return await self._candidates(queues, types, fresh=False)

    async def _candidates(
        self, queues: Sequence[str] | None, types: Sequence[str] | None, *, fresh: bool
    ) -> dict[str, list[str]]:
        """Queue -> the pending keys to look at (empty queues of known types are included)."""
        catalog = self._ctx.catalog
        names = sorted(set(queues)) if queues is not None else await catalog.queues(fresh=fresh)
        if types is not None:
            wanted = {q: sorted(set(types)) for q in names}
        else:
            wanted = {q: sorted(t) for q, t in (await catalog.types(names, fresh=fresh)).items()}
        return {q: [self._ctx.keys.queue(q).pending(t) for t in ts] for q, ts in wanted.items() if ts}

    async def heads(self, candidates: dict[str, list[str]]) -> list[Head]:
        """The head of every unpaused queue with pending work, best first."""
        commands: list[Command] = []
        for queue, pending_keys in candidates.items():
            commands.append(("exists", (self._ctx.keys.queue(queue).paused,)))
            commands += [("zrange", (key, 0, 0, False, True)) for key in pending_keys]
        # A queue on a shard that is down has no head: the lease goes on with the others.
        answers = await self._ctx.partial_pipeline(commands)
        replies = iter(answers)
        heads = []
        for queue, pending_keys in candidates.items():
            paused = next(replies)
            tops = [next(replies) for _ in pending_keys]
            if failed(paused) or any(failed(top) for top in tops):
                continue
            firsts = [(float(reply[0][1]), text(reply[0][0])) for reply in tops if reply]
            if firsts and not paused:
                heads.append((*min(firsts), queue))
        return sorted(heads)

    async def lease_in_order(
        self, candidates: dict[str, list[str]], ask: LeaseAsk, now_ms: int, *, heads: list[Head] | None
    ) -> list[Task]:
        """Lease from `candidates` in lease order; `heads`: their heads just read, if they were."""
        return await self._lease_in_order(candidates, ask.worker_id, ask.max, now_ms, first_heads=heads)

    async def _lease_in_order(
        self,
        candidates: dict[str, list[str]],
        worker_id: str,
        max_tasks: int,
        now_ms: int,
        *,
        first_heads: list[Head] | None = None,
    ) -> list[Task]:
        if len(candidates) <= 1:  # one queue: its script alone keeps the order
            return [
                t
                for q in candidates
                for t in await self._lease_from(q, candidates[q], worker_id, max_tasks, None, now_ms)
            ]
        leased: list[Task] = []
        for _ in range(max_tasks + len(candidates)):  # bounded even if other leasers keep racing us
            heads = first_heads if first_heads is not None else await self.heads(candidates)
            first_heads = None
            if not heads or len(leased) >= max_tasks:
                break
            best, bound = heads[0][2], (heads[1] if len(heads) > 1 else None)
            leased += await self._lease_from(best, candidates[best], worker_id, max_tasks - len(leased), bound, now_ms)
        return leased

    async def _lease_from(
        self, queue: str, pending_keys: list[str], worker_id: str, count: int, bound: Head | None, now_ms: int
    ) -> list[Task]:
        keys = self._ctx.keys.queue(queue)
        script_keys = [keys.tasks, keys.counts, keys.running, keys.paused, *keys.announcing, *pending_keys]
        args: list[str | int | float] = [now_ms, to_ms(self._ctx.config.lease_s), worker_id]
        args += [bound_arg(bound), self._ctx.keys.wake_channel, to_ms(MAX_TIMER_WAIT_S)]
        args += [secrets.token_hex(16) for _ in range(count)]
        reply = await self._ctx.scripts.run("lease", script_keys, args)
        return self.decode_leased(queue, reply)

    def decode_leased(self, queue: str, reply: list[bytes]) -> list[Task]:
        """The tasks a lease script's reply (id, record, id, record, ...) leased."""
        tasks = []
        for raw_id, raw in zip(reply[::2], reply[1::2], strict=True):
            task = decode_task(raw_id.decode(), queue, raw)
            self._ctx.catalog.remember(task.id, queue, task.type)
            tasks.append(task)
        return tasks
