"""The per-minute samples on Redis: one hash (keys.py `samples`), field = minute, value = the
totals as core.samples' JSON. Writing is one script (HSETNX and the trim, atomically)."""

from taskline.backends.redis.context import RedisContext
from taskline.core.samples import Totals, decode_each, encode, oldest_kept, readable


async def record(ctx: RedisContext, minute: int, totals: Totals) -> bool:
    args: list[str | int | float] = [minute, encode(totals), oldest_kept(minute)]
    return bool(await ctx.scripts.run("record_sample", [ctx.keys.samples], args))


async def between(ctx: RedisContext, first: int, last: int) -> dict[int, Totals]:
    """HMGET of just the minutes asked for: the whole hash is a day of samples (~400 kB)."""
    minutes = list(readable(first, last))
    if not minutes:
        return {}
    (values,) = await ctx.pipeline([("hmget", (ctx.keys.samples, minutes))])
    return decode_each(zip(minutes, values, strict=True))
