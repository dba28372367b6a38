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
    """Up to `limit` entries, oldest first within each queue, shared among the queues that have
    any: one round trip asks which do, a second reads only those (so a pass over many queues
    never reads `limit` entries from each to keep `limit`)."""
    queues = sorted(await ctx.catalog.queues(fresh=True))
    lengths = await ctx.pipeline([("xlen", (ctx.keys.queue(q).archive,)) for q in queues])
    waiting = [q for q, n in zip(queues, lengths, strict=True) if int(n)]
    if not waiting:
        return []
    share = max(1, limit // len(waiting))
    pages = await ctx.pipeline([("xrange", (ctx.keys.queue(q).archive, "-", "+", share)) for q in waiting[:limit]])
    entries: list[ArchiveEntry] = []
    for queue, page in zip(waiting, pages, strict=False):
        for stream_id, values in page:
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
