"""The archive outbox on Redis (PostgreSQL history): each queue's `archive` stream.

Entries (`i` task id, `r` the record as it ended) are added by the script that ended the
task (_lib.lua `announce`) while history is on. Dropping is XDEL of exactly the stream ids
read, so an entry added meanwhile, or one another archiver already dropped, is left as it is.

Several servers archive at once: a reader first claims each queue it would read for CLAIM_MS
(`archiving`, SET NX PX), so each queue's entries are copied by one server at a time and the
servers split the queues instead of all copying everything. A claim is never renewed, only
taken afresh once it ran out, so a server that died holds nothing for long; at a hand-over two
servers may copy the same entries, which the idempotent upsert and the exact drop make harmless.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from taskline.backends.redis.codec import decode_task, from_ms, text
from taskline.backends.redis.context import RedisContext
from taskline.backends.redis.fanout import answered, failed
from taskline.core.archive import ArchiveBacklog, ArchiveEntry


def _fields(values: Any) -> dict[str, Any]:
    """A stream entry's field/value pairs by field name (redis-py gives a dict of bytes keys)."""
    return {text(name): value for name, value in values.items()}


CLAIM_MS = 5000
"""How long a claim on a queue's archive stream lasts: a pass takes far less."""


async def read(ctx: RedisContext, *, limit: int, reader: str) -> list[ArchiveEntry]:
    """Up to `limit` entries, oldest first within each queue, of the queues that have any and
    that `reader` holds (or now takes) the claim on, the batch shared among them: one round trip
    asks which queues have entries, one claims them (SET NX GET), one reads."""
    queues = sorted(await ctx.catalog.queues(fresh=True))
    # On a cluster with a shard down, the live shards' queues are archived meanwhile (fanout.py).
    lengths = await ctx.partial_pipeline([("xlen", (ctx.keys.queue(q).archive,)) for q in queues])
    waiting = [q for q, n in zip(queues, lengths, strict=True) if answered(n)]
    if waiting:
        # SET NX GET: takes a free claim (and answers nil) or answers who holds it.
        claims = await ctx.pipeline(
            [("set", (ctx.keys.queue(q).archiving, reader, None, CLAIM_MS, True, False, False, True)) for q in waiting]
        )
        waiting = [q for q, held_by in zip(waiting, claims, strict=True) if held_by is None or text(held_by) == reader]
    if not waiting:
        return []
    share = max(1, limit // len(waiting))
    pages = await ctx.pipeline([("xrange", (ctx.keys.queue(q).archive, "-", "+", share)) for q in waiting[:limit]])
    entries: list[ArchiveEntry] = []
    for queue, page in zip(waiting, pages, strict=False):
        for stream_id, values in page:
            entries.append(_entry(text(stream_id), queue, _fields(values)))
    return entries


def _entry(ref: str, queue: str, fields: dict[str, Any]) -> ArchiveEntry:
    """The entry, or an unreadable one: one bad record must not stop the others being archived."""
    task_id = text(fields["i"]) if "i" in fields else ""
    try:
        return ArchiveEntry.of(ref, decode_task(task_id, queue, fields["r"]))
    except Exception as exc:  # any way a record fails to decode (missing field, bad msgpack, ...)
        return ArchiveEntry.unreadable(ref, task_id=task_id, queue=queue, problem=repr(exc))


async def drop(ctx: RedisContext, entries: Sequence[ArchiveEntry]) -> int:
    """XDEL the entries (by queue); returns how many were still there."""
    by_queue: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_queue[entry.queue].append(entry.ref)
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
    replies = await ctx.partial_pipeline(commands)  # a shard that is down counts for nothing
    depth = sum(int(n) for n in replies[::2] if not failed(n))
    heads = [int(text(page[0][0]).partition("-")[0]) for page in replies[1::2] if answered(page)]
    return ArchiveBacklog(depth, from_ms(min(heads)) if heads else None)
