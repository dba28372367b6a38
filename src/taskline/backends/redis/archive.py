"""The archive outbox on Redis (PostgreSQL history): each queue's `archive` stream.

Entries (`i` task id, `r` the record as it ended) are added by the script that ended the
task (_lib.lua `announce`) while history is on. Reading asks every known queue in one
pipelined round trip; dropping is XDEL of exactly the stream ids read, so an entry added
meanwhile, or one another archiver already dropped, is left as it is.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from taskline.backends.redis.codec import decode_task, from_ms, text
from taskline.backends.redis.context import RedisContext
from taskline.core.archive import ArchiveBacklog, ArchiveEntry


def _fields(values: Any) -> dict[str, Any]:
    """A stream entry's field/value pairs by field name (redis-py gives a dict of bytes keys)."""
    return {text(name): value for name, value in values.items()}


async def read(ctx: RedisContext, *, limit: int) -> list[ArchiveEntry]:
    """Up to `limit` entries, oldest first within each queue, queues in name order."""
    queues = sorted(await ctx.catalog.queues(fresh=True))
    pages = await ctx.pipeline([("xrange", (ctx.keys.queue(q).archive, "-", "+", limit)) for q in queues])
    entries: list[ArchiveEntry] = []
    for queue, page in zip(queues, pages, strict=True):
        for stream_id, values in page:
            if len(entries) >= limit:
                return entries
            fields = _fields(values)
            entries.append(ArchiveEntry(text(stream_id), decode_task(text(fields["i"]), queue, fields["r"])))
    return entries


async def drop(ctx: RedisContext, entries: Sequence[ArchiveEntry]) -> int:
    """XDEL the entries (by queue); returns how many were still there."""
    by_queue: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_queue[entry.task.queue].append(entry.ref)
    if not by_queue:
        return 0
    dropped = await ctx.pipeline([("xdel", (ctx.keys.queue(q).archive, *refs)) for q, refs in by_queue.items()])
    return sum(int(n) for n in dropped)


async def backlog(ctx: RedisContext) -> ArchiveBacklog:
    """Entries waiting across the queues, and when the oldest was written (its stream id's ms)."""
    queues = await ctx.catalog.queues()
    commands = []
    for queue in queues:
        stream = ctx.keys.queue(queue).archive
        commands += [("xlen", (stream,)), ("xrange", (stream, "-", "+", 1))]
    replies = await ctx.pipeline(commands)
    depth = sum(int(n) for n in replies[::2])
    heads = [int(text(page[0][0]).partition("-")[0]) for page in replies[1::2] if page]
    return ArchiveBacklog(depth, from_ms(min(heads)) if heads else None)
