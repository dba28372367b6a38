"""Admin and retention work: purge, the DLQ's retry and delete, and trimming old tasks.

Each runs its script in slices of BATCH tasks, so no single call holds Redis for long
however big the queue is.
"""

from collections.abc import Sequence

from taskline.backends.redis.codec import to_ms
from taskline.backends.redis.context import RedisContext

BATCH = 500


async def purge(ctx: RedisContext, queue: str, priority: int | None, now_ms: int) -> int:
    """Delete the queue's pending tasks (of one priority, or all); returns how many."""
    keys = ctx.keys.queue(queue)
    types = sorted((await ctx.catalog.types([queue], fresh=True))[queue])
    deleted = 0
    for task_type in types:
        first = 0
        while True:
            script_keys = [keys.tasks, keys.counts, keys.unique, keys.pending(task_type), keys.events]
            args: list[str | int | float] = ["" if priority is None else priority, first, BATCH, now_ms]
            gone, kept, looked = await ctx.scripts.run("purge", script_keys, args)
            deleted += int(gone)
            if not looked:
                break
            first += int(kept)
    return deleted


async def dlq_retry(ctx: RedisContext, queue: str, ids: Sequence[str], now_ms: int) -> int:
    """failed → pending for those of `ids` failed in `queue`; returns how many moved."""
    keys = ctx.keys.queue(queue)
    moved = 0
    for start in range(0, len(ids), BATCH):
        chunk = list(ids[start : start + BATCH])
        for fresh in (False, True):  # a type unknown to the cache was added since: read again
            types = sorted((await ctx.catalog.types([queue], fresh=fresh))[queue])
            script_keys = [keys.tasks, keys.counts, keys.failed, *keys.announcing, *(keys.pending(t) for t in types)]
            args: list[str | int | float] = [now_ms, *ctx.offsets, ctx.keys.wake_channel, queue, len(types)]
            count, unknown_type = await ctx.scripts.run("dlq_retry", script_keys, [*args, *types, *chunk])
            moved += int(count)
            if not unknown_type:
                break
    return moved


async def failed_ids(ctx: RedisContext, queue: str) -> list[str]:
    """Every failed task of a queue, oldest first."""
    ids = await ctx.pipeline([("zrange", (ctx.keys.queue(queue).failed, 0, -1))])
    return [i.decode() for i in ids[0]]


async def dlq_delete(ctx: RedisContext, queue: str, now_ms: int) -> int:
    keys = ctx.keys.queue(queue)
    deleted = 0
    while True:
        script_keys = [keys.tasks, keys.counts, keys.failed, keys.unique, keys.events]
        gone = int(await ctx.scripts.run("dlq_delete", script_keys, [BATCH, now_ms]))
        deleted += gone
        if not gone:
            return deleted


async def trim_retention(ctx: RedisContext, now_ms: int, limit: int) -> int:
    """Delete finished tasks past retention in every queue, up to `limit`; returns how many."""
    done_before = now_ms - to_ms(ctx.config.retention_s)
    failed_before = now_ms - to_ms(ctx.config.dlq_retention_s)
    deleted = 0
    for queue in await ctx.catalog.queues(fresh=True):
        if deleted >= limit:
            break
        keys = ctx.keys.queue(queue)
        script_keys = [keys.tasks, keys.counts, keys.unique, keys.completed, keys.cancelled, keys.failed, keys.log]
        args: list[str | int | float] = [done_before, failed_before, limit - deleted, 1000]
        deleted += int(await ctx.scripts.run("trim_retention", script_keys, args))
    return deleted
