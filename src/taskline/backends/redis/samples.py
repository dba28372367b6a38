"""The per-minute samples on Redis: one hash (keys.py `samples`), field = minute, value = the
totals as core.samples' JSON. Writing is one script (HSETNX and the trim, atomically)."""

import logging

from taskline.backends.redis.codec import text
from taskline.backends.redis.context import RedisContext
from taskline.core.samples import Totals, decode, encode, oldest_kept, readable

log = logging.getLogger(__name__)


async def record(ctx: RedisContext, minute: int, totals: Totals) -> bool:
    args: list[str | int | float] = [minute, encode(totals), oldest_kept(minute)]
    return bool(await ctx.scripts.run("record_sample", [ctx.keys.samples], args))


async def between(ctx: RedisContext, first: int, last: int) -> dict[int, Totals]:
    """HMGET of just the minutes asked for: the whole hash is a day of samples (~400 kB)."""
    minutes = list(readable(first, last))
    if not minutes:
        return {}
    (values,) = await ctx.pipeline([("hmget", (ctx.keys.samples, minutes))])
    samples = {}
    for minute, value in zip(minutes, values, strict=True):
        if value is None:
            continue
        try:
            samples[minute] = decode(text(value))
        except ValueError as exc:
            log.warning("skipping the sample of minute %d: %s", minute, exc)
    return samples
