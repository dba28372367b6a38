"""The time-driven moves: forwarding due scheduled/retrying tasks and recovering expired leases."""

from collections.abc import Callable

from taskline.backends.redis.codec import decode_task, to_ms
from taskline.backends.redis.context import Command, RedisContext
from taskline.backends.redis.fanout import answered
from taskline.core.task import Task


async def forward_due(ctx: RedisContext, now_ms: int, limit: int) -> dict[str, int]:
    """scheduled | retrying → pending for tasks due by `now_ms`; returns moved counts by queue."""
    queues = await ctx.catalog.queues(fresh=True)
    commands: list[Command] = []
    for queue in queues:
        keys = ctx.keys.queue(queue)
        commands += [("zrangebyscore", (index, "-inf", now_ms, 0, 1)) for index in (keys.scheduled, keys.retrying)]
    replies = await ctx.partial_pipeline(commands)  # a shard that is down is looked at next time
    due = [q for i, q in enumerate(queues) if answered(replies[2 * i]) or answered(replies[2 * i + 1])]
    moved: dict[str, int] = {}
    for queue in due:
        left = limit - sum(moved.values())
        if left <= 0:
            break
        moved[queue] = await _forward_queue(ctx, queue, now_ms, left)
    return {q: n for q, n in moved.items() if n}


async def _forward_queue(ctx: RedisContext, queue: str, now_ms: int, limit: int) -> int:
    keys = ctx.keys.queue(queue)
    moved = 0
    for fresh in (False, True):  # a type unknown to the cache means it was added since: read again
        types = sorted((await ctx.catalog.types([queue], fresh=fresh))[queue])
        script_keys = [keys.tasks, keys.counts, keys.scheduled, keys.retrying, *keys.announcing]
        script_keys += [keys.pending(t) for t in types]
        args: list[str | int | float] = [now_ms, limit - moved, *ctx.offsets, ctx.keys.wake_channel, queue, *types]
        count, unknown_type = await ctx.scripts.run("forward_due", script_keys, args)
        moved += int(count)
        if not unknown_type:
            break
    return moved


async def recover_expired(ctx: RedisContext, now_ms: int, limit: int, retry_delay_ms: Callable[[Task], int]) -> int:
    """Running tasks whose lease ran out by `now_ms` → a failed attempt; returns how many."""
    queues = await ctx.catalog.queues(fresh=True)
    expired = await ctx.partial_pipeline(
        [("zrangebyscore", (ctx.keys.queue(q).running, "-inf", now_ms, 0, limit)) for q in queues]
    )
    recovered = 0
    for queue, ids in zip(queues, expired, strict=True):
        if not answered(ids) or recovered >= limit:
            continue
        keys = ctx.keys.queue(queue)
        task_ids = [i.decode() for i in ids[: limit - recovered]]
        records = await ctx.pipeline([("hmget", (keys.tasks, task_ids))])
        args: list[str | int | float] = [now_ms, ctx.keys.wake_channel]
        for task_id, raw in zip(task_ids, records[0], strict=True):
            if raw is None:
                continue
            task = decode_task(task_id, queue, raw)
            deadline_ms = to_ms(task.started_at or 0.0) + to_ms(task.timeout)  # as the record stores it
            error = "timeout" if now_ms >= deadline_ms else "lease expired"
            # One jitter draw per task, here, because a script cannot draw it.
            args += [task_id, task.attempts, error, int(task.may_retry), retry_delay_ms(task)]
        script_keys = [keys.tasks, keys.counts, keys.running, keys.retrying, keys.failed, keys.cancelled, *keys.ending]
        recovered += int(await ctx.scripts.run("recover_expired", script_keys, args))
    return recovered
